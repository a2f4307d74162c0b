"""Indexing and diagonal ops of Keras 3's ``keras.ops.numpy``: take, get_item, tril, ..."""

from __future__ import annotations

from typing import Callable, Sequence

import jax.numpy as jnp

from thawnet.ops.dispatch import op
from thawnet.backend.types import Array, Axis, ShapeLike, TensorLike


@op
def take(x: TensorLike, indices: TensorLike, axis: Axis = None) -> Array:
    """Entries at ``indices`` along ``axis`` (of the flattened tensor when None).

    Args:
        x: a tensor.
        indices: an int tensor (negative counts from the end).
        axis: the axis.

    Returns:
        A tensor.
    """
    x = jnp.asarray(x)
    indices = jnp.asarray(indices)
    size = x.size if axis is None else x.shape[axis]
    indices = jnp.where(indices < 0, indices + size, indices)
    return jnp.take(x, indices, axis=axis)


@op
def take_along_axis(x: TensorLike, indices: TensorLike, axis: Axis = None) -> Array:
    """Entries at ``indices`` matched along ``axis`` (as ``numpy.take_along_axis``).

    Args:
        x: a tensor.
        indices: an int tensor broadcastable against x.
        axis: the axis.

    Returns:
        A tensor.
    """
    return jnp.take_along_axis(x, indices, axis=axis)


@op
def get_item(x: TensorLike, key: Array) -> Array:
    """``x[key]``: the op behind indexing a symbolic tensor.

    Args:
        x: a tensor.
        key: an index, slice, tuple of them, or an index tensor.

    Returns:
        A tensor.
    """
    return jnp.asarray(x)[key]


@op
def diagonal(x: TensorLike, offset: float = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """A diagonal of ``x``.

    Args:
        x: a tensor of rank >= 2.
        offset: diagonal offset.
        axis1, axis2: the axes of the diagonal.

    Returns:
        A tensor.
    """
    return jnp.diagonal(x, offset=offset, axis1=axis1, axis2=axis2)


@op
def diag(x: TensorLike, k: int = 0) -> Array:
    """The ``k``-th diagonal of a 2-D tensor, or a matrix with 1-D ``x`` on it.

    Args:
        x: a 1-D or 2-D tensor.
        k: diagonal offset.

    Returns:
        A tensor.
    """
    return jnp.diag(x, k=k)


@op
def diagflat(x: TensorLike, k: int = 0) -> Array:
    """A matrix with the flattened ``x`` on its ``k``-th diagonal.

    Args:
        x: a tensor.
        k: diagonal offset.

    Returns:
        A 2-D tensor.
    """
    return jnp.diagflat(x, k=k)


@op
def tril(x: TensorLike, k: int = 0) -> Array:
    """Zero the entries above the ``k``-th diagonal.

    Args:
        x: a tensor of rank >= 2.
        k: diagonal offset.

    Returns:
        A tensor.
    """
    return jnp.tril(x, k=k)


@op
def triu(x: TensorLike, k: int = 0) -> Array:
    """Zero the entries below the ``k``-th diagonal.

    Args:
        x: a tensor of rank >= 2.
        k: diagonal offset.

    Returns:
        A tensor.
    """
    return jnp.triu(x, k=k)


@op
def diff(a: TensorLike, n: int = 1, axis: Axis = -1) -> Array:
    """The ``n``-th discrete difference along ``axis``.

    Args:
        a: a tensor.
        n: order.
        axis: the axis.

    Returns:
        A tensor.
    """
    return jnp.diff(a, n=n, axis=axis)


@op
def meshgrid(*x, indexing: str = "xy") -> Array:
    """Coordinate grids from 1-D coordinate vectors.

    Args:
        *x: 1-D tensors.
        indexing: ``"xy"`` (Cartesian) or ``"ij"`` (matrix).

    Returns:
        A list of tensors.
    """
    return jnp.meshgrid(*x, indexing=indexing)


@op
def nonzero(x: TensorLike) -> tuple:
    """Indices of the non-zero entries, one tensor per axis (not under ``jit``).

    Args:
        x: a tensor.

    Returns:
        A tuple of int32 tensors.
    """
    return tuple(i.astype("int32") for i in jnp.nonzero(x))


@op
def unravel_index(indices: TensorLike, shape: ShapeLike) -> Array:
    """Flat indices to coordinates in ``shape``.

    Args:
        indices: an int tensor.
        shape: the array shape.

    Returns:
        A tuple of tensors, one per axis.
    """
    return jnp.unravel_index(indices, shape)


@op
def select(condlist: Sequence[TensorLike], choicelist: Sequence[TensorLike],
           default: TensorLike = 0) -> Array:
    """Entries of ``choicelist[i]`` where ``condlist[i]`` first holds, else ``default``.

    Args:
        condlist: a list of bool tensors.
        choicelist: a list of tensors, one per condition.
        default: value where no condition holds.

    Returns:
        A tensor.
    """
    return jnp.select(list(condlist), list(choicelist), default)


def vectorize(pyfunc: Callable, *, excluded: set[int | str] | None = None,
              signature: str | None = None) -> Callable:
    """A function that maps ``pyfunc`` over the entries of its arguments (``jax.numpy``'s
    ``vectorize``).

    Args:
        pyfunc: the function.
        excluded: argument positions/names not to vectorise.
        signature: generalized ufunc signature such as ``"(n),(n)->()"``.

    Returns:
        A function.
    """
    return jnp.vectorize(pyfunc, excluded=frozenset(excluded or ()), signature=signature)


__all__ = [
    "diag", "diagflat", "diagonal", "diff", "get_item", "meshgrid", "nonzero", "select",
    "take", "take_along_axis", "tril", "triu", "unravel_index", "vectorize",
]
