"""Shape ops of Keras 3's ``keras.ops.numpy``: reshape, transpose, squeeze, flip, pad, ..."""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp
import numpy as np

from thawnet.ops.dispatch import _axis, op
from thawnet.backend.types import Array, Axis, DTypeLike, ShapeLike, TensorLike


@op
def reshape(x: TensorLike, newshape: int | Sequence[int]) -> Array:
    """``x`` with a new shape (one entry may be -1; None counts as -1, as in Keras).

    Args:
        x: a tensor.
        newshape: the new shape.

    Returns:
        A tensor.
    """
    if isinstance(newshape, (list, tuple)):
        newshape = tuple(-1 if d is None else d for d in newshape)
    return jnp.reshape(x, newshape)


@op
def transpose(x: TensorLike, axes: Axis = None) -> Array:
    """Permute the axes (reverse them by default).

    Args:
        x: a tensor.
        axes: the permutation.

    Returns:
        A tensor.
    """
    return jnp.transpose(x, axes)


@op
def expand_dims(x: TensorLike, axis: Axis) -> Array:
    """Insert an axis of size 1 at ``axis``.

    Args:
        x: a tensor.
        axis: int or tuple of ints.

    Returns:
        A tensor.
    """
    return jnp.expand_dims(x, _axis(axis))


@op
def squeeze(x: TensorLike, axis: Axis = None) -> Array:
    """Remove axes of size 1.

    Args:
        x: a tensor.
        axis: the axes to remove (default: all of size 1).

    Returns:
        A tensor.
    """
    return jnp.squeeze(x, _axis(axis))


@op
def flip(x: TensorLike, axis: Axis = None) -> Array:
    """Reverse the order of entries along ``axis`` (all axes by default).

    Args:
        x: a tensor.
        axis: int, tuple or None.

    Returns:
        A tensor.
    """
    return jnp.flip(x, _axis(axis))


@op
def fliplr(x: TensorLike) -> Array:
    """Reverse along axis 1.

    Args:
        x: a tensor of rank >= 2.

    Returns:
        A tensor.
    """
    return jnp.fliplr(x)


@op
def flipud(x: TensorLike) -> Array:
    """Reverse along axis 0.

    Args:
        x: a tensor.

    Returns:
        A tensor.
    """
    return jnp.flipud(x)


@op
def roll(x: TensorLike, shift: int | Sequence[int], axis: Axis = None) -> Array:
    """Shift entries cyclically.

    Args:
        x: a tensor.
        shift: int or tuple of ints.
        axis: the axes (default: flatten, roll, restore the shape).

    Returns:
        A tensor.
    """
    return jnp.roll(x, shift, axis=_axis(axis))


@op
def rot90(array: TensorLike, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Array:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``.

    Args:
        array: a tensor of rank >= 2.
        k: number of rotations.
        axes: the plane.

    Returns:
        A tensor.
    """
    return jnp.rot90(array, k=k, axes=tuple(axes))


@op
def moveaxis(x: TensorLike, source: int | Sequence[int], destination: int | Sequence[int]
             ) -> Array:
    """Move axes to new positions.

    Args:
        x: a tensor.
        source: int or tuple.
        destination: int or tuple.

    Returns:
        A tensor.
    """
    return jnp.moveaxis(x, _axis(source), _axis(destination))


@op
def swapaxes(x: TensorLike, axis1: int, axis2: int) -> Array:
    """Exchange two axes.

    Args:
        x: a tensor.
        axis1, axis2: the axes.

    Returns:
        A tensor.
    """
    return jnp.swapaxes(x, axis1, axis2)


@op
def ravel(x: TensorLike) -> Array:
    """Flatten to 1-D.

    Args:
        x: a tensor.

    Returns:
        A 1-D tensor.
    """
    return jnp.ravel(x)


@op
def broadcast_to(x: TensorLike, shape: ShapeLike) -> Array:
    """Broadcast to ``shape``.

    Args:
        x: a tensor.
        shape: the target shape.

    Returns:
        A tensor.
    """
    return jnp.broadcast_to(x, tuple(shape))


@op
def pad(x: TensorLike, pad_width: int | Sequence[int] | Sequence[Sequence[int]],
        mode: str = "constant", constant_values: float | None = None) -> Array:
    """Pad with ``pad_width`` entries before/after each axis.

    Args:
        x: a tensor.
        pad_width: ``((before, after), ...)`` per axis, or an int for all.
        mode: ``"constant"``, ``"edge"``, ``"reflect"``, ``"symmetric"``, ...
        constant_values: fill value of mode ``"constant"`` (default 0).

    Returns:
        A tensor.
    """
    if constant_values is not None:
        if mode != "constant":
            raise ValueError(f"ops.pad: constant_values only applies to mode='constant'; "
                             f"received mode={mode!r} with constant_values={constant_values}.")
        return jnp.pad(x, pad_width, mode=mode, constant_values=constant_values)
    return jnp.pad(x, pad_width, mode=mode)


@op
def view(x: TensorLike, dtype: DTypeLike | None = None) -> Array:
    """The same bytes read as ``dtype``.

    Args:
        x: a tensor.
        dtype: the new dtype (None: unchanged).

    Returns:
        A tensor.
    """
    return jnp.asarray(x) if dtype is None else jnp.asarray(x).view(dtype)


def ndim(x: TensorLike) -> int:
    """Number of axes of ``x`` (a symbolic tensor too).

    Args:
        x: a tensor.

    Returns:
        An int.
    """
    return len(x.shape) if hasattr(x, "shape") else np.ndim(x)


@op
def size(x: TensorLike) -> Array:
    """Number of entries of ``x``.

    Args:
        x: a tensor.

    Returns:
        An int32 scalar tensor.
    """
    return jnp.asarray(jnp.size(x), "int32")


__all__ = [
    "broadcast_to", "expand_dims", "flip", "fliplr", "flipud", "moveaxis", "ndim", "pad",
    "ravel", "reshape", "roll", "rot90", "size", "squeeze", "swapaxes", "transpose", "view",
]
