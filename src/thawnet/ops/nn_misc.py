"""Encoding, normalisation and attention ops of Keras 3's ``keras.ops.nn`` (the crossentropies
are in :mod:`thawnet.ops.nn_crossentropy`).

The default epsilon of the normalisations is ``thawnet.config.epsilon()`` (1e-7), as in Keras.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.backend import global_config
from thawnet.ops.dispatch import _axis, op
from thawnet.backend.types import Array, Axis, DTypeLike, TensorLike, TensorTree


@op
def one_hot(x: TensorLike, num_classes: int, axis: Axis = -1, dtype: DTypeLike | None = None,
            sparse: bool = False) -> Array:
    """One-hot encoding of integer ``x``; entries outside ``[0, num_classes)`` give all zeros.

    Args:
        x: an int tensor.
        num_classes: number of classes.
        axis: position of the new class axis.
        dtype: default float32.
        sparse: unsupported (True raises).

    Returns:
        A tensor with one more axis.
    """
    if sparse:
        raise ValueError("ops.one_hot: sparse=True is not supported by thawnet; received "
                         "sparse=True. Use sparse=False.")
    return jax.nn.one_hot(jnp.asarray(x), num_classes, axis=axis, dtype=dtype or "float32")


@op
def multi_hot(inputs: TensorTree, num_classes: int | None = None, axis: Axis = -1,
              dtype: DTypeLike | None = None, sparse: bool = False, **kwargs) -> Array:
    """Multi-hot encoding: 1 for every class present in the last axis of ``inputs``.

    Args:
        inputs: an int tensor, ``(batch, k)`` or ``(k,)``.
        num_classes: number of classes.
        axis: position of the class axis.
        dtype: default float32.
        sparse: unsupported (True raises).

    Returns:
        A tensor with the last axis replaced by ``num_classes``.
    """
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("ops.multi_hot: num_classes is required; received num_classes=None.")
    inputs = jnp.asarray(inputs)
    reduction_axis = 1 if inputs.ndim > 1 else 0
    encoded = one_hot.raw(inputs, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    return jnp.max(encoded, axis=reduction_axis)


@op
def moments(x: TensorLike, axes: Axis, keepdims: bool = False, synchronized: bool = False) -> tuple:
    """Mean and (population) variance over ``axes``.

    Args:
        x: a tensor.
        axes: the axes to reduce.
        keepdims: keep reduced axes with size 1.
        synchronized: must be False (no cross-device statistics).

    Returns:
        ``(mean, variance)``.
    """
    if synchronized:
        raise ValueError("ops.moments: synchronized=True is not supported by thawnet; received "
                         "synchronized=True. Data parallel fit computes per-device statistics.")
    x = jnp.asarray(x)
    # float16 statistics overflow: compute in float32.
    xc = x.astype(jnp.float32) if x.dtype in (jnp.float16, jnp.bfloat16) else x
    axes = _axis(axes)
    mean = jnp.mean(xc, axis=axes, keepdims=True)
    variance = jnp.var(xc, axis=axes, keepdims=True)
    if not keepdims:
        mean, variance = jnp.squeeze(mean, axes), jnp.squeeze(variance, axes)
    return mean.astype(x.dtype), variance.astype(x.dtype)


@op
def batch_normalization(x: TensorLike, mean: TensorLike | None, variance: TensorLike | None,
                        axis: Axis, offset: float | None = None, scale: float | None = None,
                        epsilon: float = 1e-3) -> Array:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with 1-D statistics of
    ``axis``.

    Args:
        x: a tensor.
        mean: 1-D mean, one entry per index of ``axis``.
        variance: 1-D variance.
        axis: the feature axis.
        offset: optional 1-D offset (beta).
        scale: optional 1-D scale (gamma).
        epsilon: added to the variance.

    Returns:
        A tensor.
    """
    x = jnp.asarray(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    inv = jax.lax.rsqrt(jnp.reshape(variance, shape) + epsilon)
    if scale is not None:
        inv = inv * jnp.reshape(scale, shape)
    res = -jnp.reshape(mean, shape) * inv
    if offset is not None:
        res = res + jnp.reshape(offset, shape)
    return x * inv + res


@op
def normalize(x: TensorLike, axis: Axis = -1, order: int = 2, epsilon: float | None = None
        ) -> Array:
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``).

    Args:
        x: a tensor.
        axis: the axis.
        order: the norm order (int >= 1).
        epsilon: lower bound of the norm (default ``config.epsilon()``).

    Returns:
        A tensor.
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"ops.normalize: order must be an int >= 1; received order={order!r}.")
    x = jnp.asarray(x)
    eps = global_config.epsilon() if epsilon is None else epsilon
    if order == 2:
        inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inv, 1.0 / eps)
    norm = jnp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / jnp.maximum(norm, eps)


