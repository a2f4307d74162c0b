"""Checks of ``fit(class_weight=...)`` against the labels and the model's output.

A ``class_weight`` turns into one weight per sample by looking up each sample's class, so a key
that is no class index (``"cat"``, ``-1``, ``12`` for a 3-class output) or a class that no sample
has can never take effect. Keras 3 ignores all of these without a word.

Decision: keys that cannot be class indices are refused (``ValueError``); a valid class index
that no label in ``y`` has only gets a ``UserWarning``, because a dictionary computed on the
whole data set is legitimately reused on a subset that misses a rare class.
"""

from __future__ import annotations

import math
import numbers
import warnings

import jax
import numpy as np


def _class_index(key):
    """``key`` as an int when it is an integer-valued number, else None."""
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, numbers.Real):
        return None
    if not math.isfinite(float(key)) or float(key) != int(key):
        return None
    return int(key)


def class_labels(y) -> np.ndarray:
    """The class index of every sample of ``y``: argmax of one-hot rows, else the labels.

    Raises:
        ValueError: ``y`` holds non-integer values (it is not a classification target).
    """
    y = np.asarray(jax.tree_util.tree_leaves(y)[0])
    if y.ndim > 1 and y.shape[-1] > 1:
        return y.reshape(-1, y.shape[-1]).argmax(-1)
    labels = y.reshape(len(y)) if y.ndim else y.reshape(1)
    if not np.issubdtype(labels.dtype, np.integer):
        rounded = np.round(labels)
        if labels.size and not np.array_equal(labels, rounded):
            bad = labels[np.argmax(labels != rounded)]
            raise ValueError(f"fit(): class_weight needs class labels in y (integers, or one-hot "
                             f"rows); received non-integer values such as {bad}. Drop "
                             "class_weight for regression targets, or use sample_weight.")
        labels = rounded.astype(np.int64)
    return labels


def check_class_weight(class_weight, y, num_classes: int | None, stacklevel: int = 2) -> None:
    """Refuse keys that are not class indices; warn about classes absent from ``y``.

    Args:
        class_weight: what the user passed to ``fit``.
        y: the targets given to ``fit`` (before any ``validation_split``).
        num_classes: classes of the model's output (its last dimension; 2 for one unit), or
            None when unknown; the width of one-hot ``y`` is used then.
        stacklevel: of the warning, so that it points at the user's ``fit`` call.

    Raises:
        TypeError: ``class_weight`` is not a dict, or a weight is not a number.
        ValueError: a key is not a class index, or a weight is negative or not finite.
    """
    if class_weight is None:
        return
    if not isinstance(class_weight, dict):
        raise TypeError("fit(): class_weight must be a dict {class index: weight}, e.g. "
                        f"{{0: 1.0, 1: 5.0}}; received a {type(class_weight).__name__}.")
    if y is None:
        raise ValueError("fit(): class_weight needs the labels y; received y=None.")
    labels = class_labels(y)
    y0 = np.asarray(jax.tree_util.tree_leaves(y)[0])
    if num_classes is None and y0.ndim > 1 and y0.shape[-1] > 1:
        num_classes = int(y0.shape[-1])
    for key, weight in class_weight.items():
        index = _class_index(key)
        valid = "0 to {}".format(num_classes - 1) if num_classes else "integers >= 0"
        if index is None or index < 0 or (num_classes is not None and index >= num_classes):
            fix = (" Keys are class indices, not names: map names to their index first, e.g. "
                   "{int(k): w for k, w in class_weight.items()} for keys read from JSON."
                   if isinstance(key, str) else "")
            raise ValueError(f"fit(): class_weight keys must be class indices ({valid}); "
                             f"received the key {key!r}.{fix}")
        if not isinstance(weight, numbers.Real) or isinstance(weight, (bool, np.bool_)):
            raise TypeError(f"fit(): class_weight[{key!r}] must be a number; received "
                            f"{weight!r} (a {type(weight).__name__}).")
        if not (math.isfinite(float(weight)) and weight >= 0):
            raise ValueError(f"fit(): class_weight[{key!r}] must be a finite weight >= 0; "
                             f"received {weight}.")
    if labels.size and labels.min() < 0:
        raise ValueError(f"fit(): class_weight needs labels >= 0; y holds {labels.min()}.")
    present = np.flatnonzero(np.bincount(labels, minlength=1))
    present_set = set(present.tolist())
    absent = sorted(_class_index(k) for k in class_weight if _class_index(k) not in present_set)
    if absent:
        shown = present.tolist() if len(present) <= 20 else (
            f"{len(present)} classes from {present[0]} to {present[-1]}")
        warnings.warn(f"fit(): class_weight gives weights for classes {absent} that no sample "
                      f"of y has (y holds classes {shown}); those weights have no effect. "
                      "Check that the keys are class indices and that y is complete.",
                      UserWarning, stacklevel=stacklevel)
