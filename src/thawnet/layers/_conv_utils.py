"""Argument checking and shape arithmetic shared by the convolution and pooling layers.

Everything here is plain Python on static shapes and arguments (no arrays), so it runs the same
when a layer is called eagerly, under ``jit`` or under abstract shape inference.
"""

from __future__ import annotations

import jax
import numpy as np

from thawnet.backend import global_config

_DATA_FORMATS = ("channels_last", "channels_first")


def int_tuple(value, rank, arg, who, allow_zero=False):
    """``value`` (an int or a sequence of ``rank`` ints) as a tuple of ``rank`` ints.

    Raises a ValueError naming ``who`` (e.g. ``'Conv2D "conv2d_1"'``) and ``arg`` otherwise.
    """
    lowest = 0 if allow_zero else 1
    kind = "non-negative" if allow_zero else "positive"
    if _is_int(value):
        out = (int(value),) * rank
    elif isinstance(value, (list, tuple)) and len(value) == rank and all(_is_int(v) for v in value):
        out = tuple(int(v) for v in value)
    else:
        raise ValueError(
            f"{who}: {arg} must be a {kind} integer or a tuple of {rank} {kind} integers; "
            f"received {arg}={value!r}.")
    if any(v < lowest for v in out):
        raise ValueError(
            f"{who}: {arg} must be a {kind} integer or a tuple of {rank} {kind} integers; "
            f"received {arg}={value!r}.")
    return out


def positive_int(value, arg, who):
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{who}: {arg} must be a positive integer; received {arg}={value!r}.")
    return int(value)


def padding_mode(value, who, allowed=("valid", "same")):
    """Lower-cased padding name, one of ``allowed``."""
    mode = value.lower() if isinstance(value, str) else value
    if mode not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{who}: padding must be one of {names}; received padding={value!r}.")
    return mode


def data_format(value, who):
    """``None`` means the session's ``thawnet.config.image_data_format()`` (channels_last)."""
    fmt = global_config.image_data_format() if value is None else value
    if isinstance(fmt, str):
        fmt = fmt.lower()
    if fmt not in _DATA_FORMATS:
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first'; "
                         f"received data_format={value!r}.")
    return fmt


def channel_axis(fmt):
    return -1 if fmt == "channels_last" else 1


def spatial_axes(fmt, rank):
    """Positions of the spatial axes in an input of ``rank`` spatial dimensions."""
    start = 1 if fmt == "channels_last" else 2
    return tuple(range(start, start + rank))


def dimension_numbers(fmt, rank, kernel_out_axis=None, kernel_in_axis=None):
    """``lax.ConvDimensionNumbers`` for inputs in ``fmt`` and a channels-last kernel.

    The kernel is laid out ``(*spatial, in, out)`` unless the axes are given.
    """
    if fmt == "channels_last":
        io = (0, rank + 1) + tuple(range(1, rank + 1))
    else:
        io = tuple(range(rank + 2))
    out_axis = rank + 1 if kernel_out_axis is None else kernel_out_axis
    in_axis = rank if kernel_in_axis is None else kernel_in_axis
    kernel = (out_axis, in_axis) + tuple(range(rank))
    return jax.lax.ConvDimensionNumbers(lhs_spec=io, rhs_spec=kernel, out_spec=io)


def conv_output_length(length, kernel, stride, dilation, padding):
    """Output length of a convolution or pooling window along one axis (None stays None)."""
    if length is None:
        return None
    span = (kernel - 1) * dilation + 1
    if padding in ("same", "causal"):
        return -(-length // stride)
    return (length - span) // stride + 1 if length >= span else 0


def transpose_padding(kernel, stride, dilation, padding, output_padding):
    """``(left, right)`` padding of the stride-dilated input for a transposed convolution.

    The transposed convolution is computed as a convolution of the input dilated by ``stride``
    (``(n - 1) * stride + 1`` samples) with the spatially flipped kernel. The padding is chosen
    so that the output length is, as in Keras:

    * valid: ``(n - 1) * stride + max(span, stride)``, or ``(n - 1) * stride + span +
      output_padding`` when ``output_padding`` is given;
    * same: ``n * stride``, or ``(n - 1) * stride + span % 2 + output_padding`` when given;

    where ``span = (kernel - 1) * dilation + 1``. For 'same' the extra samples are put on the
    left first, but never more than ``span - 1`` there.
    """
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return span - 1, span - 1 + extra
    # Output = (n - 1) * stride + 1 + total - span + 1.
    if output_padding is None:
        total = stride + span - 2
    else:
        total = span + span % 2 - 2 + output_padding
    left = min((total + 1) // 2, span - 1)
    return left, total - left


def transpose_output_length(length, kernel, stride, dilation, padding, output_padding):
    if length is None:
        return None
    left, right = transpose_padding(kernel, stride, dilation, padding, output_padding)
    span = (kernel - 1) * dilation + 1
    return (length - 1) * stride + 1 + left + right - span + 1


def check_output_size(who, input_shape, fmt, rank, out_lengths, what):
    """Raise a ValueError when some spatial output length is not positive."""
    axes = spatial_axes(fmt, rank)
    for axis, out in zip(axes, out_lengths):
        if out is not None and out <= 0:
            raise ValueError(
                f"{who}: input shape {tuple(input_shape)} is too small for {what}; spatial "
                f"dimension {axis} would have output size {out}. Use larger inputs, a smaller "
                "kernel/pool size or stride, or padding='same'.")


def rank_hint(cls_name, fmt, rank):
    names = {1: "steps", 2: "height, width", 3: "depth, height, width"}[rank]
    layout = (f"(batch, {names}, channels)" if fmt == "channels_last"
              else f"(batch, channels, {names})")
    return (f"{cls_name} takes inputs of shape {layout} with data_format='{fmt}'. Add the batch "
            "axis (x[None]) for a single sample, or a channel axis (x[..., None]) for "
            "single-channel data; with the functional API, Input(shape=...) excludes the "
            "batch axis.")


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
