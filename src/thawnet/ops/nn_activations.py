"""Activation ops of Keras 3's ``keras.ops.nn``: relu, gelu, softmax, ... over ``jax.nn``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.ops.dispatch import elementwise, op
from thawnet.backend.types import Array, Axis, TensorLike

relu = elementwise(jax.nn.relu, "relu", doc="Rectified linear unit ``max(x, 0)``")
relu6 = elementwise(jax.nn.relu6, "relu6", doc="``min(max(x, 0), 6)``")
sigmoid = elementwise(jax.nn.sigmoid, "sigmoid", doc="Logistic sigmoid ``1 / (1 + exp(-x))``")
softplus = elementwise(jax.nn.softplus, "softplus", doc="``log(1 + exp(x))``")
softsign = elementwise(jax.nn.soft_sign, "softsign", doc="``x / (1 + |x|)``")
silu = elementwise(jax.nn.silu, "silu", doc="``x * sigmoid(x)``")
swish = elementwise(jax.nn.silu, "swish", doc="``x * sigmoid(x)`` (same as silu)")
log_sigmoid = elementwise(jax.nn.log_sigmoid, "log_sigmoid", doc="``log(sigmoid(x))``")
selu = elementwise(jax.nn.selu, "selu", doc="Scaled exponential linear unit")
hard_sigmoid = elementwise(jax.nn.hard_sigmoid, "hard_sigmoid", doc="``relu6(x + 3) / 6``")
hard_silu = elementwise(jax.nn.hard_silu, "hard_silu", doc="``x * hard_sigmoid(x)``")
hard_swish = elementwise(jax.nn.hard_silu, "hard_swish", doc="``x * hard_sigmoid(x)``")
hard_tanh = elementwise(jax.nn.hard_tanh, "hard_tanh", doc="``clip(x, -1, 1)``")
sparse_plus = elementwise(jax.nn.sparse_plus, "sparse_plus",
                          doc="0 below -1, x above 1, ``(x + 1)**2 / 4`` between")
sparse_sigmoid = elementwise(jax.nn.sparse_sigmoid, "sparse_sigmoid",
                             doc="0 below -1, 1 above 1, ``(x + 1) / 2`` between")
tanh_shrink = elementwise(lambda x: x - jnp.tanh(x), "tanh_shrink", doc="``x - tanh(x)``")


@op
def leaky_relu(x: TensorLike, negative_slope: float = 0.2) -> Array:
    """``x`` for positive entries, ``negative_slope * x`` otherwise.

    Args:
        x: a tensor.
        negative_slope: slope for negative inputs.

    Returns:
        A tensor.
    """
    return jax.nn.leaky_relu(x, negative_slope=negative_slope)


@op
def elu(x: TensorLike, alpha: float = 1.0) -> Array:
    """Exponential linear unit: ``x`` if positive, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        x: a tensor.
        alpha: scale of the negative part.

    Returns:
        A tensor.
    """
    return jax.nn.elu(x, alpha)


@op
def celu(x: TensorLike, alpha: float = 1.0) -> Array:
    """Continuously differentiable ELU: ``max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)``.

    Args:
        x: a tensor.
        alpha: the scale.

    Returns:
        A tensor.
    """
    return jax.nn.celu(x, alpha)


@op
def gelu(x: TensorLike, approximate: bool = True) -> Array:
    """Gaussian error linear unit ``x * Phi(x)`` (tanh approximation by default, as Keras).

    Args:
        x: a tensor.
        approximate: use the tanh approximation.

    Returns:
        A tensor.
    """
    return jax.nn.gelu(x, approximate=approximate)


@op
def glu(x: TensorLike, axis: Axis = -1) -> Array:
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of ``axis``.

    Args:
        x: a tensor whose ``axis`` has even size.
        axis: the axis to split.

    Returns:
        A tensor.
    """
    return jax.nn.glu(x, axis=axis)


@op
def hard_shrink(x: TensorLike, threshold: float = 0.5) -> Array:
    """``x`` where ``|x| > threshold``, else 0.

    Args:
        x: a tensor.
        threshold: the threshold.

    Returns:
        A tensor.
    """
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


@op
def soft_shrink(x: TensorLike, threshold: float = 0.5) -> Array:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0.

    Args:
        x: a tensor.
        threshold: the threshold.

    Returns:
        A tensor.
    """
    x = jnp.asarray(x)
    return jnp.where(x > threshold, x - threshold,
                     jnp.where(x < -threshold, x + threshold, jnp.zeros_like(x)))


@op
def squareplus(x: TensorLike, b: TensorLike = 4) -> Array:
    """``(x + sqrt(x**2 + b)) / 2``.

    Args:
        x: a tensor.
        b: smoothness (>= 0).

    Returns:
        A tensor.
    """
    return jax.nn.squareplus(x, b)


@op
def threshold(x: TensorLike, threshold: float, default_value: float) -> Array:
    """``x`` where ``x > threshold``, else ``default_value``.

    Args:
        x: a tensor.
        threshold: the threshold.
        default_value: the replacement.

    Returns:
        A tensor.
    """
    return jnp.where(x > threshold, x, default_value)


@op
def softmax(x: TensorLike, axis: Axis = -1) -> Array:
    """``exp(x) / sum(exp(x))`` along ``axis``.

    Args:
        x: a tensor.
        axis: int or tuple of ints.

    Returns:
        A tensor whose entries along ``axis`` sum to 1.
    """
    return jax.nn.softmax(x, axis=axis)


@op
def log_softmax(x: TensorLike, axis: Axis = -1) -> Array:
    """``x - logsumexp(x)`` along ``axis``.

    Args:
        x: a tensor.
        axis: int or tuple of ints.

    Returns:
        A tensor.
    """
    return jax.nn.log_softmax(x, axis=axis)


@op
def sparsemax(x: TensorLike, axis: Axis = -1) -> Array:
    """Euclidean projection of ``x`` onto the probability simplex along ``axis`` (sparse
    softmax).

    Args:
        x: a float tensor.
        axis: the axis.

    Returns:
        A tensor whose entries along ``axis`` are >= 0 and sum to 1.
    """
    x = jnp.asarray(x)
    z = jnp.flip(jnp.sort(x, axis=axis), axis=axis)  # descending
    ranks_shape = [1] * x.ndim
    ranks_shape[axis] = -1
    ranks = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(ranks_shape)
    cumulative = jnp.cumsum(z, axis=axis)
    in_support = z * ranks > cumulative - 1
    k = jnp.sum(in_support, axis=axis, keepdims=True)
    tau = (jnp.sum(jnp.where(in_support, z, 0), axis=axis, keepdims=True) - 1) / k
    return jnp.maximum(x - tau, 0)


__all__ = [
    "celu", "elu", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "log_sigmoid", "log_softmax", "relu", "relu6", "selu",
    "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink", "threshold",
]
