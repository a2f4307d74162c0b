"""Pooling layers: windowed max/average pooling and global pooling, 1-D to 3-D.

Windowed pooling slides a ``pool_size`` window with step ``strides`` (default: ``pool_size``)
over the spatial axes. ``padding="same"`` pads so the output has ``ceil(input / strides)``
positions; padded positions never win a max and are left out of an average (as in Keras), so
border averages are over the real inputs only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.backend.types import Array, Config, IntOrTuple, ShapeLike, TensorTree
from thawnet.layers import _conv_utils as cu
from thawnet.layers import input_spec as input_spec_lib
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register


class _Pooling(Layer):
    """Shared machinery of the windowed pooling layers (``mode`` is "max" or "average")."""

    rank = None
    mode = None

    def __init__(self, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        self.pool_size = cu.int_tuple(pool_size, self.rank, "pool_size", who)
        self.strides = (self.pool_size if strides is None
                        else cu.int_tuple(strides, self.rank, "strides", who))
        self.padding = cu.padding_mode(padding, who)
        self.data_format = cu.data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    # No weights, so no build(): built from construction, as in Keras. The window is checked
    # against the input wherever a shape first meets the layer (symbolic or traced call).
    def _check_windows(self, input_shape):
        input_shape = tuple(input_shape)
        input_spec_lib.check(self, self.input_spec, input_shape)
        spatial = [input_shape[a] for a in cu.spatial_axes(self.data_format, self.rank)]
        out = [cu.conv_output_length(n, k, s, 1, self.padding)
               for n, k, s in zip(spatial, self.pool_size, self.strides)]
        cu.check_output_size(
            f'{type(self).__name__} "{self.name}"', input_shape, self.data_format, self.rank,
            out, f"pool_size={self.pool_size}, strides={self.strides} and "
                 f"padding='{self.padding}'")

    def rank_hint(self, expected_rank: int) -> str:
        return cu.rank_hint(type(self).__name__, self.data_format, self.rank)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        self._check_windows(input_shape)
        out = list(input_shape)
        for axis, k, s in zip(cu.spatial_axes(self.data_format, self.rank), self.pool_size,
                              self.strides):
            out[axis] = cu.conv_output_length(input_shape[axis], k, s, 1, self.padding)
        return tuple(out)

    def output_dtype(self, inputs: TensorTree) -> str:
        return inputs.dtype if self.mode == "max" else self.compute_dtype

    def _window(self, sizes):
        full = [1] * (self.rank + 2)
        for axis, size in zip(cu.spatial_axes(self.data_format, self.rank), sizes):
            full[axis] = size
        return tuple(full)

    def call(self, inputs: TensorTree) -> TensorTree:
        self._check_windows(inputs.shape)
        window, strides = self._window(self.pool_size), self._window(self.strides)
        padding = self.padding.upper()
        if self.mode == "max":
            # A Python scalar init lets JAX recognise reduce_window_max, which has a gradient
            # (a jnp.array init falls back to the generic, non-differentiable reduce_window).
            if jnp.issubdtype(inputs.dtype, jnp.floating):
                lowest = -float("inf")
            else:
                lowest = int(jnp.iinfo(inputs.dtype).min)
            return jax.lax.reduce_window(inputs, lowest, jax.lax.max, window, strides, padding)
        x = inputs if jnp.issubdtype(inputs.dtype, jnp.floating) else inputs.astype(self.compute_dtype)
        zero = 0.0  # a Python scalar: JAX's differentiable reduce_window_sum
        total = jax.lax.reduce_window(x, zero, jax.lax.add, window, strides, padding)
        if self.padding == "valid":
            return total / jnp.array(_prod(self.pool_size), x.dtype)
        # Number of real (unpadded) inputs under each window; a constant for static shapes.
        counts_shape = [1] * x.ndim
        for axis in cu.spatial_axes(self.data_format, self.rank):
            counts_shape[axis] = x.shape[axis]
        counts = jax.lax.reduce_window(jnp.ones(counts_shape, x.dtype), zero, jax.lax.add,
                                       window, strides, padding)
        return total / counts

    def get_config(self) -> Config:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


def _prod(values):
    out = 1
    for v in values:
        out *= v
    return out


_POOL_ARGS = """
    Args:
        pool_size: int or tuple, the window size per spatial dimension.
        strides: int or tuple, the window step; None (default) means ``pool_size``.
        padding: "valid" (windows inside the input only) or "same" (output size
            ``ceil(input / strides)``; padding is ignored by the reduction).
        data_format: "channels_last" (default, ``(batch, *spatial, channels)``) or
            "channels_first".
