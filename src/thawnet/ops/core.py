"""Core ops of Keras 3 (``keras.ops.core``): conversion, dtypes and updates; the control flow of
``keras.ops.core`` (cond, scan, while_loop...) is in :mod:`thawnet.ops.control_flow` and
exported here too.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.ops.control_flow import (associative_scan, cond, fori_loop, map, scan, switch,
                                      vectorized_map, while_loop)
from thawnet.ops.dispatch import has_symbolic, op
from thawnet.backend.types import Array, Axis, DTypeLike, PyTree, ShapeLike, TensorLike, TensorTree


def _standard_dtype(dtype) -> str:
    return jnp.dtype(dtype).name


@op
def cast(x: TensorLike, dtype: DTypeLike | None) -> Array:
    """``x`` converted to ``dtype``.

    Args:
        x: a tensor or array-like.
        dtype: the target dtype (name or dtype).

    Returns:
        A tensor.
    """
    return jnp.asarray(x).astype(_standard_dtype(dtype))


def convert_to_tensor(x: TensorLike, dtype: DTypeLike | None = None, sparse: bool | None = None,
                      ragged: bool | None = None) -> Array:
    """A JAX array holding ``x`` (a Variable's value, a NumPy array, a Python number...).

    Python floats become float32 and ints int32, as in Keras. A symbolic tensor is returned as
    it is (cast when ``dtype`` differs).

    Args:
        x: array-like, Variable or symbolic tensor.
        dtype: optional target dtype.
        sparse: True is not supported.
        ragged: True is not supported.

    Returns:
        A tensor.
    """
    if sparse or ragged:
        raise ValueError("ops.convert_to_tensor: sparse and ragged tensors are not supported "
                         f"by thawnet; received sparse={sparse}, ragged={ragged}.")
    if has_symbolic((x,), {}):
        return x if dtype is None or x.dtype == jnp.dtype(dtype) else cast(x, dtype)
    if dtype is not None:
        return jnp.asarray(x, dtype=_standard_dtype(dtype))
    return jnp.asarray(x)


def convert_to_numpy(x: TensorLike) -> np.ndarray:
    """A NumPy array holding ``x`` (copied from the device).

    Args:
        x: a tensor, Variable or array-like.

    Returns:
        A NumPy array.
    """
    if has_symbolic((x,), {}):
        raise ValueError(f"ops.convert_to_numpy: a symbolic tensor has no value yet; received "
                         f"{x!r}. Call the model on arrays and convert its outputs.")
    return np.asarray(x)


@op
def saturate_cast(x: TensorLike, dtype: DTypeLike | None) -> Array:
    """Cast, clipping values to the range of ``dtype`` first (no wrap-around).

    Args:
        x: a tensor.
        dtype: the target dtype.

    Returns:
        A tensor.
    """
    x = jnp.asarray(x)
    target = jnp.dtype(dtype)
    if jnp.issubdtype(target, jnp.integer) or jnp.issubdtype(target, jnp.floating):
        info = jnp.iinfo(target) if jnp.issubdtype(target, jnp.integer) else jnp.finfo(target)
        low, high = info.min, info.max
        if jnp.issubdtype(x.dtype, jnp.integer):
            source = jnp.iinfo(x.dtype)
            low, high = max(low, source.min), min(high, source.max)
        x = jnp.clip(x, low, high)
    return x.astype(target)


def shape(x: TensorLike) -> tuple:
    """The shape of ``x`` as a tuple (``None`` for unknown dimensions of symbolic tensors).

    Args:
        x: a tensor or symbolic tensor.

    Returns:
        A tuple.
    """
    return tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x))


def dtype(x: TensorLike) -> str:
    """The dtype name of ``x`` (``"float32"``...).

    Args:
        x: a tensor, Variable or symbolic tensor.

    Returns:
        A string.
    """
    return _standard_dtype(x.dtype if hasattr(x, "dtype") else jnp.asarray(x).dtype)


def is_tensor(x: TensorLike) -> bool:
    """Whether ``x`` is a JAX array (or a tracer standing for one).

    Args:
        x: anything.

    Returns:
        A bool.
    """
    return isinstance(x, jax.Array)


@op
def stop_gradient(variable: TensorLike) -> Array:
    """``variable``'s value, with no gradient flowing through it.

    Args:
        variable: a tensor or Variable.

    Returns:
        A tensor.
    """
    return jax.lax.stop_gradient(jnp.asarray(variable))


@op
def scatter(indices: TensorLike, values: TensorLike, shape: ShapeLike) -> Array:
    """A zero tensor of ``shape`` with ``values`` added at ``indices``.

    Args:
        indices: ``(n, rank_of_index)`` int tensor.
        values: ``(n, ...)`` values.
        shape: the output shape.

    Returns:
        A tensor.
    """
    values = jnp.asarray(values)
    key = tuple(jnp.moveaxis(jnp.asarray(indices), -1, 0))
    return jnp.zeros(shape, values.dtype).at[key].add(values)


@op
def scatter_update(inputs: TensorTree, indices: TensorLike, updates: PyTree,
                   reduction: str | None = None) -> Array:
    """``inputs`` with ``updates`` written (or reduced) at ``indices``.

    Args:
        inputs: a tensor.
        indices: ``(n, rank_of_index)`` int tensor.
        updates: ``(n, ...)`` values.
        reduction: None (replace), ``"add"``, ``"max"``, ``"min"`` or ``"mul"``.

    Returns:
        A tensor.
    """
    at = jnp.asarray(inputs).at[tuple(jnp.transpose(jnp.asarray(indices)))]
    methods = {None: at.set, "add": at.add, "max": at.max, "min": at.min, "mul": at.multiply}
    if reduction not in methods:
        raise ValueError(f"ops.scatter_update: reduction must be one of {list(methods)}; "
                         f"received reduction={reduction!r}.")
    return methods[reduction](updates)


@op
def slice(inputs: TensorLike, start_indices: Sequence[int] | TensorLike,  # noqa: A001
          shape: ShapeLike) -> Array:
    """The block of ``shape`` starting at ``start_indices`` (-1 in shape: to the end).

    Args:
        inputs: a tensor.
        start_indices: one start per axis.
        shape: one size per axis.

    Returns:
        A tensor.
    """
    inputs = jnp.asarray(inputs)
    sizes = tuple(inputs.shape[i] - start_indices[i] if s == -1 else s
                  for i, s in enumerate(shape))
    return jax.lax.dynamic_slice(inputs, start_indices, sizes)


@op
def slice_update(inputs: TensorLike, start_indices: Sequence[int] | TensorLike,
                 updates: TensorLike) -> Array:
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``.

    Args:
        inputs: a tensor.
        start_indices: one start per axis.
        updates: the new block.

    Returns:
        A tensor.
    """
    inputs = jnp.asarray(inputs)
    return jax.lax.dynamic_update_slice(inputs, jnp.asarray(updates, inputs.dtype),
                                        tuple(start_indices))


@op
def unstack(x: TensorLike, num: int | None = None, axis: Axis = 0) -> list:
    """The slices of ``x`` along ``axis``, as a list.

    Args:
        x: a tensor.
        num: expected number of slices (checked when given).
        axis: the axis.

    Returns:
        A list of tensors.
    """
    x = jnp.asarray(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"ops.unstack: num={num} does not match the size {x.shape[axis]} of "
                         f"axis {axis} of a tensor of shape {x.shape}.")
    return [jnp.take(x, i, axis=axis) for i in range(x.shape[axis])]


def custom_gradient(f: Callable) -> Callable:
    """Decorate ``f(*args) -> (output, grad_fn)`` so that ``grad_fn(upstream)`` gives the
    gradients with respect to ``args`` (``jax.custom_gradient``).

    Args:
        f: the function.

    Returns:
        A differentiable function.
    """
    return jax.custom_gradient(f)


__all__ = [
    "associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor",
    "custom_gradient", "dtype", "fori_loop", "is_tensor", "map", "saturate_cast", "scan",
    "scatter", "scatter_update", "shape", "slice", "slice_update", "stop_gradient", "switch",
    "unstack", "vectorized_map", "while_loop",
]
