"""Joining, splitting and repeating ops of Keras 3's ``keras.ops.numpy``."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp

from thawnet.ops.dispatch import op
from thawnet.backend.types import Array, Axis, TensorLike


@op
def concatenate(xs: Sequence[TensorLike], axis: Axis = 0) -> Array:
    """Join tensors along an existing axis.

    Args:
        xs: a list of tensors.
        axis: the axis.

    Returns:
        A tensor.
    """
    return jnp.concatenate(list(xs), axis=axis)


@op
def stack(x: TensorLike, axis: Axis = 0) -> Array:
    """Join tensors along a new axis.

    Args:
        x: a list of tensors of the same shape.
        axis: position of the new axis.

    Returns:
        A tensor.
    """
    return jnp.stack(list(x), axis=axis)


@op
def hstack(xs: Sequence[TensorLike]) -> Array:
    """Join along axis 1 (axis 0 for 1-D inputs).

    Args:
        xs: a list of tensors.

    Returns:
        A tensor.
    """
    return jnp.hstack(list(xs))


@op
def vstack(xs: Sequence[TensorLike]) -> Array:
    """Join along axis 0 (1-D inputs become rows).

    Args:
        xs: a list of tensors.

    Returns:
        A tensor.
    """
    return jnp.vstack(list(xs))


@op
def dstack(xs: Sequence[TensorLike]) -> Array:
    """Join along axis 2.

    Args:
        xs: a list of tensors.

    Returns:
        A tensor.
    """
    return jnp.dstack(list(xs))


@op
def split(x: TensorLike, indices_or_sections: int | Sequence[int], axis: Axis = 0) -> Array:
    """Split into equal sections, or at the given indices.

    Args:
        x: a tensor.
        indices_or_sections: number of equal parts, or a list of split points.
        axis: the axis.

    Returns:
        A list of tensors.
    """
    return jnp.split(x, indices_or_sections, axis=axis)


@op
def array_split(x: TensorLike, indices_or_sections: int | Sequence[int], axis: Axis = 0) -> Array:
    """Like :func:`split`, but the sections may differ in size by one.

    Args:
        x: a tensor.
        indices_or_sections: number of parts, or a list of split points.
        axis: the axis.

    Returns:
        A list of tensors.
    """
    return jnp.array_split(x, indices_or_sections, axis=axis)


@op
def hsplit(x: TensorLike, indices_or_sections: int | Sequence[int]) -> Array:
    """Split along axis 1 (axis 0 for 1-D).

    Args:
        x: a tensor.
        indices_or_sections: number of parts or split points.

    Returns:
        A list of tensors.
    """
    return jnp.hsplit(x, indices_or_sections)


@op
def vsplit(x: TensorLike, indices_or_sections: int | Sequence[int]) -> Array:
    """Split along axis 0.

    Args:
        x: a tensor.
        indices_or_sections: number of parts or split points.

    Returns:
        A list of tensors.
    """
    return jnp.vsplit(x, indices_or_sections)


@op
def dsplit(x: TensorLike, indices_or_sections: int | Sequence[int]) -> Array:
    """Split along axis 2.

    Args:
        x: a tensor of rank >= 3.
        indices_or_sections: number of parts or split points.

    Returns:
        A list of tensors.
    """
    return jnp.dsplit(x, indices_or_sections)


@op
def tile(x: TensorLike, repeats: Any) -> Array:
    """Repeat the whole tensor ``repeats`` times along each axis.

    Args:
        x: a tensor.
        repeats: int or tuple of ints.

    Returns:
        A tensor.
    """
    return jnp.tile(x, repeats)


@op
def repeat(x: TensorLike, repeats: Any, axis: Axis = None) -> Array:
    """Repeat each entry ``repeats`` times.

    Args:
        x: a tensor.
        repeats: int or per-entry ints.
        axis: the axis (default: flatten first).

    Returns:
        A tensor.
    """
    return jnp.repeat(x, repeats, axis=axis)


@op
def append(x1: TensorLike, x2: TensorLike, axis: Axis = None) -> Array:
    """``x2`` appended to ``x1`` along ``axis`` (both flattened when None).

    Args:
        x1: a tensor.
        x2: a tensor.
        axis: the axis.

    Returns:
        A tensor.
    """
    return jnp.append(x1, x2, axis=axis)


__all__ = [
    "append", "array_split", "concatenate", "dsplit", "dstack", "hsplit", "hstack", "repeat",
    "split", "stack", "tile", "vsplit", "vstack",
]
