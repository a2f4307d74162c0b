"""NumPy-side helpers of ``keras.utils`` for preparing data: one-hot labels, row
normalisation, padded sequences."""

from __future__ import annotations

from typing import Any

import numpy as np

from thawnet.backend.types import DTypeLike, TensorLike


def to_categorical(x: TensorLike, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels (a trailing axis of size 1 is dropped first).

    Args:
        x: array-like of class ids in ``[0, num_classes)``.
        num_classes: number of classes (default ``max(x) + 1``).

    Returns:
        A float NumPy array with a new last axis of size ``num_classes``.

    >>> to_categorical([1, 0], 3).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    labels = np.asarray(x, dtype="int64")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: class ids must be >= 0; received {labels.min()}.")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"to_categorical: class id {labels.max()} is out of range for "
                         f"num_classes={num_classes}. Pass a larger num_classes or check the "
                         "labels.")
    out = np.zeros((labels.size, num_classes))
    out[np.arange(labels.size), labels] = 1.0
    return out.reshape(shape + (num_classes,))


def normalize(x: TensorLike, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale ``x`` to unit ``order``-norm along ``axis`` (zero vectors stay zero).

    Args:
        x: array-like.
        axis: the axis.
        order: the norm order (2: Euclidean).

    Returns:
        A NumPy array.

    >>> normalize([[3.0, 4.0]]).tolist()
    [[0.6, 0.8]]
    """
    x = np.asarray(x, dtype="float64" if np.asarray(x).dtype == np.float64 else "float32")
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def pad_sequences(sequences: TensorLike, maxlen: int | None = None,
                  dtype: DTypeLike | None = "int32", padding: str = "pre", truncating: str = "pre",
                  value: Any = 0.0) -> np.ndarray:
    """Pad (or cut) a list of sequences to one length.

    Args:
        sequences: a list of lists (or arrays) of entries.
        maxlen: the length (default: the longest sequence).
        dtype: output dtype.
        padding: ``"pre"`` or ``"post"``: where to pad.
        truncating: ``"pre"`` or ``"post"``: where to cut longer sequences.
        value: the padding value.

    Returns:
        A ``(len(sequences), maxlen, ...)`` NumPy array.

    >>> pad_sequences([[1, 2], [3]], maxlen=3).tolist()
    [[0, 1, 2], [0, 0, 3]]
    """
    for arg, given in (("padding", padding), ("truncating", truncating)):
        if given not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {arg} must be 'pre' or 'post'; received "
                             f"{arg}={given!r}.")
    seqs = [np.asarray(s) for s in sequences]
    length = maxlen if maxlen is not None else max((len(s) for s in seqs), default=0)
    tail = next((s.shape[1:] for s in seqs if len(s)), ())
    out = np.full((len(seqs), length) + tuple(tail), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or not length:
            continue
        s = s[-length:] if truncating == "pre" else s[:length]
        if padding == "post":
            out[i, :len(s)] = s
        else:
            out[i, -len(s):] = s
    return out
