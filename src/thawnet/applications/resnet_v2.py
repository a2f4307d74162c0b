"""ResNet50V2/101V2/152V2 (He et al., 2016: identity mappings, pre-activation blocks), as in
``keras.applications.resnet_v2``.

Each block normalises and activates its input first (``*_preact_bn``/``*_preact_relu``); the
stem has no BatchNormalization, and the network ends with ``post_bn``/``post_relu``. The
stride of a stack sits in its *last* block (a 1x1 max-pool on the identity shortcut, left
unnamed as in Keras). Same layer names, shapes and weight order as Keras, so Keras's weight
files load. Inputs are preprocessed in "tf" mode (:func:`preprocess_input`): scaled to [-1, 1].
"""

from __future__ import annotations

from thawnet import layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.models import Model
from thawnet.applications.resnet import _DOC_ARGS
from thawnet.backend.types import Identifier, ShapeLike, Tensor

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2"]

_BN_EPSILON = 1.001e-5


def residual_block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """One pre-activation bottleneck block: BN-ReLU, then 1x1 -> kxk (strided) -> 1x1.

    Args:
        x: input tensor.
        filters: bottleneck width (the block outputs ``4 * filters`` channels).
        kernel_size: size of the middle convolution.
        stride: stride of the middle convolution (and of the shortcut).
        conv_shortcut: project the (pre-activated) shortcut with a 1x1 convolution; else the
            identity, max-pooled by ``stride`` when it is above 1.
        name: block prefix, e.g. ``"conv2_block1"``.

    Returns:
        The block's output tensor (the sum; the next block activates it).
    """
    preact = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON,
                                       name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def residual_stack_v2(x, filters, blocks, stride1=2, name=None):
    """``blocks`` pre-activation blocks: the first projects the shortcut, the last strides.

    Args:
        x: input tensor.
        filters: bottleneck width of every block.
        blocks: number of blocks (at least 2).
        stride1: stride of the last block.
        name: stack prefix, e.g. ``"conv3"``.

    Returns:
        The stack's output tensor.
    """
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _resnet_v2(blocks_per_stack, stem, include_top, weights, input_tensor, input_shape,
               pooling, classes, classifier_activation, name):
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, require_flatten=include_top,
        weights=weights, model_name=name)
    inputs, x = zb.model_inputs(input_tensor, input_shape, name)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stack, (filters, blocks) in enumerate(zip((64, 128, 256, 512), blocks_per_stack),
                                              start=2):
        x = residual_stack_v2(x, filters, blocks, stride1=1 if stack == 5 else 2,
                              name=f"conv{stack}")
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name="post_bn")(x)
    x = layers.Activation("relu", name="post_relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        zb.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(inputs, x, name=name)
    return zb.load_requested_weights(model, weights, stem, include_top)


def ResNet50V2(include_top: bool = True, weights: str | None = None,
               input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
               pooling: str | None = None, classes: int = 1000,
               classifier_activation: Identifier = "softmax", name: str = "resnet50v2") -> Model:
    return _resnet_v2((3, 4, 6, 3), "resnet50v2", include_top, weights, input_tensor,
                      input_shape, pooling, classes, classifier_activation, name)


def ResNet101V2(include_top: bool = True, weights: str | None = None,
                input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
                pooling: str | None = None, classes: int = 1000,
                classifier_activation: Identifier = "softmax", name: str = "resnet101v2") -> Model:
    return _resnet_v2((3, 4, 23, 3), "resnet101v2", include_top, weights, input_tensor,
                      input_shape, pooling, classes, classifier_activation, name)


def ResNet152V2(include_top: bool = True, weights: str | None = None,
                input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
                pooling: str | None = None, classes: int = 1000,
                classifier_activation: Identifier = "softmax", name: str = "resnet152v2") -> Model:
    return _resnet_v2((3, 8, 36, 3), "resnet152v2", include_top, weights, input_tensor,
                      input_shape, pooling, classes, classifier_activation, name)


ResNet50V2.__doc__ = "ResNet50V2: pre-activation stacks of 3, 4, 6, 3 blocks.\n" + \
    _DOC_ARGS.format(stem="resnet50v2")
ResNet101V2.__doc__ = "ResNet101V2: pre-activation stacks of 3, 4, 23, 3 blocks.\n" + \
    _DOC_ARGS.format(stem="resnet101v2")
ResNet152V2.__doc__ = "ResNet152V2: pre-activation stacks of 3, 8, 36, 3 blocks.\n" + \
    _DOC_ARGS.format(stem="resnet152v2")


def preprocess_input(x, data_format=None):
    """Preprocess images for ResNetV2: scale pixels from [0, 255] to [-1, 1] ("tf" mode).

    Args:
        x: 3-D or 4-D NumPy/JAX array with values in [0, 255] (not modified).
        data_format: None/"channels_last" or "channels_first".

    Returns:
        The preprocessed float array.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions


MODELS = {"resnet50v2": ResNet50V2, "resnet101v2": ResNet101V2, "resnet152v2": ResNet152V2}
