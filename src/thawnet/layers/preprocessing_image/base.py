"""Shared machinery of the image preprocessing layers: data format, factors, the random key
of a draw, and Keras's call protocol (``get_random_transformation`` then
``transform_images``), so a fixed transformation can be applied by hand as in Keras.

Randomness: inside ``fit`` (a compiled step) every draw comes from the step's RNG
(``self.next_rng()``), so augmentations differ per step and are reproducible for the run's
seed. Eager calls with ``seed=`` draw from that seed and a per-layer count (the same
sequence for the same seed); without a seed, from the global eager stream
(``thawnet.utils.set_random_seed``). The layers hold no weights and no ``SeedGenerator``:
they count 0 params, never non-trainable ones.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from thawnet.backend import global_config
from thawnet.backend import scope as scope_lib
from thawnet.backend.types import Array, Config, SeedLike, ShapeLike, TensorLike, TensorTree
from thawnet.layers import node as node_lib
from thawnet.layers.layer import Layer, _training_context


def check_data_format(who: str, data_format):
    if data_format is None:
        return global_config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f'{who}: data_format must be "channels_last" or "channels_first" (or '
                         f"None for the config's); received data_format={data_format!r}.")
    return data_format


def check_choice(who: str, name: str, value, choices):
    if value not in choices:
        raise ValueError(f"{who}: {name} must be one of {tuple(choices)}; received "
                         f"{name}={value!r}.")
    return value


def check_seed(who: str, seed):
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise ValueError(f"{who}: seed must be an integer or None; received seed={seed!r}.")
    return None if seed is None else int(seed)


def factor_range(who: str, name: str, factor, bounds=(-1.0, 1.0), lower_open=False):
    """Keras's rule: a number ``f`` means ``(-|f|, |f|)`` clipped to ``bounds``; a pair is
    sorted. Values outside ``bounds`` are refused."""
    low, high = bounds
    msg = (f"{who}: {name} must be a number or a list of two numbers in the range "
           f"{'(' if lower_open else '['}{low}, {high}]; received {name}={factor!r}.")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, numbers.Real) for f in factor):
            raise ValueError(msg)
        values = sorted(float(f) for f in factor)
    elif isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        f = abs(float(factor))
        values = [max(-f, low), f]
        if float(factor) < low or float(factor) > high:
            raise ValueError(msg)
    else:
        raise ValueError(msg)
    for v in values:
        if v > high or v < low or (lower_open and v <= low):
            raise ValueError(msg)
    return tuple(values)


class ImagePreprocessingLayer(Layer):
    """Base of the image layers: ``call`` = ``transform_images(images,
    get_random_transformation(images, training), training)``.

    Inputs are single images ``(height, width, channels)`` or batches (rank 4), channels last
    unless ``data_format="channels_first"``; a dict with an ``"images"`` entry (and optional
    ``"labels"``, ``"segmentation_masks"``) is transformed consistently as in Keras.
    """

    # Colour layers leave bounding boxes as they are; geometric ones would have to move them.
    _keeps_boxes = False

    def __init__(self, data_format: str | None = None, seed: SeedLike = None,
                 bounding_box_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        self.bounding_box_format = bounding_box_format
        self.data_format = check_data_format(who, data_format)
        self.seed = check_seed(who, seed)
        self._eager_draws = 0

    def __call__(self, inputs: TensorTree, *args, **kwargs) -> TensorTree:
        # Keras's rule for these layers: a call outside any model or layer, without a
        # training argument, augments (call's default is training=True). Inside a model the
        # model's flag decides, as for every layer (fit: on; predict/evaluate: off).
        if ("training" not in kwargs and not args and _training_context.get() is None
                and not any(node_lib.is_symbolic(t) for t in node_lib.flatten(inputs))):
            kwargs["training"] = True
        return super().__call__(inputs, *args, **kwargs)

    def _set_factor(self, factor, bounds=(-1.0, 1.0)):
        """Keras's ``_set_factor``: validate ``factor`` and store it as ``(lower, upper)``."""
        self.factor = factor_range(self._who, "factor", factor, bounds)

    @property
    def _who(self) -> str:
        return f'{type(self).__name__} "{self.name}"'

    # -- randomness ----------------------------------------------------------------------------
    def _key(self, seed=None):
        """A JAX key for one draw: the caller's ``seed``, else the step's, else the layer's."""
        if seed is not None:
            # Keras's seed argument of get_random_transformation: an int or a JAX key.
            return jax.random.PRNGKey(seed) if isinstance(seed, numbers.Integral) else seed
        scope = scope_lib.current()
        if scope is not None:
            key = scope.next_rng(self.name)
            if key is not None:
                return key
            if scope.traced:
                return self.next_rng()  # raises: a compiled call without a key
        if self.seed is not None:
            self._eager_draws += 1
            return jax.random.fold_in(jax.random.PRNGKey(self.seed), self._eager_draws)
        return self.next_rng()

    def _height_width(self, shape):
        axes = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        return shape[axes[0]], shape[axes[1]]

    # -- Keras's protocol ----------------------------------------------------------------------
    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        """The random parameters of one call (None for deterministic layers)."""
        return None

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        raise NotImplementedError

    def transform_labels(self, labels: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        return labels

    def transform_bounding_boxes(self, bounding_boxes: dict[str, Any],
                                 transformation: dict[str, Any] | None = None,
                                 training: bool | None = True) -> dict[str, Any]:
        raise NotImplementedError(f"{self._who}: bounding boxes are not supported by this "
                                  "layer.")

    def transform_segmentation_masks(self, segmentation_masks: TensorLike,
                                     transformation: dict[str, Any] | None = None,
                                     training: bool | None = True) -> Array:
        return self.transform_images(segmentation_masks, transformation, training)

    def _images_of(self, data):
        return data["images"] if isinstance(data, dict) else data

    def call(self, inputs: TensorTree, training: bool | None = True) -> TensorTree:
        images = self._images_of(inputs)
        if images.ndim not in (3, 4):
            raise ValueError(f"{self._who}: expected images of rank 3 (height, width, "
                             "channels) or 4 (a batch); received a tensor of shape "
                             f"{tuple(images.shape)}.")
        if not isinstance(inputs, dict):
            transformation = self.get_random_transformation(inputs, training=training)
            return self._batched(self.transform_images, inputs, transformation, training)
        boxes = inputs.get("bounding_boxes")
        if boxes is not None and not self._keeps_boxes and (
                type(self).transform_bounding_boxes
                is ImagePreprocessingLayer.transform_bounding_boxes):
            raise NotImplementedError(f"{self._who}: transforming bounding boxes is not "
                                      "supported by this layer; pass images (and labels or "
                                      "segmentation_masks) only.")
        out = {k: v for k, v in inputs.items() if k != "bounding_boxes"}
        transformation = self.get_random_transformation(out, training=training)
        if boxes is not None:
            out["bounding_boxes"] = (boxes if self._keeps_boxes else
                                     self.transform_bounding_boxes(boxes, transformation,
                                                                   training))
        out["images"] = self._batched(self.transform_images, images, transformation, training)
        if "labels" in out:
            out["labels"] = self.transform_labels(jnp.asarray(out["labels"]), transformation,
                                                  training)
        if "segmentation_masks" in out:
            out["segmentation_masks"] = self._batched(
                self.transform_segmentation_masks, jnp.asarray(out["segmentation_masks"]),
                transformation, training)
        return out

    @staticmethod
    def _batched(fn, images, transformation, training):
        # The transforms work on batches; a single image runs as a batch of one.
        if images.ndim == 3:
            return fn(images[None], transformation, training)[0]
        return fn(images, transformation, training)

    def _batch_size(self, data):
        images = self._images_of(data)
        return images.shape[0] if images.ndim == 4 else 1

    def _as_compute(self, images):
        return jnp.asarray(images).astype(self.compute_dtype)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def output_dtype(self, inputs: TensorTree) -> str:
        return self.compute_dtype

    def get_config(self) -> Config:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config
