"""Convolution layers: Conv1D/2D/3D, their transposes, depthwise and separable convolutions.

All take Keras 3's arguments and create Keras's weights (same names, shapes and order), so
``layer.set_weights(keras_layer.get_weights())`` reproduces a Keras layer. Inputs are
``(batch, *spatial, channels)`` with ``data_format="channels_last"`` (the default) or
``(batch, channels, *spatial)`` with ``"channels_first"``.

Shared arguments:
    kernel_size: int or tuple, the window size per spatial dimension.
    strides: int or tuple, the step of the window (default 1).
    padding: ``"valid"`` (no padding) or ``"same"`` (output size ``ceil(input / strides)``);
        Conv1D also accepts ``"causal"`` (pad the past only, for temporal models).
    data_format: ``"channels_last"`` (default) or ``"channels_first"``.
    dilation_rate: int or tuple, spacing between kernel taps; strides > 1 and dilation_rate > 1
        cannot be combined in Conv/ConvTranspose layers (as in Keras).
    activation: name or callable applied to the output (default linear).
    use_bias: add a bias per output channel.
    *_initializer, *_regularizer: for the kernel(s) and bias.
    activity_regularizer, name, trainable, dtype, input_shape: as for every layer.
"""

from __future__ import annotations

from thawnet.backend.types import Identifier, IntOrTuple
from thawnet.layers._conv_base import Conv, ConvTranspose
from thawnet.layers._conv_depthwise import DepthwiseConv, SeparableConv
from thawnet.layers.layer import register


@register
class Conv1D(Conv):
    """Temporal convolution; kernel ``(kernel_size, in_channels // groups, filters)``.

    Args:
        filters: number of output channels.
        groups: split the channels into this many independent groups (divides both the input
            channels and ``filters``).
        padding: "valid", "same" or "causal". See the module doc for the other arguments.

    >>> import jax.numpy as jnp
    >>> from thawnet.layers import Conv1D
    >>> Conv1D(4, 3, padding="causal")(jnp.ones((2, 10, 3))).shape
    (2, 10, 4)
    """

    _paddings = ("valid", "same", "causal")

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: IntOrTuple = 1, groups: int = 1, activation: Identifier = None,
                 use_bias: bool = True, kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, bias_constraint: Identifier = None, **kwargs
            ) -> None:
        super().__init__(1, filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, kernel_constraint,
                         bias_constraint, activity_regularizer=activity_regularizer, **kwargs)


@register
class Conv2D(Conv):
    """2-D convolution; kernel ``(kh, kw, in_channels // groups, filters)``.

    Args:
        filters: number of output channels.
        groups: split the channels into this many independent groups.
        See the module doc for the other arguments.

    >>> import jax.numpy as jnp
    >>> from thawnet.layers import Conv2D
    >>> Conv2D(8, 3, strides=2, padding="same", activation="relu")(jnp.ones((1, 7, 7, 3))).shape
    (1, 4, 4, 8)
    """

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: IntOrTuple = (1, 1), groups: int = 1, activation: Identifier = None,
                 use_bias: bool = True, kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, bias_constraint: Identifier = None, **kwargs
            ) -> None:
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, kernel_constraint,
                         bias_constraint, activity_regularizer=activity_regularizer, **kwargs)


@register
class Conv3D(Conv):
    """3-D convolution; kernel ``(kd, kh, kw, in_channels // groups, filters)``.

    >>> import jax.numpy as jnp
    >>> from thawnet.layers import Conv3D
    >>> Conv3D(2, 3)(jnp.ones((1, 5, 5, 5, 1))).shape
    (1, 3, 3, 3, 2)
    """

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: IntOrTuple = (1, 1, 1), groups: int = 1,
                 activation: Identifier = None, use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, bias_constraint: Identifier = None, **kwargs
            ) -> None:
        super().__init__(3, filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, kernel_constraint,
                         bias_constraint, activity_regularizer=activity_regularizer, **kwargs)


