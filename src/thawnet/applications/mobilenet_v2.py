"""MobileNetV2 (Sandler et al., 2018: inverted residuals, linear bottlenecks), as in
``keras.applications.mobilenet_v2``.

Same layer names as Keras (``Conv1``, ``bn_Conv1``, ``expanded_conv_depthwise``,
``block_1_expand``, ..., ``Conv_1``, ``out_relu``, ``predictions``), shapes, weight order and
default model name (``mobilenetv2_1.00_224``), so Keras's weight files load. Inputs are
preprocessed in "tf" mode (:func:`preprocess_input`): pixels scaled to [-1, 1].
"""

from __future__ import annotations

import warnings
from thawnet import layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.backend.types import Identifier, ShapeLike, Tensor
from thawnet.models import Model

__all__ = ["MobileNetV2"]

_BN = dict(axis=-1, epsilon=1e-3, momentum=0.999)
# Input sizes Keras publishes ImageNet weights for (square inputs only).
_WEIGHT_SIZES = (96, 128, 160, 192, 224)
_WEIGHT_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# (filters, stride, expansion) of the 17 inverted residual blocks, block_id 0..16.
_BLOCKS = ((16, 1, 1),
           (24, 2, 6), (24, 1, 6),
           (32, 2, 6), (32, 1, 6), (32, 1, 6),
           (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6),
           (96, 1, 6), (96, 1, 6), (96, 1, 6),
           (160, 2, 6), (160, 1, 6), (160, 1, 6),
           (320, 1, 6))


