"""MobileNetV3Small/Large (Howard et al., 2019), as in ``keras.applications.mobilenet_v3``.

Inverted residual blocks with optional squeeze-and-excite (a hard-sigmoid gate) and the hard
swish activation (``x * relu6(x + 3) / 6``); ``minimalistic=True`` swaps those for ReLU, 3x3
kernels and no squeeze-and-excite. With ``include_preprocessing=True`` (the default, as in
Keras) the model starts with ``Rescaling(1/127.5, offset=-1)``, so it takes raw [0, 255]
pixels and :func:`preprocess_input` is the identity. Same layer names, shapes and weight order
as Keras, so Keras's weight files load.
"""

from __future__ import annotations

import warnings
from thawnet import layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.models import Model
from thawnet.backend.types import Identifier, ShapeLike, Tensor

__all__ = ["MobileNetV3Small", "MobileNetV3Large"]

_BN = dict(axis=-1, epsilon=1e-3, momentum=0.999)

# (expansion, filters, kernel ("k" = the model's kernel), stride, squeeze-excite, activation
# ("hs" = the model's activation, "relu")) of each block, block_id 0.., as in Keras.
_SMALL = ((1, 16, 3, 2, True, "relu"), (72 / 16, 24, 3, 2, False, "relu"),
          (88 / 24, 24, 3, 1, False, "relu"), (4, 40, "k", 2, True, "hs"),
          (6, 40, "k", 1, True, "hs"), (6, 40, "k", 1, True, "hs"), (3, 48, "k", 1, True, "hs"),
          (3, 48, "k", 1, True, "hs"), (6, 96, "k", 2, True, "hs"), (6, 96, "k", 1, True, "hs"),
          (6, 96, "k", 1, True, "hs"))
