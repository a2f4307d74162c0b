"""EfficientNetV2B0-B3/S/M/L (Tan & Le, 2021), as in ``keras.applications.efficientnet_v2``.

Early stages use fused MBConv blocks (one full kxk convolution instead of 1x1 expand +
depthwise), later ones MBConv blocks with squeeze-and-excite. Preprocessing is part of the
model when ``include_preprocessing=True`` (the default, as in Keras): B0-B3 rescale to [0, 1]
then normalise by ImageNet's mean and variance (constants, no weights); S/M/L rescale to
[-1, 1]. :func:`preprocess_input` is therefore the identity. Keras's layer names, shapes and
weight order, so Keras's weight files load.
"""

from __future__ import annotations

import math

from thawnet import layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.models import Model
from thawnet.backend.types import Identifier, ShapeLike, Tensor

__all__ = ["EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
           "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L"]

_B_BLOCKS = ((3, 1, 32, 16, 1, 0, 1, 1), (3, 2, 16, 32, 4, 0, 2, 1), (3, 2, 32, 48, 4, 0, 2, 1),
             (3, 3, 48, 96, 4, 0.25, 2, 0), (3, 5, 96, 112, 6, 0.25, 1, 0),
             (3, 8, 112, 192, 6, 0.25, 2, 0))
# Per stage: (kernel_size, repeats, input_filters, output_filters, expand_ratio, se_ratio,
# strides, fused (1) or not (0)), Keras's DEFAULT_BLOCKS_ARGS.
BLOCKS = {
    "b0": _B_BLOCKS, "b1": _B_BLOCKS, "b2": _B_BLOCKS, "b3": _B_BLOCKS,
    "s": ((3, 2, 24, 24, 1, 0, 1, 1), (3, 4, 24, 48, 4, 0, 2, 1), (3, 4, 48, 64, 4, 0, 2, 1),
          (3, 6, 64, 128, 4, 0.25, 2, 0), (3, 9, 128, 160, 6, 0.25, 1, 0),
          (3, 15, 160, 256, 6, 0.25, 2, 0)),
    "m": ((3, 3, 24, 24, 1, 0, 1, 1), (3, 5, 24, 48, 4, 0, 2, 1), (3, 5, 48, 80, 4, 0, 2, 1),
          (3, 7, 80, 160, 4, 0.25, 2, 0), (3, 14, 160, 176, 6, 0.25, 1, 0),
          (3, 18, 176, 304, 6, 0.25, 2, 0), (3, 5, 304, 512, 6, 0.25, 1, 0)),
    "l": ((3, 4, 32, 32, 1, 0, 1, 1), (3, 7, 32, 64, 4, 0, 2, 1), (3, 7, 64, 96, 4, 0, 2, 1),
          (3, 10, 96, 192, 4, 0.25, 2, 0), (3, 19, 192, 224, 6, 0.25, 1, 0),
          (3, 25, 224, 384, 6, 0.25, 2, 0), (3, 7, 384, 640, 6, 0.25, 1, 0)),
}
# variant: (width coefficient, depth coefficient, default size)
SCALING = {"b0": (1.0, 1.0, 224), "b1": (1.0, 1.1, 240), "b2": (1.1, 1.2, 260),
           "b3": (1.2, 1.4, 300), "s": (1.0, 1.0, 384), "m": (1.0, 1.0, 480),
           "l": (1.0, 1.0, 480)}

