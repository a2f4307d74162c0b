"""ResNet50/101/152 (He et al., 2015; v1 bottleneck blocks), as in ``keras.applications.resnet``.

Same layer names (``conv1_conv``, ``conv2_block1_1_conv``, ..., ``avg_pool``, ``predictions``),
shapes and weight order as Keras, so Keras's weight files load. Inputs are preprocessed in
"caffe" mode (:func:`preprocess_input`): RGB->BGR and ImageNet mean subtraction.
"""

from __future__ import annotations

from thawnet import layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.backend.types import Identifier, ShapeLike, Tensor
from thawnet.models import Model

__all__ = ["ResNet50", "ResNet101", "ResNet152"]

_BN_EPSILON = 1.001e-5

_DOC_ARGS = """
    Args:
        include_top: include the classifier ("avg_pool" + "predictions").
        weights: None (random), "imagenet" (Keras's file ``{stem}_weights_tf_dim_ordering_tf_
            kernels[_notop].h5`` must be in ``~/.keras/models/``; nothing is downloaded) or the
            path of a weight file to load.
        input_tensor: optional symbolic tensor (from ``thawnet.layers.Input``) to build on.
        input_shape: ``(height, width, channels)``; default ``(224, 224, 3)``, at least 32x32.
        pooling: without the top: None (4-D feature map), "avg" ("avg_pool") or "max"
            ("max_pool").
        classes: size of the classifier (1000 for ImageNet weights).
        classifier_activation: activation of "predictions" (None gives logits).
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).
"""


def residual_block(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """One v1 bottleneck block: 1x1 -> kxk -> 1x1 (x4 filters) convolutions plus a shortcut.

    Args:
        x: input tensor.
        filters: bottleneck width (the block outputs ``4 * filters`` channels).
        kernel_size: size of the middle convolution.
        stride: stride of the first 1x1 convolution (and of the shortcut convolution).
        conv_shortcut: project the shortcut with a 1x1 convolution (else identity).
        name: block prefix, e.g. ``"conv2_block1"``.

    Returns:
        The block's output tensor.
    """
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON,
                                             name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def residual_stack(x, filters, blocks, stride1=2, name=None):
    """``blocks`` bottleneck blocks; the first projects the shortcut and strides by ``stride1``.

    Args:
        x: input tensor.
        filters: bottleneck width of every block.
        blocks: number of blocks.
        stride1: stride of the first block.
        name: stack prefix, e.g. ``"conv3"``.

    Returns:
        The stack's output tensor.
    """
    x = residual_block(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def _resnet(blocks_per_stack, stem, include_top, weights, input_tensor, input_shape, pooling,
            classes, classifier_activation, name):
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, require_flatten=include_top,
        weights=weights, model_name=name)
    inputs, x = zb.model_inputs(input_tensor, input_shape, name)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=_BN_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stack, (filters, blocks) in enumerate(zip((64, 128, 256, 512), blocks_per_stack),
                                              start=2):
        x = residual_stack(x, filters, blocks, stride1=1 if stack == 2 else 2,
                           name=f"conv{stack}")

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


def ResNet50(include_top: bool = True, weights: str | None = None,
             input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
             pooling: str | None = None, classes: int = 1000,
             classifier_activation: Identifier = "softmax", name: str = "resnet50") -> Model:
    return _resnet((3, 4, 6, 3), "resnet50", include_top, weights, input_tensor, input_shape,
                   pooling, classes, classifier_activation, name)


def ResNet101(include_top: bool = True, weights: str | None = None,
              input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
              pooling: str | None = None, classes: int = 1000,
              classifier_activation: Identifier = "softmax", name: str = "resnet101") -> Model:
    return _resnet((3, 4, 23, 3), "resnet101", include_top, weights, input_tensor, input_shape,
                   pooling, classes, classifier_activation, name)


def ResNet152(include_top: bool = True, weights: str | None = None,
              input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
              pooling: str | None = None, classes: int = 1000,
              classifier_activation: Identifier = "softmax", name: str = "resnet152") -> Model:
    return _resnet((3, 8, 36, 3), "resnet152", include_top, weights, input_tensor, input_shape,
                   pooling, classes, classifier_activation, name)


ResNet50.__doc__ = "ResNet50: stacks of 3, 4, 6, 3 bottleneck blocks.\n" + \
    _DOC_ARGS.format(stem="resnet50")
ResNet101.__doc__ = "ResNet101: stacks of 3, 4, 23, 3 bottleneck blocks.\n" + \
    _DOC_ARGS.format(stem="resnet101")
ResNet152.__doc__ = "ResNet152: stacks of 3, 8, 36, 3 bottleneck blocks.\n" + \
    _DOC_ARGS.format(stem="resnet152")


def preprocess_input(x, data_format=None):
    """Preprocess images for ResNet: RGB->BGR, then subtract ImageNet's per-channel means.

    Args:
        x: 3-D or 4-D NumPy/JAX array with values in [0, 255] (not modified).
        data_format: None/"channels_last" or "channels_first".

    Returns:
        The preprocessed float array.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


# ImageNet class names for predictions (the same for every family).
decode_predictions = imagenet_utils.decode_predictions


MODELS = {"resnet50": ResNet50, "resnet101": ResNet101, "resnet152": ResNet152}
