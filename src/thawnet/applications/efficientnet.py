"""EfficientNet B0-B7 (Tan & Le, 2019), as in ``keras.applications.efficientnet``.

Same layer names as Keras (``rescaling``, ``normalization``, ``stem_conv``, ``block1a_dwconv``,
``block2b_drop``, ..., ``top_conv``, ``avg_pool``, ``predictions``), shapes, initializers and
weight order, so Keras's weight files load. Preprocessing is built into the model: a
``Rescaling(1/255)`` and a ``Normalization`` whose (non-trainable) mean/variance/count weights
hold ImageNet's statistics once weights are loaded; :func:`preprocess_input` is the identity.
"""

from __future__ import annotations

import copy
import math
from thawnet import layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.backend.types import Identifier, ShapeLike, Tensor
from thawnet.models import Model

__all__ = ["EfficientNet", "EfficientNetB0", "EfficientNetB1", "EfficientNetB2",
           "EfficientNetB3", "EfficientNetB4", "EfficientNetB5", "EfficientNetB6",
           "EfficientNetB7"]

IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out",
                                      "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out",
                                       "distribution": "uniform"}}


def _stage(kernel_size, repeats, filters_in, filters_out, expand_ratio, strides):
    return {"kernel_size": kernel_size, "repeats": repeats, "filters_in": filters_in,
            "filters_out": filters_out, "expand_ratio": expand_ratio, "id_skip": True,
            "strides": strides, "se_ratio": 0.25}


# The seven stages of EfficientNet-B0; other variants scale widths and repeats.
DEFAULT_BLOCKS_ARGS = [
    _stage(3, 1, 32, 16, 1, 1), _stage(3, 2, 16, 24, 6, 2), _stage(5, 2, 24, 40, 6, 2),
    _stage(3, 3, 40, 80, 6, 2), _stage(5, 3, 80, 112, 6, 1), _stage(5, 4, 112, 192, 6, 2),
    _stage(3, 1, 192, 320, 6, 1),
]

# name: (width_coefficient, depth_coefficient, default_size, dropout_rate)
SCALING = {
    "b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5),
}


