"""Xception (Chollet, 2017), as in ``keras.applications.xception``.

Same layer names for the named layers (``block1_conv1``, ``block2_sepconv1``, ...,
``avg_pool``, ``predictions``), shapes and weight order as Keras, so Keras's weight files load.
The shortcut convolutions, their batch norms and the ``add`` layers are unnamed in Keras too
(their automatic names differ: thawnet numbers from 1). Inputs are preprocessed in "tf" mode
(:func:`preprocess_input`): pixels scaled to [-1, 1].
"""

from __future__ import annotations

from thawnet import layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.backend.types import Identifier, ShapeLike, Tensor
from thawnet.models import Model

__all__ = ["Xception"]


def _sepconv_bn(x, filters, name, relu_first):
    """[ReLU ->] SeparableConv2D 3x3 'same' -> BatchNormalization, named after ``name``."""
    if relu_first:
        x = layers.Activation("relu", name=f"{name}_act")(x)
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=-1, name=f"{name}_bn")(x)


def _projection(x, filters):
    """The unnamed strided 1x1 convolution + batch norm on an entry/exit block's shortcut."""
    r = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=-1)(r)


def _downsampling_block(x, block, filters, relu_first):
    """Two separable convs, a strided max pool and a projected shortcut (blocks 2-4, 13).

    Block 2 starts from an activated tensor, so only its second convolution has a ReLU first.
    """
    first, second = filters
    residual = _projection(x, second)
    x = _sepconv_bn(x, first, f"block{block}_sepconv1", relu_first)
    x = _sepconv_bn(x, second, f"block{block}_sepconv2", relu_first=True)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def Xception(include_top: bool = True, weights: str | None = None,
             input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
             pooling: str | None = None, classes: int = 1000,
             classifier_activation: Identifier = "softmax", name: str = "xception") -> Model:
    """Xception: entry flow, 8 middle blocks of separable convolutions, exit flow.

    Args:
        include_top: include the classifier ("avg_pool" + "predictions").
        weights: None (random), "imagenet" (Keras's file ``xception_weights_tf_dim_ordering_
            tf_kernels[_notop].h5`` must be in ``~/.keras/models/``; nothing is downloaded) or
            the path of a weight file to load.
        input_tensor: optional symbolic tensor (from ``thawnet.layers.Input``) to build on.
        input_shape: ``(height, width, channels)``; default ``(299, 299, 3)``, at least 71x71.
        pooling: without the top: None (4-D feature map), "avg" or "max" (global pooling).
        classes: size of the classifier (1000 for ImageNet weights).
        classifier_activation: activation of "predictions" (None gives logits).
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).
    """
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=299, min_size=71, require_flatten=include_top,
        weights=weights, model_name=name)
    inputs, x = zb.model_inputs(input_tensor, input_shape, name)

    # Entry flow.
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(x)
    x = layers.BatchNormalization(axis=-1, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=-1, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    x = _downsampling_block(x, 2, (128, 128), relu_first=False)
    x = _downsampling_block(x, 3, (256, 256), relu_first=True)
    x = _downsampling_block(x, 4, (728, 728), relu_first=True)

    # Middle flow.
    for block in range(5, 13):
        residual = x
        for i in (1, 2, 3):
            x = _sepconv_bn(x, 728, f"block{block}_sepconv{i}", relu_first=True)
        x = layers.add([x, residual])

    # Exit flow.
    x = _downsampling_block(x, 13, (728, 1024), relu_first=True)
    x = layers.SeparableConv2D(1536, (3, 3), padding="same", use_bias=False,
                               name="block14_sepconv1")(x)
    x = layers.BatchNormalization(axis=-1, name="block14_sepconv1_bn")(x)
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = layers.SeparableConv2D(2048, (3, 3), padding="same", use_bias=False,
                               name="block14_sepconv2")(x)
    x = layers.BatchNormalization(axis=-1, name="block14_sepconv2_bn")(x)
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        zb.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Model(inputs, x, name=name)
    return zb.load_requested_weights(model, weights, "xception", include_top)


def preprocess_input(x, data_format=None):
    """Preprocess images for Xception: scale pixels from [0, 255] to [-1, 1].

    Args:
        x: NumPy/JAX array with values in [0, 255] (not modified).
        data_format: None/"channels_last" or "channels_first" (no effect in this mode).

    Returns:
        The preprocessed float array.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


# ImageNet class names for predictions (the same for every family).
decode_predictions = imagenet_utils.decode_predictions


MODELS = {"xception": Xception}
