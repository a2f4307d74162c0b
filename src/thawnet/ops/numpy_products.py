"""Products and contractions of Keras 3's ``keras.ops.numpy``: matmul, dot, einsum, ..."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from thawnet.ops.dispatch import elementwise, op
from thawnet.backend.types import Array, Axis, TensorLike

inner = elementwise(jnp.inner, "inner", 2, doc="Inner product over the last axes")
outer = elementwise(jnp.outer, "outer", 2, doc="Outer product of the flattened inputs")
vdot = elementwise(jnp.vdot, "vdot", 2, doc="Dot product of the flattened inputs")
kron = elementwise(jnp.kron, "kron", 2, doc="Kronecker product")


@op
def matmul(x1: TensorLike, x2: TensorLike) -> Array:
    """Matrix product, batched over leading axes (``x1 @ x2``).

    Args:
        x1: a tensor of rank >= 1.
        x2: a tensor of rank >= 1.

    Returns:
        A tensor.
    """
    return jnp.matmul(x1, x2)


@op
def dot(x1: TensorLike, x2: TensorLike) -> Array:
    """``numpy.dot``: matmul for 2-D, sum over the last axis of x1 and second-to-last of x2.

    Args:
        x1: a tensor.
        x2: a tensor.

    Returns:
        A tensor.
    """
    return jnp.dot(x1, x2)


@op
def einsum(subscripts: Any, *operands, **kwargs) -> Array:
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``.

    Args:
        subscripts: the equation.
        *operands: the tensors.
        **kwargs: passed to ``jax.numpy.einsum`` (e.g. ``preferred_element_type``).

    Returns:
        A tensor.
    """
    return jnp.einsum(subscripts, *operands, **kwargs)


@op
def tensordot(x1: TensorLike, x2: TensorLike, axes: Axis = 2) -> Array:
    """Sum of products over ``axes``.

    Args:
        x1: a tensor.
        x2: a tensor.
        axes: int (last n of x1 with first n of x2) or a pair of axis lists.

    Returns:
        A tensor.
    """
    return jnp.tensordot(x1, x2, axes=axes)


@op
def cross(x1: TensorLike, x2: TensorLike, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: Axis = None) -> Array:
    """Cross product of 3-vectors (or 2-vectors).

    Args:
        x1: a tensor.
        x2: a tensor.
        axisa, axisb: vector axes of x1 and x2.
        axisc: vector axis of the result.
        axis: overrides all three.

    Returns:
        A tensor.
    """
    return jnp.cross(x1, x2, axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


@op
def correlate(x1: TensorLike, x2: TensorLike, mode: str = "valid") -> Array:
    """Cross-correlation of two 1-D sequences.

    Args:
        x1: a 1-D tensor.
        x2: a 1-D tensor.
        mode: ``"valid"``, ``"same"`` or ``"full"``.

    Returns:
        A 1-D tensor.
    """
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    dtype = jnp.result_type(x1, x2, jnp.float32)
    return jnp.correlate(x1.astype(dtype), x2.astype(dtype), mode=mode)


@op
def trapezoid(y: TensorLike, x: TensorLike | None = None, dx: float = 1.0, axis: Axis = -1
        ) -> Array:
    """Integral of ``y`` by the trapezoidal rule.

    Args:
        y: the values.
        x: sample points (default: spacing ``dx``).
        dx: spacing when ``x`` is None.
        axis: the axis to integrate along.

    Returns:
        A tensor.
    """
    return jnp.trapezoid(y, x=x, dx=dx, axis=axis)


@op
def corrcoef(x: TensorLike) -> Array:
    """Pearson correlation coefficients of the rows of ``x``.

    Args:
        x: a 1-D or 2-D tensor (rows are variables).

    Returns:
        A tensor.
    """
    return jnp.corrcoef(x)


__all__ = [
    "corrcoef", "correlate", "cross", "dot", "einsum", "inner", "kron", "matmul", "outer",
    "tensordot", "trapezoid", "vdot",
]
