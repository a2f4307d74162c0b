"""VGG16 and VGG19 (Simonyan & Zisserman, 2015), as in ``keras.applications.vgg16/vgg19``.

Same layer names, shapes and weight order as Keras, so Keras's weight files load. Inputs are
preprocessed in "caffe" mode (:func:`preprocess_input`): RGB->BGR and ImageNet mean subtraction.
"""

from __future__ import annotations

from thawnet import layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.backend.types import Identifier, ShapeLike, Tensor
from thawnet.models import Model

__all__ = ["VGG16", "VGG19"]

_DOC_ARGS = """
    Args:
        include_top: include the 3 fully connected layers ("fc1", "fc2", "predictions").
        weights: None (random), "imagenet" (Keras's file ``{stem}_weights_tf_dim_ordering_tf_
            kernels[_notop].h5`` must be in ``~/.keras/models/``; nothing is downloaded) or the
            path of a weight file to load.
        input_tensor: optional symbolic tensor (from ``thawnet.layers.Input``) to build on.
        input_shape: ``(height, width, channels)``; default ``(224, 224, 3)``, at least
            32x32. With the top, any static shape works for random weights; ImageNet weights
            need exactly ``(224, 224, 3)``.
        pooling: without the top: None (4-D feature map), "avg" or "max" (global pooling).
        classes: size of the classifier (1000 for ImageNet weights).
        classifier_activation: activation of "predictions" (None gives logits).
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).
"""


def _vgg(convs_per_block, stem, include_top, weights, input_tensor, input_shape, pooling,
         classes, classifier_activation, name):
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, require_flatten=include_top,
        weights=weights, model_name=name)
    inputs, x = zb.model_inputs(input_tensor, input_shape, name)
    for block, (filters, n_convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block),
                                               start=1):
        for i in range(1, n_convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        zb.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Model(inputs, x, name=name)
    return zb.load_requested_weights(model, weights, stem, include_top)


def VGG16(include_top: bool = True, weights: str | None = None, input_tensor: Tensor | None = None,
          input_shape: ShapeLike | None = None, pooling: str | None = None, classes: int = 1000,
          classifier_activation: Identifier = "softmax", name: str = "vgg16") -> Model:
    return _vgg((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape,
                pooling, classes, classifier_activation, name)


def VGG19(include_top: bool = True, weights: str | None = None, input_tensor: Tensor | None = None,
          input_shape: ShapeLike | None = None, pooling: str | None = None, classes: int = 1000,
          classifier_activation: Identifier = "softmax", name: str = "vgg19") -> Model:
    return _vgg((2, 2, 4, 4, 4), "vgg19", include_top, weights, input_tensor, input_shape,
                pooling, classes, classifier_activation, name)


VGG16.__doc__ = "VGG16: 13 convolutions in 5 blocks + 3 dense layers.\n" + \
    _DOC_ARGS.format(stem="vgg16")
VGG19.__doc__ = "VGG19: 16 convolutions in 5 blocks + 3 dense layers.\n" + \
    _DOC_ARGS.format(stem="vgg19")


def preprocess_input(x, data_format=None):
    """Preprocess images for VGG: RGB->BGR, then subtract ImageNet's per-channel means.

    Args:
        x: 3-D or 4-D NumPy/JAX array with values in [0, 255] (not modified).
        data_format: None/"channels_last" or "channels_first".

    Returns:
        The preprocessed float array.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


# ImageNet class names for predictions (the same for every family).
decode_predictions = imagenet_utils.decode_predictions


MODELS = {"vgg16": VGG16, "vgg19": VGG19}