def block(inputs, activation="swish", drop_rate=0.0, name="", filters_in=32, filters_out=16,
          kernel_size=3, strides=1, expand_ratio=1, se_ratio=0.0, id_skip=True):
    """One MBConv block: 1x1 expand, depthwise conv, squeeze-and-excite, 1x1 projection.

    Args:
        inputs: input tensor (channels last).
        activation: activation of the expand/depthwise/SE-reduce layers.
        drop_rate: rate of the per-sample ``{name}drop`` Dropout (stochastic depth) before the
            residual add; 0 adds no Dropout layer.
        name: block prefix, e.g. ``"block2a_"``.
        filters_in: input channels.
        filters_out: output channels.
        kernel_size: depthwise kernel size.
        strides: depthwise stride; 2 pads explicitly (``{name}dwconv_pad``) and uses 'valid'.
        expand_ratio: channel expansion of the first 1x1 convolution (1 skips it).
        se_ratio: squeeze ratio relative to ``filters_in`` (0 skips squeeze-and-excite).
        id_skip: add the identity shortcut when stride is 1 and channels match.

    Returns:
        The block's output tensor.
    """
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False,
                          kernel_initializer=CONV_KERNEL_INITIALIZER,
                          name=f"{name}expand_conv")(inputs)
        x = layers.BatchNormalization(axis=3, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    else:
        x = inputs
    if strides == 2:
        x = layers.ZeroPadding2D(padding=zb.correct_pad(x, kernel_size),
                                 name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides,
                               padding="valid" if strides == 2 else "same", use_bias=False,
                               depthwise_initializer=CONV_KERNEL_INITIALIZER,
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        filters_se = max(1, int(filters_in * se_ratio))
        se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
        se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
        se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                           kernel_initializer=CONV_KERNEL_INITIALIZER,
                           name=f"{name}se_reduce")(se)
        se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                           kernel_initializer=CONV_KERNEL_INITIALIZER,
                           name=f"{name}se_expand")(se)
        x = layers.multiply([x, se], name=f"{name}se_excite")
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER,
                      name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def EfficientNet(width_coefficient: float, depth_coefficient: float, default_size: int,
                 dropout_rate: float = 0.2, drop_connect_rate: float = 0.2, depth_divisor: int = 8,
                 activation: Identifier = "swish", blocks_args: str = "default",
                 name: str = "efficientnet", include_top: bool = True, weights: str | None = None,
                 input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
                 pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Identifier = "softmax", weights_name: str = None) -> Model:
    """The generic EfficientNet builder behind :func:`EfficientNetB0` ... ``B7``.

    Args:
        width_coefficient: channel multiplier (rounded to ``depth_divisor``).
        depth_coefficient: repeat multiplier (rounded up).
        default_size: default input height/width.
        dropout_rate: rate of "top_dropout" before the classifier (0 omits it).
        drop_connect_rate: stochastic-depth rate, growing linearly over the blocks.
        depth_divisor: channel counts are multiples of this.
        activation: activation used throughout (Keras: "swish").
        blocks_args: "default" (:data:`DEFAULT_BLOCKS_ARGS`) or a list of stage dicts.
        name: the model's name.
        include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation: as in :func:`EfficientNetB0`.
        weights_name: "b0".."b7" (accepted for Keras's signature; the ImageNet file is
            named after ``name``, as in Keras).

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).

    Raises:
        ValueError: bad ``weights``/``classes``/``pooling``/``blocks_args``, or an input
            smaller than 32x32.
        FileNotFoundError: ``weights="imagenet"`` and ``{name}[_notop].h5`` is not in
            ``~/.keras/models/``.
    """
    blocks_args = DEFAULT_BLOCKS_ARGS if blocks_args == "default" else blocks_args
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, require_flatten=include_top,
        weights=weights, model_name=name)
    if input_tensor is None:
        inputs = x = layers.Input(shape=input_shape, name="input_layer")
    else:
        inputs, x = zb.model_inputs(input_tensor, input_shape, name)

    def round_filters(filters, divisor=depth_divisor):
        filters *= width_coefficient
        rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
        return int(rounded + divisor if rounded < 0.9 * filters else rounded)

    def round_repeats(repeats):
        return int(math.ceil(depth_coefficient * repeats))

    # Built-in preprocessing; the auto names are those of a fresh Keras session.
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(x)
    x = layers.Normalization(axis=3, name="normalization")(x)
    if weights == "imagenet":
        # Keras's files store std**2 as the variance but the original model divides by the
        # variance itself: a second rescaling by 1/sqrt(std) makes up the difference.
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB],
                             name="rescaling_1")(x)
    x = layers.ZeroPadding2D(padding=zb.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(round_filters(32), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=3, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    blocks_args = copy.deepcopy(blocks_args)
    total = float(sum(round_repeats(args["repeats"]) for args in blocks_args))
    b = 0
    for i, args in enumerate(blocks_args):
        if args["repeats"] <= 0:
            raise ValueError(f"{name}: every stage of blocks_args needs repeats > 0; stage {i} "
                             f"has repeats={args['repeats']}.")
        args["filters_in"] = round_filters(args["filters_in"])
        args["filters_out"] = round_filters(args["filters_out"])
        for j in range(round_repeats(args.pop("repeats"))):
            if j > 0:
                args["strides"] = 1
                args["filters_in"] = args["filters_out"]
            x = block(x, activation, drop_connect_rate * b / total,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)
            b += 1

    x = layers.Conv2D(round_filters(1280), 1, padding="same", use_bias=False,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=3, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        zb.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=DENSE_KERNEL_INITIALIZER, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(inputs, x, name=name)

    if weights == "imagenet":
        # Keras names the file after the model ("efficientnetb0.h5", "..._notop.h5").
        file_name = f"{name}{'.h5' if include_top else '_notop.h5'}"
        model.load_weights(imagenet_utils.imagenet_weights_path(file_name, name))
    elif weights is not None:
        model.load_weights(weights)
    return model


def _variant(key):
    width, depth, size, dropout = SCALING[key]

    def builder(include_top: bool = True, weights: str | None = None,
                input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
                pooling: str | None = None, classes: int = 1000,
                classifier_activation: Identifier = "softmax", name: str = f"efficientnet{key}",
                *, dropout_rate: float = dropout, drop_connect_rate: float = 0.2) -> Model:
        return EfficientNet(width, depth, size, dropout_rate, drop_connect_rate, name=name,
                            include_top=include_top, weights=weights, input_tensor=input_tensor,
                            input_shape=input_shape, pooling=pooling, classes=classes,
                            classifier_activation=classifier_activation, weights_name=key)

    builder.__name__ = builder.__qualname__ = f"EfficientNet{key.upper()}"
    builder.__doc__ = f"""EfficientNet{key.upper()}: width x{width}, depth x{depth}, {size}px input.

    Args:
        include_top: include the classifier ("avg_pool", "top_dropout", "predictions").
        weights: None (random), "imagenet" (Keras's file ``efficientnet{key}.h5`` or
            ``efficientnet{key}_notop.h5`` must be in ``~/.keras/models/``; nothing is
            downloaded) or the path of a weight file to load.
        input_tensor: optional symbolic tensor (from ``thawnet.layers.Input``) to build on.
        input_shape: ``(height, width, channels)``; default ``({size}, {size}, 3)``, at least
            32x32. Inputs are raw pixels in [0, 255]: the model rescales and normalises them.
        pooling: without the top: None (4-D feature map), "avg" ("avg_pool") or "max"
            ("max_pool").
        classes: size of the classifier (1000 for ImageNet weights).
        classifier_activation: activation of "predictions" (None gives logits).
        name: the model's name.
        dropout_rate: rate of "top_dropout" (keyword only; default {dropout}).
        drop_connect_rate: stochastic-depth rate of the blocks' Dropout (keyword only).

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).
    """
    return builder


EfficientNetB0 = _variant("b0")
EfficientNetB1 = _variant("b1")
EfficientNetB2 = _variant("b2")
EfficientNetB3 = _variant("b3")
EfficientNetB4 = _variant("b4")
EfficientNetB5 = _variant("b5")
EfficientNetB6 = _variant("b6")
EfficientNetB7 = _variant("b7")


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: EfficientNet rescales and normalises inside the model.

    Args:
        x: images with values in [0, 255] (NumPy or JAX array).
        data_format: unused (kept for the common signature).

    Returns:
        ``x`` unchanged.
    """
    return x


# ImageNet class names for predictions (the same for every family).
decode_predictions = imagenet_utils.decode_predictions


MODELS = {f"efficientnet_{key}": globals()[f"EfficientNet{key.upper()}"] for key in SCALING}
