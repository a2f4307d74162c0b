"""NASNet-A Mobile and Large (Zoph et al., 2018), as in ``keras.applications.nasnet``.

A stem convolution, two stem reduction cells, then three stacks of normal cells separated by
reduction cells; each cell mixes two inputs, the previous cell's output ``x`` and the one before
it ``p`` (matched to ``x``'s size and width by the "adjust" block first). Same layer names
(``stem_conv1``, ``separable_conv_1_normal_left1_0``, ``normal_concat_3``, ``predictions``...),
shapes and weight order as Keras, so Keras's weight files load. The ReLUs, the crop/pad pair of
the adjust block and a few ``add`` layers are unnamed in Keras too (thawnet numbers from 1).
Inputs are preprocessed in "tf" mode (:func:`preprocess_input`): pixels scaled to [-1, 1].
"""

from __future__ import annotations

from thawnet import config, layers
from thawnet.applications import _zoo_build as zb
from thawnet.applications import imagenet_utils
from thawnet.backend.types import Identifier, ShapeLike, Tensor
from thawnet.models import Model

__all__ = ["NASNetMobile", "NASNetLarge"]

# Every batch norm of NASNet (Keras's values: a very slow moving average).
_BN = dict(axis=-1, momentum=0.9997, epsilon=1e-3)


def _conv1x1(x, filters, name, strides=(1, 1)):
    """A bias-free 1x1 'same' convolution with He-normal initial values, as Keras's cells."""
    return layers.Conv2D(filters, (1, 1), strides=strides, padding="same", use_bias=False,
                         kernel_initializer="he_normal", name=name)(x)


def _separable_block(x, filters, kernel_size=(3, 3), strides=(1, 1), block_id=""):
    """Twice [ReLU -> SeparableConv2D -> BatchNormalization]; only the first may be strided.

    A strided first convolution pads explicitly (Keras's ``correct_pad``) and runs 'valid',
    which reproduces TensorFlow's asymmetric 'same' padding.
    """
    x = layers.Activation("relu")(x)
    padding = "same"
    if strides == (2, 2):
        x = layers.ZeroPadding2D(padding=zb.correct_pad(x, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
        padding = "valid"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, padding=padding,
                               use_bias=False, name=f"separable_conv_1_{block_id}")(x)
    x = layers.BatchNormalization(**_BN, name=f"separable_conv_1_bn_{block_id}")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, padding="same", use_bias=False,
                               name=f"separable_conv_2_{block_id}")(x)
    return layers.BatchNormalization(**_BN, name=f"separable_conv_2_bn_{block_id}")(x)