"""


@register
class MaxPooling1D(_Pooling):
    __doc__ = """Maximum over windows of the steps axis.
    """ + _POOL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import MaxPooling1D
    >>> MaxPooling1D()(jnp.ones((2, 9, 3))).shape
    (2, 4, 3)
    """
    rank, mode = 1, "max"

    def __init__(self, pool_size: IntOrTuple = 2, strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None, name: str | None = None,
                 **kwargs) -> None:
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register
class MaxPooling2D(_Pooling):
    __doc__ = """Maximum over windows of the height and width axes.
    """ + _POOL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import MaxPooling2D
    >>> MaxPooling2D(padding="same")(jnp.ones((1, 5, 5, 3))).shape
    (1, 3, 3, 3)
    """
    rank, mode = 2, "max"

    def __init__(self, pool_size: IntOrTuple = (2, 2), strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None, name: str | None = None,
                 **kwargs) -> None:
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register
class MaxPooling3D(_Pooling):
    __doc__ = """Maximum over windows of the three spatial axes.
    """ + _POOL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import MaxPooling3D
    >>> MaxPooling3D()(jnp.ones((1, 4, 4, 4, 2))).shape
    (1, 2, 2, 2, 2)
    """
    rank, mode = 3, "max"

    def __init__(self, pool_size: IntOrTuple = (2, 2, 2), strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None, name: str | None = None,
                 **kwargs) -> None:
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register
class AveragePooling1D(_Pooling):
    __doc__ = """Mean over windows of the steps axis.
    """ + _POOL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import AveragePooling1D
    >>> AveragePooling1D(3, strides=1, padding="same")(jnp.ones((2, 6, 3))).shape
    (2, 6, 3)
    """
    rank, mode = 1, "average"

    def __init__(self, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None, name: str | None = None,
                 **kwargs) -> None:
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register
class AveragePooling2D(_Pooling):
    __doc__ = """Mean over windows of the height and width axes.
    """ + _POOL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import AveragePooling2D
    >>> AveragePooling2D(2)(jnp.ones((1, 6, 6, 3))).shape
    (1, 3, 3, 3)
    """
    rank, mode = 2, "average"

    def __init__(self, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None, name: str | None = None,
                 **kwargs) -> None:
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@register
class AveragePooling3D(_Pooling):
    __doc__ = """Mean over windows of the three spatial axes.
    """ + _POOL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import AveragePooling3D
    >>> AveragePooling3D(2)(jnp.ones((1, 4, 4, 4, 2))).shape
    (1, 2, 2, 2, 2)
    """
    rank, mode = 3, "average"

    def __init__(self, pool_size: IntOrTuple, strides: IntOrTuple | None = None,
                 padding: str = "valid", data_format: str | None = None, name: str | None = None,
                 **kwargs) -> None:
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class _GlobalPooling(Layer):
    """Reduce all spatial axes (``mode`` "max" or "average")."""

    rank = None
    mode = None

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        self.data_format = cu.data_format(data_format, who)
        if not isinstance(keepdims, bool):
            raise ValueError(f"{who}: keepdims must be True or False; received "
                             f"keepdims={keepdims!r}.")
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def rank_hint(self, expected_rank: int) -> str:
        return cu.rank_hint(type(self).__name__, self.data_format, self.rank)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        axes = cu.spatial_axes(self.data_format, self.rank)
        if self.keepdims:
            return tuple(1 if i in axes or i - len(input_shape) in axes else d
                         for i, d in enumerate(input_shape))
        channel = input_shape[cu.channel_axis(self.data_format)]
        return (input_shape[0], channel)

    def output_dtype(self, inputs: TensorTree) -> str:
        return inputs.dtype

    def call(self, inputs: TensorTree) -> Array:
        axes = cu.spatial_axes(self.data_format, self.rank)
        if self.mode == "max":
            return jnp.max(inputs, axis=axes, keepdims=self.keepdims)
        return jnp.mean(inputs, axis=axes, keepdims=self.keepdims)

    def get_config(self) -> Config:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


_GLOBAL_ARGS = """
    Args:
        data_format: "channels_last" (default, ``(batch, *spatial, channels)``) or
            "channels_first".
        keepdims: keep the reduced spatial axes with size 1 (default False: output
            ``(batch, channels)``).
