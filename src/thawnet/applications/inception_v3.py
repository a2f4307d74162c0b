"""InceptionV3 (Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016), built from
thawnet layers with Keras 3's arguments, layer names and weight order.

Keras leaves most of this network's layers unnamed, so in Keras their names depend on what was
built before in the session. Here every layer gets the name Keras gives it in a fresh session
(``conv2d``, ``conv2d_1``, ..., ``batch_normalization_93``, ``activation_93``), counted per
model: the names never depend on what else was built, and Keras's weight files load by name.
"""

from __future__ import annotations

from thawnet.applications import imagenet_utils
from thawnet.applications._zoo_build import (check_pooling, check_weights_argument,
                                             load_requested_weights, model_inputs,
                                             validate_activation)
from thawnet.layers import (Activation, AveragePooling2D, BatchNormalization, Concatenate,
                            Conv2D, Dense, GlobalAveragePooling2D, GlobalMaxPooling2D, Input,
                            MaxPooling2D)
from thawnet.backend.types import Identifier, ShapeLike, Tensor
from thawnet.models import Model

DEFAULT_SIZE = 299
MIN_SIZE = 75


class KerasNames:
    """Keras's automatic layer names, counted for one model only.

    ``names("conv2d")`` returns ``"conv2d"`` the first time, then ``"conv2d_1"``,
    ``"conv2d_2"``, ... — what Keras 3 gives unnamed layers in a fresh session.
    """

    def __init__(self):
        self._counts = {}

    def __call__(self, base):
        """The next Keras name for ``base`` (a snake-case class name).

        Args:
            base: e.g. ``"conv2d"``, ``"batch_normalization"``.

        Returns:
            ``base`` or ``base_<n>``.
        """
        n = self._counts.get(base, 0)
        self._counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"


class _Builder:
    """Creates InceptionV3's layers in Keras's order, so each gets Keras's automatic name."""

    def __init__(self):
        self.names = KerasNames()

    def conv_bn(self, x, filters, rows, cols, padding="same", strides=(1, 1)):
        """Conv2D without bias, BatchNormalization without scale, ReLU (Keras's conv2d_bn)."""
        x = Conv2D(filters, (rows, cols), strides=strides, padding=padding, use_bias=False,
                   name=self.names("conv2d"))(x)
        x = BatchNormalization(axis=3, scale=False, name=self.names("batch_normalization"))(x)
        return Activation("relu", name=self.names("activation"))(x)

    def max_pool(self, x):
        return MaxPooling2D((3, 3), strides=(2, 2), name=self.names("max_pooling2d"))(x)

    def avg_pool(self, x):
        return AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                name=self.names("average_pooling2d"))(x)

    def concat(self, tensors, name=None):
        return Concatenate(axis=3, name=name or self.names("concatenate"))(tensors)

    # -- the blocks --------------------------------------------------------------------------
    def stem(self, x):
        x = self.conv_bn(x, 32, 3, 3, strides=(2, 2), padding="valid")
        x = self.conv_bn(x, 32, 3, 3, padding="valid")
        x = self.conv_bn(x, 64, 3, 3)
        x = self.max_pool(x)
        x = self.conv_bn(x, 80, 1, 1, padding="valid")
        x = self.conv_bn(x, 192, 3, 3, padding="valid")
        return self.max_pool(x)

    def block_35(self, x, pool_filters, name):
        """mixed0-2: 1x1, 5x5, double 3x3 and pooled branches at 35x35."""
        b1 = self.conv_bn(x, 64, 1, 1)
        b5 = self.conv_bn(self.conv_bn(x, 48, 1, 1), 64, 5, 5)
        b3 = self.conv_bn(x, 64, 1, 1)
        b3 = self.conv_bn(self.conv_bn(b3, 96, 3, 3), 96, 3, 3)
        bp = self.conv_bn(self.avg_pool(x), pool_filters, 1, 1)
        return self.concat([b1, b5, b3, bp], name)

    def reduction_35(self, x):
        """mixed3: 35x35 -> 17x17."""
        b3 = self.conv_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
        bd = self.conv_bn(self.conv_bn(x, 64, 1, 1), 96, 3, 3)
        bd = self.conv_bn(bd, 96, 3, 3, strides=(2, 2), padding="valid")
        return self.concat([b3, bd, self.max_pool(x)], "mixed3")

    def block_17(self, x, width, name):
        """mixed4-7: factorised 7x7 branches of ``width`` channels at 17x17."""
        b1 = self.conv_bn(x, 192, 1, 1)
        b7 = self.conv_bn(x, width, 1, 1)
        b7 = self.conv_bn(self.conv_bn(b7, width, 1, 7), 192, 7, 1)
        bd = self.conv_bn(x, width, 1, 1)
        for rows, cols in ((7, 1), (1, 7), (7, 1)):
            bd = self.conv_bn(bd, width, rows, cols)
        bd = self.conv_bn(bd, 192, 1, 7)
        bp = self.conv_bn(self.avg_pool(x), 192, 1, 1)
        return self.concat([b1, b7, bd, bp], name)

    def reduction_17(self, x):
        """mixed8: 17x17 -> 8x8."""
        b3 = self.conv_bn(self.conv_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2),
                          padding="valid")
        b7 = self.conv_bn(x, 192, 1, 1)
        b7 = self.conv_bn(self.conv_bn(b7, 192, 1, 7), 192, 7, 1)
        b7 = self.conv_bn(b7, 192, 3, 3, strides=(2, 2), padding="valid")
        return self.concat([b3, b7, self.max_pool(x)], "mixed8")

    def block_8(self, x, i):
        """mixed9/mixed10: expanded 1x3 / 3x1 branches at 8x8."""
        b1 = self.conv_bn(x, 320, 1, 1)
        b3 = self.conv_bn(x, 384, 1, 1)
        b3 = self.concat([self.conv_bn(b3, 384, 1, 3), self.conv_bn(b3, 384, 3, 1)],
                         f"mixed9_{i}")
        bd = self.conv_bn(self.conv_bn(x, 448, 1, 1), 384, 3, 3)
        bd = self.concat([self.conv_bn(bd, 384, 1, 3), self.conv_bn(bd, 384, 3, 1)])
        bp = self.conv_bn(self.avg_pool(x), 192, 1, 1)
        return self.concat([b1, b3, bd, bp], f"mixed{9 + i}")

    def features(self, x):
        x = self.stem(x)
        for i, pool_filters in enumerate((32, 64, 64)):
            x = self.block_35(x, pool_filters, f"mixed{i}")
        x = self.reduction_35(x)
        for i, width in enumerate((128, 160, 160, 192)):
            x = self.block_17(x, width, f"mixed{4 + i}")
        x = self.reduction_17(x)
        for i in range(2):
            x = self.block_8(x, i)
        return x