def _make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to a multiple of ``divisor`` without going more than 10% below it.

    Args:
        value: the unrounded channel count (e.g. ``32 * alpha``).
        divisor: the multiple to round to.
        min_value: the smallest result allowed (default ``divisor``).

    Returns:
        The rounded channel count (int).
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def inverted_res_block(x, expansion, stride, alpha, filters, block_id):
    """One inverted residual block: 1x1 expand -> 3x3 depthwise -> 1x1 linear projection.

    Args:
        x: input tensor (channels last).
        expansion: channel expansion factor of the first 1x1 convolution (block 0 has none).
        stride: 1 or 2; stride 2 pads explicitly (Keras's ``correct_pad``) and uses 'valid'.
        alpha: width multiplier applied to ``filters``.
        filters: output channels before ``alpha``.
        block_id: 0 gives the ``expanded_conv_`` prefix, others ``block_{id}_``.

    Returns:
        The block's output tensor (with an identity shortcut ``{prefix}add`` when the shapes
        allow it).
    """
    in_channels = x.shape[-1]
    out_channels = _make_divisible(int(filters * alpha), 8)
    inputs = x
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False,
                          activation=None, name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(**_BN, name=f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=zb.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(**_BN, name=f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, activation=None,
                      name=f"{prefix}project")(x)
    x = layers.BatchNormalization(**_BN, name=f"{prefix}project_BN")(x)
    if in_channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _square_size(shape):
    """Keras's "default size": the side of a square (H, W, C) shape Keras has weights for."""
    if shape is None or len(shape) != 3:
        return 224
    rows, cols = shape[0], shape[1]
    return rows if rows == cols and rows in _WEIGHT_SIZES else 224


def _check_tensor_matches(input_tensor, input_shape, name):
    """Both input_tensor and input_shape given: they must describe the same image shape."""
    got = tuple(input_tensor.shape[1:])
    if len(got) != len(input_shape) or any(
            a is not None and b is not None and a != b for a, b in zip(got, input_shape)):
        raise ValueError(
            f"{name}: input_tensor has shape {tuple(input_tensor.shape)} but input_shape="
            f"{tuple(input_shape)}; they must agree (per sample). Pass only one of them.")


def MobileNetV2(input_shape: ShapeLike | None = None, alpha: float = 1.0, include_top: bool = True,
                weights: str | None = None, input_tensor: Tensor | None = None,
                pooling: str | None = None, classes: int = 1000,
                classifier_activation: Identifier = "softmax", name: str | None = None) -> Model:
    """MobileNetV2: a 3x3 stem, 17 inverted residual blocks and a 1x1 ``Conv_1`` head.

    Args:
        input_shape: ``(height, width, channels)``; default ``(224, 224, 3)``, at least
            32x32. Ignored in favour of ``input_tensor``'s shape when only that is given.
        alpha: width multiplier (0.35, 0.5, 0.75, 1.0, 1.3, 1.4 have ImageNet weights); the
            last convolution widens only for ``alpha > 1``.
        include_top: include the classifier ("global_average_pooling2d" + "predictions").
        weights: None (random), "imagenet" (Keras's file
            ``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}[_no_top].h5``
            must be in ``~/.keras/models/``; nothing is downloaded) or the path of a weight
            file to load.
        input_tensor: optional symbolic tensor (from ``thawnet.layers.Input``) to build on.
        pooling: without the top: None (4-D feature map), "avg" or "max".
        classes: size of the classifier (1000 for ImageNet weights).
        classifier_activation: activation of "predictions" (None gives logits).
        name: the model's name; default ``mobilenetv2_{alpha:.2f}_{rows}`` as in Keras.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).

    Raises:
        ValueError: bad ``weights``/``classes``/``pooling``/``alpha``, or an input smaller
            than 32x32 or of the wrong rank.
        FileNotFoundError: ``weights="imagenet"`` and Keras's file is not in the cache folder.
    """
    who = name or "MobileNetV2"
    zb.check_weights_argument(weights, include_top, classes, who)
    zb.check_pooling(pooling, who)
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha <= 0:
        raise ValueError(f"{who}: alpha must be a positive number (the width multiplier); "
                         f"received alpha={alpha!r}.")
    if input_tensor is not None:  # validated (ValueError unless symbolic) before its shape is read
        inputs, x = zb.model_inputs(input_tensor, input_shape, who)
    if input_shape is not None and input_tensor is not None:
        _check_tensor_matches(input_tensor, tuple(input_shape), who)
    if input_shape is None and input_tensor is not None:
        default_size = _square_size(tuple(input_tensor.shape[1:]))
    else:
        default_size = _square_size(None if input_shape is None else tuple(input_shape))
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, require_flatten=include_top,
        weights=weights, model_name=who)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if alpha not in _WEIGHT_ALPHAS:
            raise ValueError(f"{who}: ImageNet weights exist only for alpha in "
                             f"{_WEIGHT_ALPHAS}; received alpha={alpha}. Use weights=None.")
        if rows != cols or rows not in _WEIGHT_SIZES:
            rows = 224
            warnings.warn(f"{who}: input_shape is undefined, non-square or not one of "
                          f"{_WEIGHT_SIZES}; the weights for 224x224 inputs are loaded.",
                          stacklevel=2)

    if input_tensor is None:
        inputs = x = layers.Input(shape=input_shape, name="input_layer")

    x = layers.Conv2D(_make_divisible(32 * alpha, 8), 3, strides=(2, 2), padding="same",
                      use_bias=False, name="Conv1")(x)
    x = layers.BatchNormalization(**_BN, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = inverted_res_block(x, expansion=expansion, stride=stride, alpha=alpha,
                               filters=filters, block_id=block_id)
    # The width multiplier widens the last convolution but never narrows it (as in the paper).
    last_filters = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(**_BN, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
        zb.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="global_max_pooling2d")(x)
    model = Model(inputs, x, name=name or f"mobilenetv2_{alpha:0.2f}_{rows}")

    if weights == "imagenet":
        file_name = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                     f"{'' if include_top else '_no_top'}.h5")
        model.load_weights(imagenet_utils.imagenet_weights_path(file_name, model.name))
    elif weights is not None:
        model.load_weights(weights)
    return model


def preprocess_input(x, data_format=None):
    """Preprocess images for MobileNetV2 ("tf" mode): scale pixels from [0, 255] to [-1, 1].

    Args:
        x: 3-D or 4-D NumPy/JAX array with values in [0, 255] (not modified).
        data_format: None/"channels_last" or "channels_first".

    Returns:
        The preprocessed float array (``x / 127.5 - 1``).
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


# ImageNet class names for predictions (the same for every family).
decode_predictions = imagenet_utils.decode_predictions


MODELS = {"mobilenet_v2": MobileNetV2}