"""


@register
class GlobalAveragePooling1D(_GlobalPooling):
    __doc__ = """Mean over the steps axis.
    """ + _GLOBAL_ARGS + """
    ``call(inputs, mask=None)``: with a ``(batch, steps)`` boolean mask, the mean is over the
    steps where the mask is True.

    >>> import jax.numpy as jnp
    >>> from thawnet.layers import GlobalAveragePooling1D
    >>> GlobalAveragePooling1D()(jnp.ones((2, 7, 3))).shape
    (2, 3)
    """
    rank, mode = 1, "average"
    supports_masking = True  # it consumes the mask; its output has no steps left to mask

    def call(self, inputs: TensorTree, mask: TensorTree | None = None) -> TensorTree:
        if mask is None:
            return super().call(inputs)
        axis = 1 if self.data_format == "channels_last" else 2
        keep = jnp.expand_dims(jnp.asarray(mask, bool), 3 - axis)
        # where, not a product: a padded step holding inf or NaN must not reach the mean.
        total = jnp.sum(jnp.where(keep, inputs, 0), axis=axis, keepdims=self.keepdims)
        return total / jnp.sum(keep.astype(inputs.dtype), axis=axis, keepdims=self.keepdims)

    def compute_mask(self, inputs: TensorTree, mask: TensorTree | None = None) -> TensorTree | None:
        return None


@register
class GlobalAveragePooling2D(_GlobalPooling):
    __doc__ = """Mean over the height and width axes.
    """ + _GLOBAL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import GlobalAveragePooling2D
    >>> GlobalAveragePooling2D(keepdims=True)(jnp.ones((2, 5, 5, 3))).shape
    (2, 1, 1, 3)
    """
    rank, mode = 2, "average"


@register
class GlobalAveragePooling3D(_GlobalPooling):
    __doc__ = """Mean over the three spatial axes.
    """ + _GLOBAL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import GlobalAveragePooling3D
    >>> GlobalAveragePooling3D()(jnp.ones((2, 3, 3, 3, 4))).shape
    (2, 4)
    """
    rank, mode = 3, "average"


@register
class GlobalMaxPooling1D(_GlobalPooling):
    __doc__ = """Maximum over the steps axis.
    """ + _GLOBAL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import GlobalMaxPooling1D
    >>> GlobalMaxPooling1D()(jnp.ones((2, 7, 3))).shape
    (2, 3)
    """
    rank, mode = 1, "max"


@register
class GlobalMaxPooling2D(_GlobalPooling):
    __doc__ = """Maximum over the height and width axes.
    """ + _GLOBAL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import GlobalMaxPooling2D
    >>> GlobalMaxPooling2D()(jnp.ones((2, 5, 5, 3))).shape
    (2, 3)
    """
    rank, mode = 2, "max"


@register
class GlobalMaxPooling3D(_GlobalPooling):
    __doc__ = """Maximum over the three spatial axes.
    """ + _GLOBAL_ARGS + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import GlobalMaxPooling3D
    >>> GlobalMaxPooling3D()(jnp.ones((2, 3, 3, 3, 4))).shape
    (2, 4)
    """
    rank, mode = 3, "max"


# Keras's alternative names (the same classes).
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalAvgPool3D = GlobalAveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D",
    "GlobalMaxPool2D", "GlobalMaxPool3D",
]