_TRANSPOSE_DOC = """
    Args:
        filters: number of output channels.
        output_padding: None, or int/tuple of extra output samples on the far side per
            dimension (each smaller than the stride). With None the output length is
            ``input * strides`` for "same" and ``(input - 1) * strides + max(kernel, strides)``
            for "valid" (kernel counted with dilation).
        See the module doc for the other arguments.
"""


@register
class Conv1DTranspose(ConvTranspose):
    __doc__ = """Transposed 1-D convolution; kernel ``(kernel_size, filters, in_channels)``.
    """ + _TRANSPOSE_DOC + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import Conv1DTranspose
    >>> Conv1DTranspose(2, 3, strides=2, padding="same")(jnp.ones((1, 5, 4))).shape
    (1, 10, 2)
    """

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", output_padding: IntOrTuple | None = None,
                 data_format: str | None = None, dilation_rate: IntOrTuple = 1,
                 activation: Identifier = None, use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, bias_constraint: Identifier = None, **kwargs
            ) -> None:
        super().__init__(1, filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         kernel_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)


@register
class Conv2DTranspose(ConvTranspose):
    __doc__ = """Transposed 2-D convolution (upsampling); kernel ``(kh, kw, filters, in_channels)``.
    """ + _TRANSPOSE_DOC + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import Conv2DTranspose
    >>> Conv2DTranspose(3, 3, strides=2, padding="same")(jnp.ones((1, 4, 4, 8))).shape
    (1, 8, 8, 3)
    """

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
                 padding: str = "valid", output_padding: IntOrTuple | None = None,
                 data_format: str | None = None, dilation_rate: IntOrTuple = (1, 1),
                 activation: Identifier = None, use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, bias_constraint: Identifier = None, **kwargs
            ) -> None:
        super().__init__(2, filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         kernel_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)


@register
class Conv3DTranspose(ConvTranspose):
    __doc__ = """Transposed 3-D convolution; kernel ``(kd, kh, kw, filters, in_channels)``.
    """ + _TRANSPOSE_DOC + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import Conv3DTranspose
    >>> Conv3DTranspose(2, 2, strides=2)(jnp.ones((1, 3, 3, 3, 4))).shape
    (1, 6, 6, 6, 2)
    """

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1, 1),
                 padding: str = "valid", output_padding: IntOrTuple | None = None,
                 data_format: str | None = None, dilation_rate: IntOrTuple = (1, 1, 1),
                 activation: Identifier = None, use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, bias_constraint: Identifier = None, **kwargs
            ) -> None:
        super().__init__(3, filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         kernel_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)


_DEPTHWISE_DOC = """
    Each input channel is convolved with its own ``depth_multiplier`` filters; the output has
    ``in_channels * depth_multiplier`` channels. The kernel weight is named "kernel" (Keras 3);
    ``layer.depthwise_kernel`` is the same variable.

    Args:
        depth_multiplier: filters per input channel.
        depthwise_initializer, depthwise_regularizer: for the kernel.
        See the module doc for the other arguments.
"""


@register
class DepthwiseConv1D(DepthwiseConv):
    __doc__ = """Depthwise 1-D convolution; kernel ``(kernel_size, in_channels, depth_multiplier)``.
    """ + _DEPTHWISE_DOC + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import DepthwiseConv1D
    >>> DepthwiseConv1D(3, depth_multiplier=2)(jnp.ones((1, 8, 4))).shape
    (1, 6, 8)
    """

    def __init__(self, kernel_size: IntOrTuple, strides: IntOrTuple = 1, padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: IntOrTuple = 1, activation: Identifier = None,
                 use_bias: bool = True, depthwise_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", depthwise_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 depthwise_constraint: Identifier = None, bias_constraint: Identifier = None,
                 **kwargs) -> None:
        super().__init__(1, kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         depthwise_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)