@op
def layer_normalization(x: TensorLike, gamma: TensorLike | None = None,
                        beta: TensorLike | None = None,
                        axis: Axis = -1, epsilon: float | None = None, **kwargs) -> Array:
    """Normalise to zero mean and unit variance over ``axis``, then scale and shift.

    Args:
        x: a tensor.
        gamma: optional scale, shaped like the normalised axes.
        beta: optional offset.
        axis: int or list of ints.
        epsilon: added to the variance (default ``config.epsilon()``).
        **kwargs: ``rms_scaling=True`` skips centering (legacy Keras argument).

    Returns:
        A tensor of x's dtype.
    """
    x = jnp.asarray(x)
    eps = global_config.epsilon() if epsilon is None else epsilon
    axes = [axis] if isinstance(axis, int) else list(axis)
    compute = jnp.float32 if x.dtype in (jnp.float16, jnp.bfloat16) else x.dtype
    xc = x.astype(compute)
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    if kwargs.pop("rms_scaling", False):
        out = xc * jax.lax.rsqrt(jnp.var(xc, axis=axes, keepdims=True) + eps)
        if gamma is not None:
            out = out * jnp.reshape(gamma, shape)
        return out.astype(x.dtype)
    mean, variance = moments.raw(xc, axes, keepdims=True)
    inv = jax.lax.rsqrt(variance + eps)
    if gamma is not None:
        inv = inv * jnp.reshape(gamma, shape).astype(compute)
    out = xc * inv - mean * inv
    if beta is not None:
        out = out + jnp.reshape(beta, shape).astype(compute)
    return out.astype(x.dtype)


@op
def rms_normalization(x: TensorLike, scale: TensorLike | None = None, axis: Axis = -1,
                      epsilon: float | None = None) -> Array:
    """``x * rsqrt(mean(x**2) + epsilon) * scale`` over ``axis``.

    Args:
        x: a tensor.
        scale: optional scale.
        axis: int or tuple of ints.
        epsilon: added to the mean square (default ``config.epsilon()``).

    Returns:
        A tensor of x's dtype.
    """
    x = jnp.asarray(x)
    eps = global_config.epsilon() if epsilon is None else epsilon
    out = x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=_axis(axis), keepdims=True) + eps)
    if scale is not None:
        out = out * scale
    return out.astype(x.dtype)