_LARGE = ((1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"),
          (3, 24, 3, 1, False, "relu"), (3, 40, "k", 2, True, "relu"),
          (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
          (6, 80, 3, 2, False, "hs"), (2.5, 80, 3, 1, False, "hs"), (2.3, 80, 3, 1, False, "hs"),
          (2.3, 80, 3, 1, False, "hs"), (6, 112, 3, 1, True, "hs"), (6, 112, 3, 1, True, "hs"),
          (6, 160, "k", 2, True, "hs"), (6, 160, "k", 1, True, "hs"),
          (6, 160, "k", 1, True, "hs"))


def _depth(value, divisor=8):
    """Round a channel count to a multiple of 8, never more than 10% below it (Keras's rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _relu(x):
    return layers.ReLU()(x)


def _hard_swish(x):
    return layers.Activation("hard_swish")(x)


def _hard_sigmoid(x):
    # Keras writes it with ops on the tensor (relu6(x + 3) / 6), so the same graph here.
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _se_block(inputs, filters, se_ratio, prefix):
    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(
        inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), 1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = _hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation,
                       block_id):
    """One MobileNetV3 block: 1x1 expand (not block 0) -> depthwise -> [SE] -> 1x1 project.

    Args:
        x: input tensor (channels last).
        expansion: expansion factor of the 1x1 convolution.
        filters: output channels.
        kernel_size: depthwise kernel size.
        stride: 1 or 2 (2 pads explicitly with Keras's ``correct_pad``, then 'valid').
        se_ratio: squeeze-and-excite ratio, or None for none.
        activation: a function of a tensor (``_relu`` or ``_hard_swish``).
        block_id: 0 gives the ``expanded_conv_`` prefix, others ``expanded_conv_{id}_``.

    Returns:
        The block's output (with the residual added when shapes allow).
    """
    shortcut, infilters = x, x.shape[-1]
    prefix = "expanded_conv_"
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(_depth(infilters * expansion), 1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(**_BN, name=f"{prefix}expand_bn")(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=zb.correct_pad(x, kernel_size),
                                 name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride,
                               padding="same" if stride == 1 else "valid", use_bias=False,
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(**_BN, name=f"{prefix}depthwise_bn")(x)
    x = activation(x)
    if se_ratio:
        x = _se_block(x, _depth(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(**_BN, name=f"{prefix}project_bn")(x)
    if stride == 1 and infilters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _check_imagenet(weights, alpha, minimalistic, input_shape, name):
    if weights != "imagenet":
        return
    if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
        raise ValueError(f"{name}: with weights='imagenet', alpha must be 0.75 or 1.0 (1.0 "
                         f"only when minimalistic=True); received alpha={alpha}, "
                         f"minimalistic={minimalistic}. Use weights=None for other widths.")
    rows, cols = input_shape[0], input_shape[1]
    if rows != cols or rows != 224:
        warnings.warn(f"{name}: `input_shape` is undefined or non-square, or `rows` is not "
                      "224. Weights for input shape (224, 224) will be loaded as the default.",
                      stacklevel=3)


def _mobilenet_v3(blocks, last_point_ch, model_type, input_shape, alpha, minimalistic,
                  include_top, weights, input_tensor, classes, pooling, dropout_rate,
                  classifier_activation, include_preprocessing, name):
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    if input_shape is None:
        input_shape = ((None, None, 3) if input_tensor is None
                       else (input_tensor.shape[1], input_tensor.shape[2], 3))
    input_shape = tuple(input_shape)
    rows, cols = input_shape[0], input_shape[1]
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(f"{name}: Input size must be at least 32x32; Received "
                         f"`input_shape={input_shape}`")
    _check_imagenet(weights, alpha, minimalistic, input_shape, name)
    inputs, x = zb.model_inputs(input_tensor, input_shape, name)

    kernel, activation, se_ratio = ((3, _relu, None) if minimalistic
                                    else (5, _hard_swish, 0.25))
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, 3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = layers.BatchNormalization(**_BN, name="conv_bn")(x)
    x = activation(x)
    for block_id, (expansion, filters, k, stride, se, act) in enumerate(blocks):
        x = inverted_res_block(x, expansion, _depth(filters * alpha), kernel if k == "k" else k,
                               stride, se_ratio if se else None,
                               activation if act == "hs" else _relu, block_id)
    last_conv_ch = _depth(x.shape[-1] * 6)
    if alpha > 1.0:
        last_point_ch = _depth(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, 1, padding="same", use_bias=False, name="conv_1")(x)
    x = layers.BatchNormalization(**_BN, name="conv_1_bn")(x)
    x = activation(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, 1, padding="same", use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, 1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        zb.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(inputs, x, name=name)
    if weights == "imagenet":
        stem = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
        file_name = (f"weights_mobilenet_v3_{stem}.h5" if include_top
                     else f"weights_mobilenet_v3_{stem}_no_top_v2.h5")
        model.load_weights(imagenet_utils.imagenet_weights_path(file_name, model.name))
    elif weights is not None:
        model.load_weights(weights)
    return model


_DOC = """{name}: MobileNetV3, the {size} variant.

    Args:
        input_shape: ``(height, width, 3)``; default ``(None, None, 3)``; at least 32x32.
        alpha: width multiplier of every block (ImageNet weights: 0.75 or 1.0).
        minimalistic: ReLU, 3x3 kernels and no squeeze-and-excite.
        include_top: include the classifier (``conv_2``, dropout, ``logits``, ``predictions``).
        weights: None (random), "imagenet" (Keras's file must be in ``~/.keras/models/``;
            nothing is downloaded) or the path of a weight file to load.
        input_tensor: optional symbolic tensor to build on.
        classes: size of the classifier.
        pooling: without the top: None, "avg" or "max".
        dropout_rate: dropout before ``logits``.
        classifier_activation: activation of "predictions" (None gives logits).
        include_preprocessing: start with ``Rescaling(1/127.5, offset=-1)`` (raw pixels in).
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).
"""


def MobileNetV3Small(input_shape: ShapeLike | None = None, alpha: float = 1.0,
                     minimalistic: bool = False, include_top: bool = True,
                     weights: str | None = None, input_tensor: Tensor | None = None,
                     classes: int = 1000, pooling: str | None = None, dropout_rate: float = 0.2,
                     classifier_activation: Identifier = "softmax",
                     include_preprocessing: bool = True, name: str = "MobileNetV3Small") -> Model:
    return _mobilenet_v3(_SMALL, 1024, "small", input_shape, alpha, minimalistic, include_top,
                         weights, input_tensor, classes, pooling, dropout_rate,
                         classifier_activation, include_preprocessing, name)


def MobileNetV3Large(input_shape: ShapeLike | None = None, alpha: float = 1.0,
                     minimalistic: bool = False, include_top: bool = True,
                     weights: str | None = None, input_tensor: Tensor | None = None,
                     classes: int = 1000, pooling: str | None = None, dropout_rate: float = 0.2,
                     classifier_activation: Identifier = "softmax",
                     include_preprocessing: bool = True, name: str = "MobileNetV3Large") -> Model:
    return _mobilenet_v3(_LARGE, 1280, "large", input_shape, alpha, minimalistic, include_top,
                         weights, input_tensor, classes, pooling, dropout_rate,
                         classifier_activation, include_preprocessing, name)


MobileNetV3Small.__doc__ = _DOC.format(name="MobileNetV3Small", size="small")
MobileNetV3Large.__doc__ = _DOC.format(name="MobileNetV3Large", size="large")


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: the models rescale their inputs themselves
    (``include_preprocessing=True``).

    Args:
        x: images with values in [0, 255].
        data_format: ignored (kept for Keras's signature).

    Returns:
        ``x`` unchanged.
    """
    return x


decode_predictions = imagenet_utils.decode_predictions


MODELS = {"mobilenet_v3_small": MobileNetV3Small, "mobilenet_v3_large": MobileNetV3Large,
          "mobilenetv3small": MobileNetV3Small, "mobilenetv3large": MobileNetV3Large}