@register
class DepthwiseConv2D(DepthwiseConv):
    __doc__ = """Depthwise 2-D convolution; kernel ``(kh, kw, in_channels, depth_multiplier)``.
    """ + _DEPTHWISE_DOC + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import DepthwiseConv2D
    >>> DepthwiseConv2D(3, padding="same", depth_multiplier=2)(jnp.ones((1, 6, 6, 3))).shape
    (1, 6, 6, 6)
    """

    def __init__(self, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
                 padding: str = "valid", depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: IntOrTuple = (1, 1), activation: Identifier = None,
                 use_bias: bool = True, depthwise_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", depthwise_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 depthwise_constraint: Identifier = None, bias_constraint: Identifier = None,
                 **kwargs) -> None:
        super().__init__(2, kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         depthwise_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)


_SEPARABLE_DOC = """
    A depthwise convolution (``depth_multiplier`` filters per input channel, no bias) followed
    by a 1x1 convolution to ``filters`` channels, then bias and activation. Weights in Keras's
    order: ``depthwise_kernel``, ``pointwise_kernel``, ``bias``.

    Args:
        filters: number of output channels.
        depth_multiplier: depthwise filters per input channel.
        depthwise_initializer, pointwise_initializer, depthwise_regularizer,
        pointwise_regularizer: for the two kernels.
        See the module doc for the other arguments.
"""


@register
class SeparableConv1D(SeparableConv):
    __doc__ = """Depthwise-separable 1-D convolution.
    """ + _SEPARABLE_DOC + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import SeparableConv1D
    >>> SeparableConv1D(5, 3, padding="same")(jnp.ones((1, 8, 4))).shape
    (1, 8, 5)
    """

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: IntOrTuple = 1, depth_multiplier: int = 1,
                 activation: Identifier = None, use_bias: bool = True,
                 depthwise_initializer: Identifier = "glorot_uniform",
                 pointwise_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", depthwise_regularizer: Identifier = None,
                 pointwise_regularizer: Identifier = None, bias_regularizer: Identifier = None,
                 activity_regularizer: Identifier = None, depthwise_constraint: Identifier = None,
                 pointwise_constraint: Identifier = None, bias_constraint: Identifier = None,
                 **kwargs) -> None:
        super().__init__(1, filters, kernel_size, strides, padding, data_format, dilation_rate,
                         depth_multiplier, activation, use_bias, depthwise_initializer,
                         pointwise_initializer, bias_initializer, depthwise_regularizer,
                         pointwise_regularizer, bias_regularizer, depthwise_constraint,
                         pointwise_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)


@register
class SeparableConv2D(SeparableConv):
    __doc__ = """Depthwise-separable 2-D convolution.
    """ + _SEPARABLE_DOC + """
    >>> import jax.numpy as jnp
    >>> from thawnet.layers import SeparableConv2D
    >>> SeparableConv2D(8, 3, depth_multiplier=2)(jnp.ones((1, 6, 6, 3))).shape
    (1, 4, 4, 8)
    """

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: IntOrTuple = (1, 1), depth_multiplier: int = 1,
                 activation: Identifier = None, use_bias: bool = True,
                 depthwise_initializer: Identifier = "glorot_uniform",
                 pointwise_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", depthwise_regularizer: Identifier = None,
                 pointwise_regularizer: Identifier = None, bias_regularizer: Identifier = None,
                 activity_regularizer: Identifier = None, depthwise_constraint: Identifier = None,
                 pointwise_constraint: Identifier = None, bias_constraint: Identifier = None,
                 **kwargs) -> None:
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate,
                         depth_multiplier, activation, use_bias, depthwise_initializer,
                         pointwise_initializer, bias_initializer, depthwise_regularizer,
                         pointwise_regularizer, bias_regularizer, depthwise_constraint,
                         pointwise_constraint, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)


# Keras's alternative names (the same classes).
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution3D = Conv3D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Convolution3DTranspose = Conv3DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "Convolution1D", "Convolution2D", "Convolution3D", "Convolution1DTranspose",
    "Convolution2DTranspose", "Convolution3DTranspose", "SeparableConvolution1D",
    "SeparableConvolution2D",
]
