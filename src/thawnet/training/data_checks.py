"""Checks of training data that would otherwise fail silently inside compiled code.

JAX does not raise on NaN inputs or on out-of-range gather indices (it clamps), so a label 10
for a 10-class output would train on class 9 without a word. These checks run once per call on
the host, before anything is compiled.
"""

from __future__ import annotations

import numpy as np

from thawnet.losses import SparseCategoricalCrossentropy


def _leaves_with_names(structure, what):
    if isinstance(structure, dict):
        return [(f"{what}[{k!r}]", v) for k, v in structure.items()]
    if isinstance(structure, (list, tuple)):
        return [(f"{what}[{i}]", v) for i, v in enumerate(structure)]
    return [(what, structure)]


def check_finite(structure, what):
    """Raise if a floating array holds NaN or infinity, naming the first bad sample."""
    if structure is None:
        return
    for name, arr in _leaves_with_names(structure, what):
        # min/max propagate NaN and reach +-inf: two passes without a temporary array.
        if np.issubdtype(arr.dtype, np.floating) and arr.size and not (
                np.isfinite(arr.min()) and np.isfinite(arr.max())):
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(
                f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in bad)}: "
                f"{arr[tuple(bad)]}). Clean or impute the data before training; NaN inputs make "
                "every weight they touch NaN.")


def check_sparse_labels(model, compiled_loss, y):
    """Integer labels of sparse crossentropy must lie in ``[0, classes)``."""
    if compiled_loss is None or y is None or getattr(model, "_graph", None) is None:
        return
    outputs = model._graph.output_tensors
    ys = [a for _, a in _leaves_with_names(y, "y")]
    for loss, out, labels, name in zip(compiled_loss.losses, outputs, ys,
                                       compiled_loss.output_names):
        if not isinstance(loss, SparseCategoricalCrossentropy) or out.shape[-1] is None:
            continue
        classes = out.shape[-1]
        ignore = loss.fn_kwargs.get("ignore_class")
        values = np.asarray(labels)
        if ignore is not None:
            values = values[values != ignore]
        if values.size == 0:
            continue
        if not np.issubdtype(values.dtype, np.integer) and not np.all(values == np.round(values)):
            raise ValueError(f"sparse_categorical_crossentropy expects integer class labels for "
                             f'output "{name}"; received non-integer values such as '
                             f"{values.flat[np.argmax(values != np.round(values))]}.")
        low, high = values.min(), values.max()
        if low < 0 or high >= classes:
            raise ValueError(
                f'Labels out of range for output "{name}": it has {classes} classes (labels 0 to '
                f"{classes - 1}), but y holds {high if high >= classes else low}. Check the "
                "labels, or give the last layer as many units as there are classes.")


def check_training_data(model, compiled_loss, dataset):
    check_finite(dataset.x, "x")
    check_finite(dataset.y, "y")
    if dataset.sample_weight is not None:
        check_finite(dataset.sample_weight, "sample_weight")
    check_sparse_labels(model, compiled_loss, dataset.y)
