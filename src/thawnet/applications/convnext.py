"""ConvNeXtTiny/Small/Base/Large/XLarge (Liu et al., 2022), as in ``keras.applications.convnext``.

A patchify stem (4x4 convolution, stride 4) and three downsampling blocks (each a small
Sequential, as in Keras), between which stages of ConvNeXt blocks run: 7x7 depthwise
convolution -> LayerNormalization -> Dense(4d) -> GELU -> Dense(d) -> LayerScale, added to the
block's input. The LayerScale ``gamma`` vectors are **parameters** (trained, counted as
trainable, as in Keras). With ``include_preprocessing=True`` the model starts with a
Normalization by ImageNet's mean and variance (constants, no weights), so it takes raw [0, 255]
pixels and :func:`preprocess_input` is the identity. Keras's names, shapes and weight order,
so Keras's weight files load.
"""

from __future__ import annotations

from thawnet import initializers, layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.layers.layer import Layer, register
from thawnet.models import Model, Sequential
from thawnet.backend.types import Identifier, ShapeLike, Tensor

__all__ = ["ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"]

# variant: (blocks per stage, channels per stage)
MODEL_CONFIGS = {
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
}


@register
class LayerScale(Layer):
    """Multiplies by a learned per-channel vector ``gamma`` (Touvron et al., 2021).

    Weights: ``gamma`` is created by ``add_weight`` without a name, as in Keras (so its name
    is ``variable``), a parameter of shape ``(projection_dim,)`` initialised to
    ``init_values``.

    Args:
        init_values: the initial value of every entry of ``gamma`` (1e-6 in ConvNeXt).
        projection_dim: the number of channels.
    """

    def __init__(self, init_values: float, projection_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        # A parameter: trained by the optimizer like any kernel.
        self.gamma = self.add_weight(shape=(self.projection_dim,),
                                     initializer=initializers.Constant(self.init_values),
                                     trainable=True)

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, x):
        return x * self.gamma.value.astype(x.dtype)

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}


def convnext_block(x, projection_dim, layer_scale_init_value=1e-6, name=None):
    """One ConvNeXt block (no stochastic depth: Keras's builders use a rate of 0).

    Args:
        x: input tensor (channels last, ``projection_dim`` channels).
        projection_dim: the stage's channels.
        layer_scale_init_value: initial LayerScale value, or None for no LayerScale.
        name: block prefix, e.g. ``"convnext_tiny_stage_0_block_0"``.

    Returns:
        ``x + block(x)``.
    """
    inputs = x
    x = layers.Conv2D(projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                      name=f"{name}_depthwise_conv")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
    x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
    if layer_scale_init_value is not None:
        x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
    return inputs + layers.Activation("linear", name=f"{name}_identity")(x)


def _convnext(variant, include_top, include_preprocessing, weights, input_tensor, input_shape,
              pooling, classes, classifier_activation, name):
    depths, dims = MODEL_CONFIGS[variant]
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    if weights == "imagenet" and f"convnext_{variant}" not in name:
        raise ValueError(f'Model name "{name}" does not match weights variant '
                         f'"convnext_{variant}". When using imagenet weights, model name must '
                         f'contain the weights variant (e.g., "convnext_{variant}").')
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, require_flatten=include_top,
        weights=weights, model_name=name)
    inputs, x = zb.model_inputs(input_tensor, input_shape, name)

    if include_preprocessing and input_shape[-1] == 3:
        x = layers.Normalization(
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
            name=f"{name}_prestem_normalization")(x)
    downsample = [Sequential([
        layers.Conv2D(dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm")],
        name=f"{name}_stem")]
    for i in range(3):
        downsample.append(Sequential([
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i}"),
            layers.Conv2D(dims[i + 1], kernel_size=2, strides=2,
                          name=f"{name}_downsampling_conv_{i}")],
            name=f"{name}_downsampling_block_{i}"))
    for stage in range(4):
        x = downsample[stage](x)
        for j in range(depths[stage]):
            x = convnext_block(x, dims[stage], name=f"{name}_stage_{stage}_block_{j}")

    if include_top:
        zb.validate_activation(classifier_activation, weights)
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:
        if pooling == "avg":
            x = layers.GlobalAveragePooling2D()(x)
        elif pooling == "max":
            x = layers.GlobalMaxPooling2D()(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    model = Model(inputs, x, name=name)
    if weights == "imagenet":
        file_name = name + (".h5" if include_top else "_notop.h5")
        model.load_weights(imagenet_utils.imagenet_weights_path(file_name, model.name))
    elif weights is not None:
        model.load_weights(weights)
    return model


_DOC = """ConvNeXt{title}: stages of {depths} blocks with {dims} channels.

    Args:
        include_top: include the head (``*_head_gap``, ``*_head_layernorm``, ``*_head_dense``).
        include_preprocessing: start with ImageNet mean/variance Normalization (raw pixels in).
        weights: None (random), "imagenet" (Keras's file ``{name}[_notop].h5`` must be in
            ``~/.keras/models/``; nothing is downloaded) or the path of a weight file.
        input_tensor: optional symbolic tensor to build on.
        input_shape: ``(height, width, channels)``; default ``(224, 224, 3)``, at least 32x32.
        pooling: without the top: None, "avg" or "max" (a LayerNormalization follows, as in
            Keras).
        classes: size of the classifier.
        classifier_activation: activation of the head (None gives logits).
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).
"""


def _builder(variant, title):
    def build(include_top: bool = True, include_preprocessing: bool = True,
              weights: str | None = None, input_tensor: Tensor | None = None,
              input_shape: ShapeLike | None = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Identifier = "softmax", name: str = f"convnext_{variant}"
              ) -> Model:
        return _convnext(variant, include_top, include_preprocessing, weights, input_tensor,
                         input_shape, pooling, classes, classifier_activation, name)
    build.__name__ = build.__qualname__ = f"ConvNeXt{title}"
    depths, dims = MODEL_CONFIGS[variant]
    build.__doc__ = _DOC.format(title=title, depths=depths, dims=dims,
                                name=f"convnext_{variant}")
    return build


ConvNeXtTiny = _builder("tiny", "Tiny")
ConvNeXtSmall = _builder("small", "Small")
ConvNeXtBase = _builder("base", "Base")
ConvNeXtLarge = _builder("large", "Large")
ConvNeXtXLarge = _builder("xlarge", "XLarge")


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: the models normalise their inputs themselves.

    Args:
        x: images with values in [0, 255].
        data_format: ignored (kept for Keras's signature).

    Returns:
        ``x`` unchanged.
    """
    return x


decode_predictions = imagenet_utils.decode_predictions


MODELS = {"convnext_tiny": ConvNeXtTiny, "convnext_small": ConvNeXtSmall,
          "convnext_base": ConvNeXtBase, "convnext_large": ConvNeXtLarge,
          "convnext_xlarge": ConvNeXtXLarge}