def InceptionV3(include_top: bool = True, weights: str | None = None,
                input_tensor: Tensor | None = None, input_shape: ShapeLike | None = None,
                pooling: str | None = None, classes: int = 1000,
                classifier_activation: Identifier = "softmax", name: str = "inception_v3") -> Model:
    """Instantiate InceptionV3 (Keras 3's architecture, names and weight order).

    No weight is materialised here: the model's weights are created lazily, on first use.

    Args:
        include_top: include the classifier (global average pooling "avg_pool" + Dense
            "predictions"); then the input must be static (default 299x299x3).
        weights: None (random initialisation; the default, unlike Keras, because thawnet never
            downloads), "imagenet" (Keras's file
            ``inception_v3_weights_tf_dim_ordering_tf_kernels[_notop].h5`` from
            ``~/.keras/models/``) or the path of a weights file for ``model.load_weights``.
        input_tensor: optional symbolic tensor to build the model on.
        input_shape: (height, width, 3), each side at least 75; default (299, 299, 3) with the
            top, (None, None, 3) without.
        pooling: without the top: None (4-D feature map), "avg" or "max" (2-D features).
        classes: number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of "predictions" (None for logits).
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model`.

    Raises:
        ValueError: invalid ``weights``, ``classes``, ``pooling`` or ``input_shape``.
        FileNotFoundError: ``weights="imagenet"`` and Keras's file is not in ~/.keras/models.
    """
    check_weights_argument(weights, include_top, classes, "InceptionV3")
    check_pooling(pooling, "InceptionV3")
    if include_top:
        validate_activation(classifier_activation, weights)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=DEFAULT_SIZE, min_size=MIN_SIZE,
        require_flatten=include_top, weights=weights, model_name="InceptionV3")
    builder = _Builder()
    if input_tensor is None:
        inputs = x = Input(shape=input_shape, name=builder.names("input_layer"))
    else:
        inputs, x = model_inputs(input_tensor, input_shape, "InceptionV3")
    x = builder.features(x)
    if include_top:
        x = GlobalAveragePooling2D(name="avg_pool")(x)
        x = Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D(name=builder.names("global_average_pooling2d"))(x)
    elif pooling == "max":
        x = GlobalMaxPooling2D(name=builder.names("global_max_pooling2d"))(x)
    model = Model(inputs, x, name=name)
    return load_requested_weights(model, weights, "inception_v3", include_top)


def preprocess_input(x, data_format=None):
    """Scale pixels from [0, 255] to [-1, 1] (Keras's "tf" mode), as InceptionV3 expects.

    Args:
        x: NumPy or JAX array of images (3-D or 4-D); not modified.
        data_format: None/"channels_last" or "channels_first".

    Returns:
        The scaled array (float).
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


# ImageNet class names for predictions (the same for every family).
decode_predictions = imagenet_utils.decode_predictions


MODELS = {"inception_v3": InceptionV3}

__all__ = ["InceptionV3"]