_CONV_INIT = {"class_name": "VarianceScaling",
              "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
_DENSE_INIT = {"class_name": "VarianceScaling",
               "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}


def round_filters(filters, width_coefficient, min_depth=8, depth_divisor=8):
    """Scale a channel count by the width coefficient, rounded to a multiple of 8."""
    filters *= width_coefficient
    return int(max(min_depth or depth_divisor,
                   int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def _se(x, filters, input_filters, se_ratio, activation, name):
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(max(1, int(input_filters * se_ratio)), 1, padding="same",
                       activation=activation, kernel_initializer=_CONV_INIT,
                       name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                       kernel_initializer=_CONV_INIT, name=f"{name}se_expand")(se)
    return layers.Multiply(name=f"{name}se_excite")([x, se])


def _bn(name, momentum):
    return layers.BatchNormalization(axis=3, momentum=momentum, name=name)


def mbconv_block(inputs, input_filters, output_filters, expand_ratio, kernel_size, strides,
                 se_ratio, fused, bn_momentum, activation, drop_rate, name):
    """One (fused) MBConv block, as Keras's ``MBConvBlock`` / ``FusedMBConvBlock``.

    Args:
        inputs: input tensor (channels last).
        input_filters, output_filters: channels in and out.
        expand_ratio: expansion of the first convolution (1: none).
        kernel_size, strides: of the depthwise (MBConv) or full (fused) convolution.
        se_ratio: squeeze-and-excite ratio (0: none).
        fused: a full kxk expand convolution instead of 1x1 expand + depthwise.
        bn_momentum: BatchNormalization momentum.
        activation: activation name ("swish").
        drop_rate: rate of the residual's Dropout (Keras passes ``drop_connect_rate * b /
            blocks`` there; 0 means no Dropout layer).
        name: prefix, e.g. ``"block2a_"``.

    Returns:
        The block's output tensor.
    """
    filters = input_filters * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, kernel_size=kernel_size if fused else 1,
                          strides=strides if fused else 1, kernel_initializer=_CONV_INIT,
                          padding="same", use_bias=False, name=f"{name}expand_conv")(x)
        x = _bn(f"{name}expand_bn", bn_momentum)(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if not fused:
        x = layers.DepthwiseConv2D(kernel_size, strides=strides,
                                   depthwise_initializer=_CONV_INIT, padding="same",
                                   use_bias=False, name=f"{name}dwconv2")(x)
        x = _bn(f"{name}bn", bn_momentum)(x)
        x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = _se(x, filters, input_filters, se_ratio, activation, name)
    project_full = fused and expand_ratio == 1  # the fused block's only convolution
    x = layers.Conv2D(output_filters, kernel_size=kernel_size if project_full else 1,
                      strides=strides if project_full else 1, kernel_initializer=_CONV_INIT,
                      padding="same", use_bias=False, name=f"{name}project_conv")(x)
    x = _bn(f"{name}project_bn", bn_momentum)(x)
    if project_full:
        x = layers.Activation(activation, name=f"{name}project_activation")(x)
    if strides == 1 and input_filters == output_filters:
        if drop_rate:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.Add(name=f"{name}add")([x, inputs])
    return x


def _efficientnet_v2(variant, include_top, weights, input_tensor, input_shape, pooling,
                     classes, classifier_activation, include_preprocessing, name,
                     dropout_rate=0.2, drop_connect_rate=0.2, bn_momentum=0.9,
                     activation="swish"):
    width, depth, default_size = SCALING[variant]
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, require_flatten=include_top,
        weights=weights, model_name=name)
    inputs, x = zb.model_inputs(input_tensor, input_shape, name)
    if include_preprocessing:
        if variant.startswith("b") and input_shape[-1] == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406],
                                     variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2], axis=3)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    stages = BLOCKS[variant]
    x = layers.Conv2D(round_filters(stages[0][2], width), kernel_size=3, strides=2,
                      kernel_initializer=_CONV_INIT, padding="same", use_bias=False,
                      name="stem_conv")(x)
    x = _bn("stem_bn", bn_momentum)(x)
    x = layers.Activation(activation, name="stem_activation")(x)
    total = float(sum(stage[1] for stage in stages))
    b = 0
    for i, (kernel, repeats, f_in, f_out, expand, se_ratio, strides, fused) in \
            enumerate(stages):
        f_in, f_out = round_filters(f_in, width), round_filters(f_out, width)
        for j in range(int(math.ceil(depth * repeats))):
            x = mbconv_block(x, f_in if j == 0 else f_out, f_out, expand, kernel,
                             strides if j == 0 else 1, se_ratio, bool(fused), bn_momentum,
                             activation, drop_connect_rate * b / total,
                             name=f"block{i + 1}{chr(j + 97)}_")
            b += 1
    x = layers.Conv2D(round_filters(1280, width), kernel_size=1, strides=1,
                      kernel_initializer=_CONV_INIT, padding="same", use_bias=False,
                      name="top_conv")(x)
    x = _bn("top_bn", bn_momentum)(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        zb.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=_DENSE_INIT, bias_initializer="zeros",
                         name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(inputs, x, name=name)
    if weights == "imagenet":
        file_name = name + (".h5" if include_top else "_notop.h5")
        model.load_weights(imagenet_utils.imagenet_weights_path(file_name, model.name))
    elif weights is not None:
        model.load_weights(weights)
    return model


_DOC = """EfficientNetV2{title} (default input {size}x{size}).

    Args:
        include_top: include the classifier ("avg_pool", "top_dropout", "predictions").
        weights: None (random), "imagenet" (Keras's file ``efficientnetv2-{variant}[_notop].h5``
            must be in ``~/.keras/models/``; nothing is downloaded) or the path of a weight
            file to load.
        input_tensor: optional symbolic tensor to build on.
        input_shape: ``(height, width, channels)``, at least 32x32.
        pooling: without the top: None, "avg" or "max".
        classes: size of the classifier.
        classifier_activation: activation of "predictions" (None gives logits).
        include_preprocessing: rescale (and for B0-B3 normalise) raw [0, 255] pixels inside.
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).
"""


def _builder(variant):
    title = variant.upper()

    def build(include_top: bool = True, weights: str | None = None,
              input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
              pooling: str | None = None, classes: int = 1000,
              classifier_activation: Identifier = "softmax", include_preprocessing: bool = True,
              name: str = f"efficientnetv2-{variant}") -> Model:
        return _efficientnet_v2(variant, include_top, weights, input_tensor, input_shape,
                                pooling, classes, classifier_activation,
                                include_preprocessing, name)
    build.__name__ = build.__qualname__ = f"EfficientNetV2{title}"
    build.__doc__ = _DOC.format(title=title, size=SCALING[variant][2], variant=variant)
    return build


EfficientNetV2B0 = _builder("b0")
EfficientNetV2B1 = _builder("b1")
EfficientNetV2B2 = _builder("b2")
EfficientNetV2B3 = _builder("b3")
EfficientNetV2S = _builder("s")
EfficientNetV2M = _builder("m")
EfficientNetV2L = _builder("l")


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: the models preprocess their inputs themselves.

    Args:
        x: images with values in [0, 255].
        data_format: ignored (kept for Keras's signature).

    Returns:
        ``x`` unchanged.
    """
    return x


decode_predictions = imagenet_utils.decode_predictions


MODELS = {f"efficientnet_v2{v}": b for v, b in (
    ("b0", EfficientNetV2B0), ("b1", EfficientNetV2B1), ("b2", EfficientNetV2B2),
    ("b3", EfficientNetV2B3), ("s", EfficientNetV2S), ("m", EfficientNetV2M),
    ("l", EfficientNetV2L))}
