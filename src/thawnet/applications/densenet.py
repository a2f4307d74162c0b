"""DenseNet121/169/201 (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017),
built from thawnet layers with Keras 3's arguments, layer names and weight order.

Keras names nearly every DenseNet layer itself (``conv2_block1_0_bn``, ``pool2_conv``, ...);
the two unnamed ZeroPadding2D layers get Keras's fresh-session names (``zero_padding2d``,
``zero_padding2d_1``), counted per model so they never depend on what else was built.
"""

from __future__ import annotations

from thawnet.applications import imagenet_utils
from thawnet.applications._zoo_build import (check_pooling, check_weights_argument,
                                             load_requested_weights, model_inputs,
                                             validate_activation)
from thawnet.applications.inception_v3 import KerasNames
from thawnet.backend.types import Identifier, ShapeLike, Tensor
from thawnet.layers import (Activation, AveragePooling2D, BatchNormalization, Concatenate,
                            Conv2D, Dense, GlobalAveragePooling2D, GlobalMaxPooling2D, Input,
                            MaxPooling2D, ZeroPadding2D)
from thawnet.models import Model

DEFAULT_SIZE = 224
MIN_SIZE = 32
GROWTH_RATE = 32
_EPSILON = 1.001e-5
# Blocks per dense block, and Keras's weight-file stem, for each depth.
_VARIANTS = {121: ((6, 12, 24, 16), "densenet121"),
             169: ((6, 12, 32, 32), "densenet169"),
             201: ((6, 12, 48, 32), "densenet201")}


def _bn_relu(x, prefix):
    x = BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{prefix}_bn")(x)
    return Activation("relu", name=f"{prefix}_relu")(x)


def _conv_block(x, name):
    """One dense layer: BN-ReLU-1x1 conv (4*growth) then BN-ReLU-3x3 conv (growth), whose
    output is concatenated to its input."""
    y = _bn_relu(x, f"{name}_0")
    y = Conv2D(4 * GROWTH_RATE, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = Conv2D(GROWTH_RATE, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return Concatenate(axis=3, name=f"{name}_concat")([x, y])


def _transition_block(x, name, reduction=0.5):
    """BN-ReLU, a 1x1 conv keeping ``reduction`` of the channels, 2x2 average pooling."""
    x = _bn_relu(x, name)
    x = Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def DenseNet(blocks, include_top=True, weights=None, input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="densenet",
             weights_stem=None):
    """Instantiate a DenseNet with ``blocks`` conv blocks in each of its four dense blocks.

    No weight is materialised here: the model's weights are created lazily, on first use.

    Args:
        blocks: four ints, e.g. ``(6, 12, 24, 16)`` for DenseNet121.
        include_top: include the classifier (global average pooling "avg_pool" + Dense
            "predictions"); then the input must be static (default 224x224x3).
        weights: None (random; the default, because thawnet never downloads), "imagenet"
            (Keras's file ``<stem>_weights_tf_dim_ordering_tf_kernels[_notop].h5`` from
            ``~/.keras/models/``) or the path of a weights file for ``model.load_weights``.
        input_tensor: optional symbolic tensor to build the model on.
        input_shape: (height, width, 3), each side at least 32; default (224, 224, 3) with the
            top, (None, None, 3) without.
        pooling: without the top: None (4-D feature map), "avg" ("avg_pool") or "max"
            ("max_pool").
        classes: number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of "predictions" (None for logits).
        name: the model's name.
        weights_stem: Keras's weight-file prefix (``"densenet121"``); needed for "imagenet".

    Returns:
        A functional :class:`thawnet.models.Model`.

    Raises:
        ValueError: invalid ``weights``, ``classes``, ``pooling``, ``input_shape``, or
            "imagenet" for a depth Keras publishes no weights for.
        FileNotFoundError: ``weights="imagenet"`` and Keras's file is not in ~/.keras/models.
    """
    check_weights_argument(weights, include_top, classes, name)
    check_pooling(pooling, name)
    if weights == "imagenet" and weights_stem is None:
        raise ValueError(
            f"{name}: Keras publishes ImageNet weights only for DenseNet121/169/201 (blocks "
            f"{', '.join(str(b) for b, _ in _VARIANTS.values())}); received blocks={blocks}. "
            "Pass weights=None or the path of your own weights file.")
    if include_top:
        validate_activation(classifier_activation, weights)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=DEFAULT_SIZE, min_size=MIN_SIZE,
        require_flatten=include_top, weights=weights, model_name=name)
    names = KerasNames()
    if input_tensor is None:
        inputs = x = Input(shape=input_shape, name=names("input_layer"))
    else:
        inputs, x = model_inputs(input_tensor, input_shape, name)
    x = ZeroPadding2D(((3, 3), (3, 3)), name=names("zero_padding2d"))(x)
    x = Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn_relu(x, "conv1")
    x = ZeroPadding2D(((1, 1), (1, 1)), name=names("zero_padding2d"))(x)
    x = MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks, start=2):
        for i in range(count):
            x = _conv_block(x, f"conv{stage}_block{i + 1}")
        if stage < 5:
            x = _transition_block(x, f"pool{stage}")
    x = BatchNormalization(axis=3, epsilon=_EPSILON, name="bn")(x)
    x = Activation("relu", name="relu")(x)
    if include_top:
        x = GlobalAveragePooling2D(name="avg_pool")(x)
        x = Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = GlobalMaxPooling2D(name="max_pool")(x)
    model = Model(inputs, x, name=name)
    return load_requested_weights(model, weights, weights_stem, include_top)


def _variant(depth):
    blocks, stem = _VARIANTS[depth]

    def builder(include_top: bool = True, weights: str | None = None,
                input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
                pooling: str | None = None, classes: int = 1000,
                classifier_activation: Identifier = "softmax", name: str = f"densenet{depth}"
                ) -> Model:
        return DenseNet(blocks, include_top, weights, input_tensor, input_shape, pooling,
                        classes, classifier_activation, name=name, weights_stem=stem)

    builder.__name__ = builder.__qualname__ = f"DenseNet{depth}"
    builder.__doc__ = (
        f"Instantiate DenseNet{depth} (dense blocks of {blocks} conv blocks), Keras 3's "
        "architecture, names and weight order.\n\n"
        "    Args:\n        include_top, weights, input_tensor, input_shape, pooling, classes,\n"
        "        classifier_activation, name: as for :func:`DenseNet` (weights=None by "
        f"default;\n        'imagenet' reads {stem}_weights_tf_dim_ordering_tf_kernels"
        "[_notop].h5\n        from ~/.keras/models/).\n\n"
        "    Returns:\n        A functional :class:`thawnet.models.Model`.\n")
    return builder


DenseNet121 = _variant(121)
DenseNet169 = _variant(169)
DenseNet201 = _variant(201)


def preprocess_input(x, data_format=None):
    """Scale pixels to [0, 1], then normalise each channel by ImageNet's mean and std (Keras's
    "torch" mode), as DenseNet expects.

    Args:
        x: NumPy or JAX array of RGB images (3-D or 4-D) in [0, 255]; not modified.
        data_format: None/"channels_last" or "channels_first".

    Returns:
        The normalised array (float).
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


# ImageNet class names for predictions (the same for every family).
decode_predictions = imagenet_utils.decode_predictions


MODELS = {"densenet121": DenseNet121, "densenet169": DenseNet169, "densenet201": DenseNet201}

__all__ = ["DenseNet121", "DenseNet169", "DenseNet201"]