def _adjust(p, ip, filters, block_id):
    """Bring the cell-before-last ``p`` to the size and width of the cell input ``ip``.

    A spatial mismatch halves ``p`` along two paths (the second shifted by one pixel, through
    a pad-then-crop pair) and concatenates them; a width mismatch alone is a 1x1 projection.
    Static sizes are compared exactly as Keras does, so with free (None) sizes the projection
    branch is taken, as in Keras (and the counts differ from a fixed-size model, as there).
    """
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = _conv1x1(p1, filters // 2, f"adjust_conv_1_{block_id}")
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = _conv1x1(p2, filters // 2, f"adjust_conv_2_{block_id}")
        p = layers.concatenate([p1, p2], axis=-1)
        return layers.BatchNormalization(**_BN, name=f"adjust_bn_{block_id}")(p)
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = _conv1x1(p, filters, f"adjust_conv_projection_{block_id}")
        return layers.BatchNormalization(**_BN, name=f"adjust_bn_{block_id}")(p)
    return p


def _squeeze(ip, filters, kind, block_id):
    """The cell's entry: ReLU -> 1x1 convolution -> batch norm (``{kind}_conv_1_{id}``)."""
    h = layers.Activation("relu")(ip)
    h = _conv1x1(h, filters, f"{kind}_conv_1_{block_id}")
    return layers.BatchNormalization(**_BN, name=f"{kind}_bn_1_{block_id}")(h)


def _avg3x3(x, strides, padding, name):
    return layers.AveragePooling2D((3, 3), strides=strides, padding=padding, name=name)(x)


def _normal_cell(ip, p, filters, block_id):
    """NASNet-A normal cell (paper, Fig. 4): five pairwise combinations, concatenated with p.

    Returns:
        ``(output, ip)``: the cell's output and the input that becomes the next cell's ``p``.
    """
    p = _adjust(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "normal", block_id)
    tag = f"_{block_id}"

    x1 = layers.add([_separable_block(h, filters, (5, 5), block_id=f"normal_left1{tag}"),
                     _separable_block(p, filters, block_id=f"normal_right1{tag}")],
                    name=f"normal_add_1{tag}")
    x2 = layers.add([_separable_block(p, filters, (5, 5), block_id=f"normal_left2{tag}"),
                     _separable_block(p, filters, (3, 3), block_id=f"normal_right2{tag}")],
                    name=f"normal_add_2{tag}")
    x3 = layers.add([_avg3x3(h, (1, 1), "same", f"normal_left3{tag}"), p],
                    name=f"normal_add_3{tag}")
    x4 = layers.add([_avg3x3(p, (1, 1), "same", f"normal_left4{tag}"),
                     _avg3x3(p, (1, 1), "same", f"normal_right4{tag}")],
                    name=f"normal_add_4{tag}")
    x5 = layers.add([_separable_block(h, filters, block_id=f"normal_left5{tag}"), h],
                    name=f"normal_add_5{tag}")
    out = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat{tag}")
    return out, ip


def _reduction_cell(ip, p, filters, block_id):
    """NASNet-A reduction cell (paper, Fig. 4): halves the size; four combinations concatenated.

    Keras's names are kept as they are, irregular ones included (``reduction_add3_``,
    ``reduction_add4_``, a pooling ``reduction_left4_`` next to a separable block of that id).

    Returns:
        ``(output, ip)``: the cell's output and the input that becomes the next cell's ``p``.
    """
    p = _adjust(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "reduction", block_id)
    h3 = layers.ZeroPadding2D(padding=zb.correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)
    tag = f"_{block_id}"

    def strided(x, kernel, side):
        return _separable_block(x, filters, kernel, strides=(2, 2),
                                block_id=f"reduction_{side}{tag}")

    def max3x3(x, name):
        return layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=name)(x)

    x1 = layers.add([strided(h, (5, 5), "left1"), strided(p, (7, 7), "right1")],
                    name=f"reduction_add_1{tag}")
    x2 = layers.add([max3x3(h3, f"reduction_left2{tag}"), strided(p, (7, 7), "right2")],
                    name=f"reduction_add_2{tag}")
    x3 = layers.add([_avg3x3(h3, (2, 2), "valid", f"reduction_left3{tag}"),
                     strided(p, (5, 5), "right3")], name=f"reduction_add3{tag}")
    x4 = layers.add([x2, _avg3x3(x1, (1, 1), "same", f"reduction_left4{tag}")])
    x5 = layers.add([_separable_block(x1, filters, (3, 3), block_id=f"reduction_left4{tag}"),
                     max3x3(h3, f"reduction_right5{tag}")], name=f"reduction_add4{tag}")
    out = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat{tag}")
    return out, ip


def NASNet(input_shape: ShapeLike | None = None, penultimate_filters: int = 4032,
           num_blocks: int = 6, stem_block_filters: int = 96, skip_reduction: bool = True,
           filter_multiplier: int = 2, include_top: bool = True, weights: str | None = None,
           input_tensor: Tensor | None = None, pooling: str | None = None, classes: int = 1000,
           default_size: int | None = None, classifier_activation: Identifier = "softmax",
           name: str = "NASNet") -> Model:
    """A NASNet-A model ``NASNet (num_blocks @ penultimate_filters)``, Keras's general builder.

    Args:
        input_shape: ``(height, width, 3)``; default ``(default_size, default_size, 3)``;
            at least 32x32.
        penultimate_filters: width of the last cells' concatenation; a multiple of
            ``24 * filter_multiplier ** 2``.
        num_blocks: normal cells per stack (three stacks).
        stem_block_filters: filters of the stem convolution.
        skip_reduction: feed the cells after a reduction cell with the reduction's input
            instead of its adjusted ``p`` (True for Large, False for Mobile, as in Keras).
        filter_multiplier: width growth from one stack to the next.
        include_top: include the classifier (global average pooling + "predictions").
        weights: None (random), "imagenet" (Keras's file must be in ``~/.keras/models/``;
            nothing is downloaded) or the path of a weight file to load.
        input_tensor: optional symbolic tensor to build on.
        pooling: without the top: None (4-D feature map), "avg" or "max".
        classes: size of the classifier.
        default_size: 224 (Mobile) or 331 (Large, and the default).
        classifier_activation: activation of "predictions" (None gives logits).
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).

    Raises:
        ValueError: channels_first data format, bad ``weights``/``pooling``/filters, or an
            input shape with free sizes together with ImageNet weights.
    """
    if config.image_data_format() == "channels_first":
        raise ValueError(f"{name}: NASNet supports only the channels_last image data format; "
                         "the config says channels_first. Call thawnet.config."
                         "set_image_data_format('channels_last') before building it.")
    zb.check_weights_argument(weights, include_top, classes, name)
    zb.check_pooling(pooling, name)
    if isinstance(input_shape, tuple) and None in input_shape and weights == "imagenet":
        raise ValueError(f"{name}: with weights='imagenet' the input shape must be static (no "
                         f"None entries); received input_shape={input_shape}. Give the sizes.")
    default_size = 331 if default_size is None else default_size
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, require_flatten=include_top,
        weights=weights, model_name=name)
    if penultimate_filters % (24 * filter_multiplier ** 2):
        raise ValueError(f"{name}: penultimate_filters must be a multiple of 24 * "
                         f"filter_multiplier ** 2 = {24 * filter_multiplier ** 2}; received "
                         f"penultimate_filters={penultimate_filters}.")
    inputs, x = zb.model_inputs(input_tensor, input_shape, name)

    filters = penultimate_filters // 24
    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid",
                      use_bias=False, kernel_initializer="he_normal", name="stem_conv1")(x)
    x = layers.BatchNormalization(**_BN, name="stem_bn1")(x)
    x, p = _reduction_cell(x, None, filters // filter_multiplier ** 2, "stem_1")
    x, p = _reduction_cell(x, p, filters // filter_multiplier, "stem_2")
    for stack in range(3):
        width = filters * filter_multiplier ** stack
        if stack:
            x, p_reduced = _reduction_cell(x, p, width, f"reduce_{stack * num_blocks}")
            p = p if skip_reduction else p_reduced
        for i in range(num_blocks):
            # Keras numbers the cells after a reduction from stack * num_blocks + 1.
            x, p = _normal_cell(x, p, width, str(stack * num_blocks + i + (stack > 0)))
    x = layers.Activation("relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        zb.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = Model(inputs, x, name=name)
    if weights == "imagenet":
        if default_size not in (224, 331):
            raise ValueError(f"{name}: ImageNet weights exist only for NASNetMobile "
                             f"(default_size=224) and NASNetLarge (331); received "
                             f"default_size={default_size}. Use weights=None.")
        stem = "nasnet_mobile" if default_size == 224 else "nasnet_large"
        file_name = f"{stem}.h5" if include_top else f"{stem}_no_top.h5"
        model.load_weights(imagenet_utils.imagenet_weights_path(file_name, model.name))
    elif weights is not None:
        model.load_weights(weights)
    return model


_DOC = """{name}: NASNet-A ({blocks} @ {penultimate}) in ImageNet mode, as Keras's builder.

    Args:
        input_shape: ``(height, width, 3)``, at least 32x32; default ``({size}, {size}, 3)``{free}.
        include_top: include the classifier (global average pooling + "predictions").
        weights: None (random), "imagenet" (Keras's file ``{stem}[_no_top].h5`` must be in
            ``~/.keras/models/``; nothing is downloaded) or the path of a weight file to load.
        input_tensor: optional symbolic tensor (from ``thawnet.layers.Input``) to build on.
        pooling: without the top: None (4-D feature map), "avg" or "max".
        classes: size of the classifier (1000 for ImageNet weights).
        classifier_activation: activation of "predictions" (None gives logits).
        name: the model's name.

    Returns:
        A functional :class:`thawnet.models.Model` (weights are not materialised yet).
"""


def NASNetMobile(input_shape: ShapeLike | None = None, include_top: bool = True,
                 weights: str | None = None, input_tensor: Tensor | None = None,
                 pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Identifier = "softmax", name: str = "nasnet_mobile"
        ) -> Model:
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)  # Keras fixes the size here even without the top
    return NASNet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                  skip_reduction=False, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                  default_size=224, classifier_activation=classifier_activation, name=name)


def NASNetLarge(input_shape: ShapeLike | None = None, include_top: bool = True,
                weights: str | None = None, input_tensor: Tensor | None = None,
                pooling: str | None = None, classes: int = 1000,
                classifier_activation: Identifier = "softmax", name: str = "nasnet_large"
        ) -> Model:
    return NASNet(input_shape, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
                  skip_reduction=True, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                  default_size=331, classifier_activation=classifier_activation, name=name)


NASNetMobile.__doc__ = _DOC.format(name="NASNetMobile", blocks=4, penultimate=1056, size=224,
                                   stem="nasnet_mobile", free="")
NASNetLarge.__doc__ = _DOC.format(
    name="NASNetLarge", blocks=6, penultimate=4032, size=331, stem="nasnet_large",
    free=" with the top, ``(None, None, 3)`` without it (free sizes take the adjust blocks' "
         "projection path, as in Keras)")


def preprocess_input(x: Tensor, data_format: str | None = None) -> Tensor:
    """Preprocess images for NASNet: scale pixels from [0, 255] to [-1, 1].

    Args:
        x: NumPy/JAX array with values in [0, 255] (not modified).
        data_format: None/"channels_last" or "channels_first" (no effect in this mode).

    Returns:
        The preprocessed float array.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


# ImageNet class names for predictions (the same for every family).
decode_predictions = imagenet_utils.decode_predictions


MODELS = {"nasnet_mobile": NASNetMobile, "nasnet_large": NASNetLarge,
          "nasnetmobile": NASNetMobile, "nasnetlarge": NASNetLarge}
