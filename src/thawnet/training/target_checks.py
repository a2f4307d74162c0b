"""Checks that each target ``y`` has the shape its loss expects, before anything is compiled.

Two mistakes would otherwise surface as raw JAX errors from inside the loss (``indices and arr
must have the same number of dimensions``, ``Incompatible shapes for broadcasting``): one-hot
labels given to ``sparse_categorical_crossentropy``, and integer labels given to
``categorical_crossentropy``. Each gets an error naming the loss, the shape and dtype received,
what was expected, and the two fixes (the other loss, or converting the labels).

**Decision on broadcasting.** Element-wise losses (MSE, MAE, Huber, hinge, binary crossentropy,
KL divergence, cosine similarity) accept a target whose shape equals the output's, or differs
only by a trailing axis of size 1, which is squeezed or added exactly as Keras does ((N,) with
(N, 1), (N, 3, 1) with (N, 3)). Any other difference is **refused**, although Keras broadcasts
it: an (N, 1) target against an (N, 3) output trains all three outputs on one number, and (N,)
against (N, 3) only runs when N happens to be 3 or 1. Both are nearly always a wrong ``y`` or a
wrong last layer, a warning is easy to miss in a training log, and the rare intended case
takes one explicit call (``np.repeat(y, 3, axis=-1)``).

Only thawnet's built-in losses are checked; a user's own loss function may expect any shape.
Models without a graph (subclassed ``call``) are not checked: their output shape is known only
by tracing.
"""

from __future__ import annotations

import numpy as np

from thawnet.losses import LossFunctionWrapper
from thawnet.losses import functions as F

_ELEMENTWISE = {F.mean_squared_error, F.mean_absolute_error, F.huber, F.hinge,
                F.binary_crossentropy, F.kl_divergence, F.cosine_similarity}


def _aligned(y_shape, out_shape):
    """The two shapes after the trailing-unit-axis alignment every loss applies."""
    if len(y_shape) == len(out_shape) + 1 and y_shape[-1] == 1:
        return (y_shape, out_shape + (1,)) if len(out_shape) == 1 else (y_shape[:-1], out_shape)
    if len(out_shape) == len(y_shape) + 1 and out_shape[-1] == 1:
        return (y_shape + (1,), out_shape) if len(y_shape) == 1 else (y_shape, out_shape[:-1])
    return y_shape, out_shape


def _same(y_shape, out_shape):
    """Equal past the batch axis; an unknown (None) output dimension matches anything."""
    return len(y_shape) == len(out_shape) and all(
        o is None or o == s for s, o in zip(y_shape[1:], out_shape[1:]))


def _integer_valued(labels) -> bool:
    if np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
        return True
    return bool(np.array_equal(labels, np.round(labels)))


def _received(y, what) -> str:
    return f"{what} of shape {tuple(y.shape)} and dtype {y.dtype}"


def _check_sparse(loss, y, out_shape, name, what):
    classes = out_shape[-1]
    expected = (None,) + tuple(out_shape[1:-1])
    if _same(tuple(y.shape), out_shape) and classes not in (None, 1):
        raise ValueError(
            f'{loss.name} on output "{name}" expects integer class labels of shape '
            f"{expected} (or {expected + (1,)}), one index per sample; received "
            f"{_received(y, what)}, which looks like one-hot labels over {classes} classes. "
            "Either compile with loss='categorical_crossentropy' (it takes one-hot labels), or "
            "turn the labels into indices with `y = y.argmax(axis=-1)`.")
    if not (_same(tuple(y.shape), expected) or _same(tuple(y.shape), expected + (1,))):
        raise ValueError(
            f'{loss.name} on output "{name}": the output has shape {out_shape}, so y must have '
            f"shape {expected} or {expected + (1,)} (one class index per sample); received "
            f"{_received(y, what)}. Check y, or the last layer's shape.")


def _check_categorical(loss, y, out_shape, name, what):
    classes = out_shape[-1]
    if _same(tuple(y.shape), out_shape):
        return
    without_classes = (None,) + tuple(out_shape[1:-1])
    looks_sparse = (_same(tuple(y.shape), without_classes)
                    or _same(tuple(y.shape), without_classes + (1,)))
    if looks_sparse and classes not in (None, 1) and _integer_valued(y):
        index = "y[..., 0]" if len(y.shape) == len(out_shape) else "y"
        if not np.issubdtype(y.dtype, np.integer):
            index += ".astype(int)"
        raise ValueError(
            f'{loss.name} on output "{name}" expects one-hot labels of shape {out_shape} (one '
            f"row of {classes} per sample); received {_received(y, what)}, which looks like "
            "integer class indices. Either compile with loss='sparse_categorical_crossentropy' "
            "(it takes class indices), or one-hot encode the labels with "
            f"`y = np.eye({classes}, dtype='float32')[{index}]`.")
    raise ValueError(
        f'{loss.name} on output "{name}" expects y of the output\'s shape {out_shape}; '
        f"received {_received(y, what)}. Check y, or the last layer's units.")


def _check_elementwise(loss, y, out_shape, name, what):
    y_shape, aligned_out = _aligned(tuple(y.shape), out_shape)
    if _same(y_shape, aligned_out):
        return
    classes = out_shape[-1]
    hints = []
    if len(y.shape) == len(out_shape) and y.shape[-1] == 1 and classes not in (None, 1):
        hints.append(f"If all {classes} outputs should learn the same target, say so with "
                     f"`y = np.repeat(y, {classes}, axis=-1)`; otherwise check y, or give the "
                     "last layer 1 unit.")
    sparse_shape = len(y.shape) == len(out_shape) - 1 or (
        len(y.shape) == len(out_shape) and y.shape[-1] == 1)
    if sparse_shape and classes not in (None, 1) and _integer_valued(y):
        hints.append(f"If y holds class indices for {classes} classes, compile with "
                     "loss='sparse_categorical_crossentropy'.")
    hint = " ".join(hints) or "Check y, or the last layer's units."
    raise ValueError(
        f'{loss.name} on output "{name}" expects y of the output\'s shape {out_shape} (a '
        f"trailing axis of size 1 may be added or dropped); received {_received(y, what)}. thawnet "
        f"does not broadcast targets (Keras would, silently). {hint}")


def check_target_shapes(losses, output_shapes, targets, names, what: str = "y") -> None:
    """Each built-in loss gets a target of the shape it expects.

    Args:
        losses: one Loss (or None) per output, as ``CompiledLoss.losses``.
        output_shapes: the outputs' shapes, batch axis None.
        targets: one NumPy array per output (the ``y`` given to ``fit``/``evaluate``).
        names: the output names, for the messages.
        what: how the targets are named in messages (``"y"``, ``"validation_data y"``).

    Raises:
        ValueError: naming the loss and output, the shape and dtype received, what was
            expected, and the fix.
    """
    for loss, out_shape, y, name in zip(losses, output_shapes, targets, names):
        if not isinstance(loss, LossFunctionWrapper) or y is None or not out_shape:
            continue
        if loss.fn_kwargs.get("axis", -1) != -1 or np.ndim(y) == 0:
            continue
        out_shape = tuple(out_shape)
        if loss.fn is F.sparse_categorical_crossentropy:
            _check_sparse(loss, y, out_shape, name, what)
        elif loss.fn is F.categorical_crossentropy:
            _check_categorical(loss, y, out_shape, name, what)
        elif loss.fn in _ELEMENTWISE:
            _check_elementwise(loss, y, out_shape, name, what)
