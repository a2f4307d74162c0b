"""Helpers shared by the zoo: ImageNet preprocessing, class names, input shapes, weight files.

Behaviour follows Keras's ``keras.applications.imagenet_utils`` (same modes, constants and
input-shape rules), with two differences: nothing is downloaded (ImageNet weight files and the
class index are looked up in ``$KERAS_HOME/models``, ``~/.keras/models`` by default, and a
missing file raises an error naming the file to put there), and NumPy inputs are never
modified in place.
"""

from __future__ import annotations

import json
import os
import warnings

import jax.numpy as jnp
import numpy as np


CLASS_INDEX_FILE = "imagenet_class_index.json"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN_RGB = (0.485, 0.456, 0.406)
TORCH_STD_RGB = (0.229, 0.224, 0.225)
_MODES = ("caffe", "tf", "torch")
_FORMATS = ("channels_last", "channels_first")


def keras_models_dir():
    """The folder Keras caches pretrained files in: ``$KERAS_HOME/models`` or ``~/.keras/models``.

    Returns:
        The absolute path (it may not exist).
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(os.path.expanduser(home), "models")


def imagenet_weights_path(file_name, model_name="this model"):
    """The path of a Keras ImageNet weight file that must already be in the models folder.

    Args:
        file_name: Keras's file name, e.g. ``"resnet50_weights_tf_dim_ordering_tf_kernels.h5"``.
        model_name: the model that wants it (for the error message).

    Returns:
        The file's path.

    Raises:
        FileNotFoundError: the file is not there; the message says which file, where to put it,
            and where Keras publishes it (thawnet does not download).
    """
    folder = keras_models_dir()
    path = os.path.join(folder, file_name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"weights='imagenet' for {model_name} needs Keras's pretrained file "
            f"'{file_name}' in {folder}/ (Keras's cache folder: $KERAS_HOME/models or "
            f"~/.keras/models); it is not there ({path}). thawnet does not download: copy the "
            f"file there (Keras publishes it under "
            f"https://storage.googleapis.com/tensorflow/keras-applications/), or pass "
            f"weights=None for random weights or weights='/path/to/file.h5'.")
    return path


def obtain_input_shape(input_shape, default_size, min_size, data_format="channels_last",
                       require_flatten=True, weights=None, model_name="model"):
    """Compute and validate a zoo model's input shape (Keras's ``obtain_input_shape`` rules).

    Args:
        input_shape: None (use the default) or a 3-tuple given by the user.
        default_size: the model's default height/width (e.g. 224).
        min_size: the smallest height/width the model accepts (e.g. 32).
        data_format: "channels_last" (default) or "channels_first".
        require_flatten: True when the classifier top is included (a static shape is needed).
        weights: None, "imagenet" or a path; "imagenet" requires 3 channels and, with the
            top, exactly the default shape.
        model_name: the builder's name, for messages.

    Returns:
        The input shape as a tuple (None for free dimensions).

    Raises:
        ValueError: the shape has the wrong rank, channels or size for this model.
    """
    first = data_format == "channels_first"
    if input_shape is not None:
        input_shape = tuple(input_shape)
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if first else input_shape[-1]
        if channels not in (1, 3):
            warnings.warn(f"{model_name} usually expects 1 or 3 input channels; received "
                          f"input_shape={input_shape} with {channels} channels.", stacklevel=3)
        default_shape = ((channels, default_size, default_size) if first
                         else (default_size, default_size, channels))
    else:
        default_shape = (3, default_size, default_size) if first else (default_size,
                                                                      default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default_shape:
            raise ValueError(
                f"{model_name}: with include_top=True and weights='imagenet', input_shape must "
                f"be {default_shape}; received input_shape={input_shape}. Pass "
                f"include_top=False to use another size.")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError(
                f"{model_name}: input_shape must be a tuple of three integers (height, width, "
                f"channels); received input_shape={input_shape}.")
        channels = input_shape[0] if first else input_shape[-1]
        if channels != 3 and weights == "imagenet":
            raise ValueError(
                f"{model_name}: ImageNet weights need 3 input channels; received "
                f"input_shape={input_shape}.")
        spatial = input_shape[1:] if first else input_shape[:2]
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(
                f"{model_name}: input size must be at least {min_size}x{min_size}; received "
                f"input_shape={input_shape}. Resize the images or pass a larger input_shape.")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError(
            f"{model_name}: include_top=True needs a static input_shape; received "
            f"input_shape={input_shape}. Give every dimension or pass include_top=False.")
    return input_shape


def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocess a batch of images for an ImageNet model (Keras's modes and constants).

    Args:
        x: NumPy or JAX array, 3-D or 4-D, 3 channels, values in [0, 255]. Not modified.
        data_format: None/"channels_last" or "channels_first".
        mode: "caffe" (RGB->BGR, subtract the ImageNet BGR means, no scaling), "tf" (scale to
            [-1, 1]) or "torch" (scale to [0, 1], then normalise each channel by ImageNet's
            mean and std).

    Returns:
        An array of the same kind (NumPy in, NumPy out); floating inputs keep their dtype,
        others become float32.

    Raises:
        ValueError: unknown ``mode`` or ``data_format``.
    """
    if mode not in _MODES:
        raise ValueError(f"preprocess_input: mode must be one of {_MODES}; received "
                         f"mode={mode!r}.")
    data_format = data_format or "channels_last"
    if data_format not in _FORMATS:
        raise ValueError(f"preprocess_input: data_format must be one of {_FORMATS}; received "
                         f"data_format={data_format!r}.")
    xp = np if isinstance(x, (np.ndarray, list, tuple, int, float)) else jnp
    x = xp.asarray(x)
    if not xp.issubdtype(x.dtype, xp.floating):
        x = x.astype("float32")
    if mode == "tf":
        return x / xp.asarray(127.5, x.dtype) - xp.asarray(1.0, x.dtype)
    axis = -3 if (data_format == "channels_first" and x.ndim in (3, 4)) else -1
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "torch":
        x = x / xp.asarray(255.0, x.dtype)
        mean = xp.asarray(TORCH_MEAN_RGB, x.dtype).reshape(shape)
        std = xp.asarray(TORCH_STD_RGB, x.dtype).reshape(shape)
        return (x - mean) / std
    x = xp.flip(x, axis=axis)  # RGB -> BGR
    return x - xp.asarray(CAFFE_MEAN_BGR, x.dtype).reshape(shape)


