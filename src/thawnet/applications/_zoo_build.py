"""Plumbing shared by the zoo builders: argument checks, the graph input, the weights argument.

Kept apart from :mod:`thawnet.applications.imagenet_utils` (preprocessing, class names, input
shapes, ImageNet weight files), which it builds on.
"""

from __future__ import annotations

import os

from thawnet import activations
from thawnet.applications.imagenet_utils import imagenet_weights_path
from thawnet.layers import Input
from thawnet.layers.node import SymbolicTensor


def check_weights_argument(weights, include_top, classes, model_name):
    """Validate ``weights`` and ``classes`` the way Keras's builders do.

    Args:
        weights: None, "imagenet" or the path of a weight file.
        include_top: whether the classifier is included.
        classes: number of classes requested.
        model_name: the builder's name, for messages.

    Raises:
        ValueError: ``weights`` is neither None, "imagenet" nor an existing file, or
            ImageNet weights are asked for with a top of other than 1000 classes.
    """
    if not (weights is None or weights == "imagenet"
            or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError(
            f"{model_name}: `weights` must be None (random initialization), 'imagenet' "
            f"(pre-training on ImageNet) or the path of an existing weights file; received "
            f"weights={weights!r}. Check the path or pass weights=None.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"{model_name}: with weights='imagenet' and include_top=True, `classes` must be "
            f"1000 (the ImageNet classifier); received classes={classes}. Pass "
            f"include_top=False and add your own classifier, or use weights=None.")


def validate_activation(classifier_activation, weights):
    """Pretrained weights allow only a softmax or linear classifier (as in Keras).

    Args:
        classifier_activation: the requested activation (name, callable or None).
        weights: the ``weights`` argument; None skips the check.

    Raises:
        ValueError: another activation was combined with pretrained weights.
    """
    if weights is None:
        return
    fn = activations.get(classifier_activation)
    if fn not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(
            "Only None and 'softmax' are allowed as classifier_activation with pretrained "
            f"weights and include_top=True; received classifier_activation="
            f"{classifier_activation!r}. Use weights=None or one of those two.")


def weights_file_name(stem, include_top):
    """Keras's file name for a model's ImageNet weights.

    Args:
        stem: Keras's prefix, e.g. ``"resnet50"``, ``"vgg16"``, ``"xception"``.
        include_top: whether the file holds the classifier too.

    Returns:
        e.g. ``"resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"``.
    """
    return f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"


def load_requested_weights(model, weights, stem, include_top):
    """Apply a builder's ``weights`` argument: None keeps random weights, a path is loaded,
    "imagenet" loads Keras's file from :func:`keras_models_dir` (see
    :func:`imagenet_weights_path`).

    Args:
        model: the freshly built model.
        weights: None, "imagenet" or a path.
        stem: Keras's weight-file prefix for this model (see :func:`weights_file_name`).
        include_top: whether the model has its classifier.

    Returns:
        The model.
    """
    if weights == "imagenet":
        model.load_weights(imagenet_weights_path(weights_file_name(stem, include_top),
                                                 model.name))
    elif weights is not None:
        model.load_weights(weights)
    return model


def check_pooling(pooling, model_name):
    """Raise ValueError unless ``pooling`` is None, "avg" or "max"."""
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{model_name}: pooling must be None, 'avg' or 'max'; received "
                         f"pooling={pooling!r}.")


def model_inputs(input_tensor, input_shape, model_name):
    """The graph input for a zoo builder and the tensor its layers start from.

    Args:
        input_tensor: None, or a symbolic tensor (from ``Input(...)`` or a layer output).
        input_shape: the shape for a fresh ``Input`` when ``input_tensor`` is None.
        model_name: the builder's name, for messages.

    Returns:
        ``(inputs, x)``: the model's ``Input`` tensor(s) and the tensor to build on.

    Raises:
        ValueError: ``input_tensor`` is not a symbolic tensor.
    """
    if input_tensor is None:
        x = Input(shape=input_shape)
        return x, x
    if not isinstance(input_tensor, SymbolicTensor):
        raise ValueError(
            f"{model_name}: input_tensor must be a symbolic tensor made with "
            f"thawnet.layers.Input(...) (or a layer applied to one); received "
            f"{type(input_tensor).__name__}. Pass input_shape=... instead for a fresh input.")
    sources = _source_inputs(input_tensor)
    return (sources[0] if len(sources) == 1 else sources), input_tensor


def _source_inputs(tensor):
    """The Input tensors a symbolic tensor depends on, in first-met order."""
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        layer, node_index, _ = t.history
        node = layer._inbound_nodes[node_index]
        if not node.input_tensors:
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            continue
        stack.extend(reversed(node.input_tensors))
    return found


def correct_pad(inputs, kernel_size):
    """Zero padding that makes a strided 'valid' convolution match TF's 'same' (Keras's rule).

    Args:
        inputs: a channels_last symbolic tensor (its static height/width are read).
        kernel_size: an int or a pair.

    Returns:
        ``((top, bottom), (left, right))`` for ``ZeroPadding2D``.
    """
    size = tuple(inputs.shape[1:3])
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))
