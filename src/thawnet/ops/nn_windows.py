"""Adaptive pooling and sliding blocks (``unfold``/``fold``) of Keras 3's ``keras.ops.nn``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.backend import global_config
from thawnet.ops.dispatch import op
from thawnet.backend.types import Array, IntOrTuple, TensorLike, TensorTree


def _adaptive(inputs, output_size, data_format, reduce, who):
    x = jnp.asarray(inputs)
    rank = x.ndim - 2
    if not 1 <= rank <= 3:
        raise ValueError(f"ops.{who}: inputs must have 1 to 3 spatial dimensions; received "
                         f"shape {x.shape}.")
    sizes = (output_size,) * rank if isinstance(output_size, int) else tuple(output_size)
    first = 1 if (data_format or global_config.image_data_format()) == "channels_last" else 2
    for axis, out in zip(range(first, first + rank), sizes):
        length = x.shape[axis]
        # Window i covers [floor(i * L / out), ceil((i + 1) * L / out)), as in Keras/PyTorch.
        pieces = [reduce(jax.lax.slice_in_dim(x, (i * length) // out,
                                              -(-((i + 1) * length) // out), axis=axis),
                         axis=axis, keepdims=True) for i in range(out)]
        x = jnp.concatenate(pieces, axis=axis)
    return x


@op
def adaptive_average_pool(inputs: TensorTree, output_size: IntOrTuple,
                          data_format: str | None = None) -> Array:
    """Average pooling to a fixed output size, windows chosen to cover the input.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first), 1 to 3 spatial axes.
        output_size: int or tuple: output size per spatial axis.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        A tensor.
    """
    return _adaptive(inputs, output_size, data_format, jnp.mean, "adaptive_average_pool")


@op
def adaptive_max_pool(inputs: TensorTree, output_size: IntOrTuple, data_format: str | None = None
        ) -> Array:
    """Max pooling to a fixed output size, windows chosen to cover the input.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first), 1 to 3 spatial axes.
        output_size: int or tuple: output size per spatial axis.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        A tensor.
    """
    return _adaptive(inputs, output_size, data_format, jnp.max, "adaptive_max_pool")


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@op
def unfold(x: TensorLike, kernel_size: IntOrTuple, dilation: int = 1, padding: int = 0,
           stride: int = 1) -> Array:
    """Sliding local blocks of an NCHW image batch, flattened (PyTorch's ``unfold``).

    Args:
        x: ``(N, C, H, W)``.
        kernel_size: int or pair.
        dilation: int or pair.
        padding: int or pair: zeros added on both sides.
        stride: int or pair.

    Returns:
        ``(N, C * kh * kw, L)`` with ``L`` the number of blocks.
    """
    x = jnp.asarray(x)
    ph, pw = _pair(padding)
    x = jnp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    patches = jax.lax.conv_general_dilated_patches(
        x, _pair(kernel_size), _pair(stride), "VALID", rhs_dilation=_pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"))
    n, ckk, oh, ow = patches.shape
    return patches.reshape(n, ckk, oh * ow)


@op
def fold(x: TensorLike, output_size: IntOrTuple, kernel_size: IntOrTuple, dilation: int = 1,
         padding: int = 0, stride: int = 1) -> Array:
    """Sum sliding local blocks back into an NCHW image batch (the adjoint of ``unfold``).

    Args:
        x: ``(N, C * kh * kw, L)``.
        output_size: int or pair ``(H, W)``.
        kernel_size: int or pair.
        dilation: int or pair.
        padding: int or pair.
        stride: int or pair.

    Returns:
        ``(N, C, H, W)``.
    """
    x = jnp.asarray(x)
    kh, kw = _pair(kernel_size)
    height, width = _pair(output_size)
    channels = x.shape[1] // (kh * kw)
    if channels * kh * kw != x.shape[1]:
        raise ValueError(f"ops.fold: x.shape[1]={x.shape[1]} must be channels * {kh * kw} "
                         f"(kernel_size={kernel_size}).")
    blank = jnp.zeros((x.shape[0], channels, height, width), x.dtype)
    # fold is the transpose of the linear map unfold: apply its VJP to x.
    _, transpose = jax.vjp(lambda img: unfold.raw(img, kernel_size, dilation, padding, stride),
                           blank)
    return transpose(x)[0]


__all__ = ["adaptive_average_pool", "adaptive_max_pool", "fold", "unfold"]