def load_class_index(class_index_path=None):
    """Read ImageNet's class index (``{"0": ["n01440764", "tench"], ...}``).

    Args:
        class_index_path: the JSON file; default ``imagenet_class_index.json`` in
            :func:`keras_models_dir`.

    Returns:
        The parsed dict.

    Raises:
        FileNotFoundError: the file is missing; the message names it and where to put it.
    """
    path = class_index_path or os.path.join(keras_models_dir(), CLASS_INDEX_FILE)
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"decode_predictions needs ImageNet's class index '{CLASS_INDEX_FILE}'; not found "
            f"at {path}. Put the file in {keras_models_dir()}/ (Keras's cache folder, "
            f"~/.keras/models by default) or pass class_index_path='/path/to/"
            f"{CLASS_INDEX_FILE}'. Keras publishes it at https://storage.googleapis.com/"
            f"download.tensorflow.org/data/{CLASS_INDEX_FILE}; thawnet does not download.")
    with open(path) as f:
        return json.load(f)


def decode_predictions(preds, top=5, class_index_path=None):
    """Turn ImageNet class scores into the ``top`` (WordNet id, name, score) triples per sample.

    Args:
        preds: array of shape ``(samples, 1000)``.
        top: how many classes to return per sample.
        class_index_path: optional path of ``imagenet_class_index.json`` (see
            :func:`load_class_index`).

    Returns:
        One list per sample of ``(class_id, class_name, score)`` tuples, best first.

    Raises:
        ValueError: ``preds`` is not of shape (samples, 1000).
        FileNotFoundError: the class index file is missing.
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "decode_predictions expects a batch of ImageNet predictions, a 2-D array of shape "
            f"(samples, 1000); received an array of shape {preds.shape}.")
    index = load_class_index(class_index_path)
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        rows = [tuple(index[str(i)]) + (pred[i],) for i in best]
        rows.sort(key=lambda r: r[2], reverse=True)
        results.append(rows)
    return results