@op
def dot_product_attention(query: TensorLike, key: TensorLike, value: TensorLike,
                          bias: TensorLike | None = None,
                          mask: TensorTree | None = None, scale: float | None = None,
                          is_causal: bool = False, flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> Array:
    """Scaled dot-product attention, ``softmax(q k^T * scale + bias) v``.

    Args:
        query: ``(batch, q_len, heads, dim)``.
        key: ``(batch, kv_len, kv_heads, dim)``.
        value: ``(batch, kv_len, kv_heads, dim_v)``.
        bias: optional additive bias broadcastable to ``(batch, heads, q_len, kv_len)``.
        mask: optional bool mask of the same shape (True = attend).
        scale: default ``1 / sqrt(dim)``.
        is_causal: apply a causal mask.
        flash_attention: True is not supported on the CPU; None/False use the XLA kernel.
        attn_logits_soft_cap: optional ``cap * tanh(logits / cap)``.

    Returns:
        ``(batch, q_len, heads, dim_v)``.
    """
    if flash_attention:
        raise ValueError("ops.dot_product_attention: flash_attention=True is not supported by "
                         "thawnet; received flash_attention=True. Pass None or False.")
    query, key, value = jnp.asarray(query), jnp.asarray(key), jnp.asarray(value)
    scale = 1.0 / jnp.sqrt(query.shape[-1]) if scale is None else scale
    logits = jnp.einsum("bqhd,bkhd->bhqk", query, key) * scale
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * jnp.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + bias
    keep = None if mask is None else jnp.asarray(mask, bool)
    if is_causal:
        causal = jnp.tril(jnp.ones((logits.shape[-2], logits.shape[-1]), bool))
        keep = causal if keep is None else keep & causal
    if keep is not None:
        logits = jnp.where(keep, logits, jnp.finfo(logits.dtype).min)
    weights = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(value.dtype)
    return jnp.einsum("bhqk,bkhd->bqhd", weights, value)


@op
def depth_to_space(x: TensorLike, block_size: int, data_format: str | None = "channels_last"
        ) -> Array:
    """Move channel blocks into ``block_size`` x ``block_size`` spatial tiles.

    Args:
        x: a 4-D tensor.
        block_size: the tile size.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        A tensor with ``channels / block_size**2`` channels.
    """
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = jnp.reshape(x, (n, h, w, b, b, c // (b * b)))
        return jnp.reshape(jnp.transpose(x, (0, 1, 3, 2, 4, 5)), (n, h * b, w * b, c // (b * b)))
    n, c, h, w = x.shape
    x = jnp.reshape(x, (n, b, b, c // (b * b), h, w))
    return jnp.reshape(jnp.transpose(x, (0, 3, 4, 1, 5, 2)), (n, c // (b * b), h * b, w * b))


@op
def space_to_depth(x: TensorLike, block_size: int, data_format: str | None = "channels_last"
        ) -> Array:
    """Move ``block_size`` x ``block_size`` spatial tiles into channels.

    Args:
        x: a 4-D tensor.
        block_size: the tile size.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Returns:
        A tensor with ``channels * block_size**2`` channels.
    """
    b = block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        x = jnp.reshape(x, (n, h // b, b, w // b, b, c))
        return jnp.reshape(jnp.transpose(x, (0, 1, 3, 2, 4, 5)), (n, h // b, w // b, c * b * b))
    n, c, h, w = x.shape
    x = jnp.reshape(x, (n, c, h // b, b, w // b, b))
    return jnp.reshape(jnp.transpose(x, (0, 3, 5, 1, 2, 4)), (n, c * b * b, h // b, w // b))


@op
def psnr(x1: TensorLike, x2: TensorLike, max_val: float) -> Array:
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mse)``.

    Args:
        x1: a tensor.
        x2: a tensor of the same shape.
        max_val: the signal's peak value.

    Returns:
        A scalar tensor.
    """
    mse = jnp.mean(jnp.square(jnp.asarray(x1) - jnp.asarray(x2)))
    return 20 * jnp.log10(max_val) - 10 * jnp.log10(mse)


@op
def polar(abs_: TensorLike, angle: TensorLike) -> Array:
    """The complex number ``abs_ * exp(i * angle)``.

    Args:
        abs_: magnitudes.
        angle: phases (radians).

    Returns:
        A complex tensor.
    """
    return jax.lax.complex(abs_ * jnp.cos(angle), abs_ * jnp.sin(angle))


__all__ = [
    "batch_normalization", "depth_to_space", "dot_product_attention", "layer_normalization",
    "moments", "multi_hot", "normalize", "one_hot", "polar", "psnr", "rms_normalization",
    "space_to_depth",
]
