"""Convolution and pooling ops of Keras 3's ``keras.ops.nn`` over ``jax.lax``.

Layouts follow Keras: inputs ``channels_last`` by default (``thawnet.config.
image_data_format()``), ``(batch, *spatial, channels)``;
kernels ``(*spatial, in_channels / groups, out_channels)`` for ``conv``,
``(*spatial, in_channels, multiplier)`` for ``depthwise_conv`` and ``(*spatial, out_channels,
in_channels)`` for ``conv_transpose``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from thawnet.backend import global_config
from thawnet.ops.dispatch import op
from thawnet.backend.types import Array, IntOrTuple, TensorLike, TensorTree

_FORMATS = ("channels_last", "channels_first")


def _format(data_format, who):
    fmt = data_format or global_config.image_data_format()
    if fmt not in _FORMATS:
        raise ValueError(f"ops.{who}: data_format must be one of {_FORMATS}; received "
                         f"data_format={data_format!r}.")
    return fmt


def _padding(padding, who, allowed=("valid", "same")):
    mode = str(padding).lower()
    if mode not in allowed:
        raise ValueError(f"ops.{who}: padding must be one of {allowed}; received "
                         f"padding={padding!r}.")
    return mode


def _tuple(value, rank):
    return (int(value),) * rank if isinstance(value, int) else tuple(int(v) for v in value)


def _dimension_numbers(fmt, rank):
    if not 1 <= rank <= 3:
        raise ValueError("ops.conv: inputs must have 1 to 3 spatial dimensions (rank 3 to 5); "
                         f"received {rank} spatial dimensions.")
    spatial = "DHW"[3 - rank:]
    lhs = "N" + spatial + "C" if fmt == "channels_last" else "NC" + spatial
    return jax.lax.conv_dimension_numbers((1,) * (rank + 2), (1,) * (rank + 2),
                                          (lhs, spatial + "IO", lhs))


def _conv(inputs, kernel, strides, padding, fmt, dilation_rate, groups):
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    rank = inputs.ndim - 2
    return jax.lax.conv_general_dilated(
        inputs, kernel.astype(inputs.dtype), window_strides=_tuple(strides, rank),
        padding=padding.upper(), rhs_dilation=_tuple(dilation_rate, rank),
        dimension_numbers=_dimension_numbers(fmt, rank), feature_group_count=groups)


@op
def conv(inputs: TensorTree, kernel: TensorLike, strides: IntOrTuple = 1, padding: str = "valid",
         data_format: str | None = None, dilation_rate: IntOrTuple = 1) -> Array:
    """N-D convolution (cross-correlation, as in Keras), grouped when the kernel's input
    channels divide the inputs'.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first).
        kernel: ``(*spatial, in_channels / groups, out_channels)``.
        strides: int or tuple.
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).
        dilation_rate: int or tuple.

    Returns:
        A tensor.
    """
    fmt = _format(data_format, "conv")
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    channels = inputs.shape[-1 if fmt == "channels_last" else 1]
    if channels % kernel.shape[-2]:
        raise ValueError(f"ops.conv: the inputs' {channels} channels must be a multiple of the "
                         f"kernel's input channels {kernel.shape[-2]} (kernel shape "
                         f"{kernel.shape}).")
    return _conv(inputs, kernel, strides, _padding(padding, "conv"), fmt, dilation_rate,
                 channels // kernel.shape[-2])


@op
def depthwise_conv(inputs: TensorTree, kernel: TensorLike, strides: IntOrTuple = 1,
                   padding: str = "valid", data_format: str | None = None,
                   dilation_rate: IntOrTuple = 1) -> Array:
    """Each input channel convolved with its own ``multiplier`` filters.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first).
        kernel: ``(*spatial, channels, multiplier)``.
        strides: int or tuple.
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).
        dilation_rate: int or tuple.

    Returns:
        A tensor with ``channels * multiplier`` channels.
    """
    fmt = _format(data_format, "depthwise_conv")
    kernel = jnp.asarray(kernel)
    channels = kernel.shape[-2]
    flat = kernel.reshape(kernel.shape[:-2] + (1, channels * kernel.shape[-1]))
    return _conv(inputs, flat, strides, _padding(padding, "depthwise_conv"), fmt, dilation_rate,
                 channels)


@op
def separable_conv(inputs: TensorTree, depthwise_kernel: Any, pointwise_kernel: Any,
                   strides: IntOrTuple = 1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate: IntOrTuple = 1) -> Array:
    """A depthwise convolution followed by a 1x1 (pointwise) convolution.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first).
        depthwise_kernel: ``(*spatial, channels, multiplier)``.
        pointwise_kernel: ``(*1s, channels * multiplier, out_channels)``.
        strides: int or tuple (of the depthwise step).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).
        dilation_rate: int or tuple.

    Returns:
        A tensor.
    """
    depthwise = depthwise_conv.raw(inputs, depthwise_kernel, strides, padding, data_format,
                                   dilation_rate)
    return conv.raw(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def _transpose_padding(kernel, stride, dilation, padding, output_padding):
    # Padding of the stride-dilated input so that the output length is Keras's:
    # valid: (n-1)*s + max(span, s) (or + span + output_padding); same: n*s (or with padding).
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return span - 1, span - 1 + extra
    total = stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
    left = min((total + 1) // 2, span - 1)
    return left, total - left


@op
def conv_transpose(inputs: TensorTree, kernel: TensorLike, strides: IntOrTuple = 1,
                   padding: str = "valid", output_padding: IntOrTuple | None = None,
                   data_format: str | None = None, dilation_rate: IntOrTuple = 1) -> Array:
    """Transposed convolution (the gradient of ``conv``), with Keras's output lengths.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first).
        kernel: ``(*spatial, out_channels, in_channels)``.
        strides: int or tuple.
        padding: ``"valid"`` or ``"same"``.
        output_padding: int, tuple or None: extra length per spatial axis.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).
        dilation_rate: int or tuple.

    Returns:
        A tensor.
    """
    fmt = _format(data_format, "conv_transpose")
    mode = _padding(padding, "conv_transpose")
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    rank = inputs.ndim - 2
    strides, dilation = _tuple(strides, rank), _tuple(dilation_rate, rank)
    extra = (None,) * rank if output_padding is None else _tuple(output_padding, rank)
    pads = [_transpose_padding(k, s, d, mode, e) for k, s, d, e in
            zip(kernel.shape[:rank], strides, dilation, extra)]
    flipped = jnp.swapaxes(jnp.flip(kernel, axis=tuple(range(rank))), -1, -2)
    return jax.lax.conv_general_dilated(
        inputs, flipped.astype(inputs.dtype), window_strides=(1,) * rank, padding=pads,
        lhs_dilation=strides, rhs_dilation=dilation,
        dimension_numbers=_dimension_numbers(fmt, rank))


def _window(inputs, pool_size, strides, fmt):
    rank = jnp.ndim(inputs) - 2
    pool = _tuple(pool_size, rank)
    step = pool if strides is None else _tuple(strides, rank)
    if fmt == "channels_last":
        return (1,) + pool + (1,), (1,) + step + (1,)
    return (1, 1) + pool, (1, 1) + step


@op
def max_pool(inputs: TensorTree, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
             padding: str = "valid", data_format: str | None = None) -> Array:
    """Maximum over each window.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first).
        pool_size: int or tuple.
        strides: int or tuple (default: ``pool_size``).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        A tensor.
    """
    fmt = _format(data_format, "max_pool")
    inputs = jnp.asarray(inputs)
    window, step = _window(inputs, pool_size, strides, fmt)
    return jax.lax.reduce_window(inputs, -jnp.inf, jax.lax.max, window, step,
                                 _padding(padding, "max_pool").upper())


@op
def average_pool(inputs: TensorTree, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None) -> Array:
    """Mean over each window; with ``"same"`` padding, over the entries inside the input only.

    Args:
        inputs: ``(batch, *spatial, channels)`` (or channels first).
        pool_size: int or tuple.
        strides: int or tuple (default: ``pool_size``).
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        A tensor.
    """
    fmt = _format(data_format, "average_pool")
    mode = _padding(padding, "average_pool").upper()
    inputs = jnp.asarray(inputs)
    window, step = _window(inputs, pool_size, strides, fmt)
    total = jax.lax.reduce_window(inputs, 0.0, jax.lax.add, window, step, mode)
    counts = jax.lax.reduce_window(jnp.ones_like(inputs), 0.0, jax.lax.add, window, step, mode)
    return total / counts


__all__ = [
    "average_pool", "conv", "conv_transpose", "depthwise_conv", "max_pool", "separable_conv",
]
