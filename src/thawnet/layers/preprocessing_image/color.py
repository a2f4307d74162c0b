"""Random colour augmentations (Keras 3): RandomContrast, RandomBrightness, RandomGrayscale
and RandomErasing. Active only with ``training=True``; the identity otherwise. They leave
labels, segmentation masks and bounding boxes unchanged.

``value_range`` is the range of the pixel values (``(0, 255)`` by default, ``(0, 1)`` for
scaled images): results are clipped to it.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from thawnet.backend.types import Array, Config, SeedLike, TensorLike, TensorTree
from thawnet.layers.layer import register
from thawnet.layers.preprocessing_image.base import ImagePreprocessingLayer, factor_range


def _check_value_range(who, value_range):
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(isinstance(v, numbers.Real) for v in value_range)):
        raise ValueError(f"{who}: value_range must be a list of two numbers (the lowest and "
                         f"highest pixel value, e.g. (0, 255)); received "
                         f"value_range={value_range!r}.")
    return tuple(value_range)  # a tuple survives a config round trip unchanged


class _ColorLayer(ImagePreprocessingLayer):
    _keeps_boxes = True

    def transform_segmentation_masks(self, segmentation_masks: TensorLike,
                                     transformation: dict[str, Any] | None = None,
                                     training: bool | None = True) -> Array:
        return segmentation_masks


@register
class RandomContrast(_ColorLayer):
    """Scale each image's deviation from its mean (per channel) by a random factor.

    Args:
        factor: ``f`` in [0, 1] or ``(lower, upper)``; the contrast factor is drawn from
            ``[1 - lower, 1 + upper]`` (a single ``f`` gives ``(0, f)``, as Keras 3 stores it).
        value_range: range of the pixel values; the output is clipped to it.
        seed: int for reproducible eager draws.
    """

    def __init__(self, factor: float | tuple[float, float], value_range: tuple[int, ...] = (0, 255),
                 seed: SeedLike = None, **kwargs) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = factor_range(self._who, "factor", factor, (0.0, 1.0))
        self.value_range = _check_value_range(self._who, value_range)

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        shape = (self._batch_size(data), 1, 1, 1)
        if not training:
            return {"contrast_factor": jnp.zeros(shape)}
        factor = jax.random.uniform(self._key(seed), shape, self.compute_dtype,
                                    minval=1.0 - self.factor[0], maxval=1.0 + self.factor[1])
        return {"contrast_factor": factor}

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        images = self._as_compute(images)
        if not training or transformation is None:
            return images
        axes = (-3, -2) if self.data_format == "channels_last" else (-2, -1)
        mean = jnp.mean(images, axis=axes, keepdims=True)
        out = (images - mean) * transformation["contrast_factor"] + mean
        return jnp.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self) -> Config:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range,
                "seed": self.seed}


@register
class RandomBrightness(_ColorLayer):
    """Add a random offset to every pixel of an image.

    Args:
        factor: ``f`` in [-1, 1] or ``(lower, upper)``: the offset is drawn from
            ``[lower, upper] * (value_range[1] - value_range[0])``.
        value_range: range of the pixel values; the output is clipped to it.
        seed: int for reproducible eager draws.
    """

    def __init__(self, factor: float | tuple[float, float], value_range: tuple[int, ...] = (0, 255),
                 seed: SeedLike = None, **kwargs) -> None:
        super().__init__(seed=seed, **kwargs)
        self.factor = factor_range(self._who, "factor", factor)
        self.value_range = sorted(_check_value_range(self._who, value_range))  # Keras: a list

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        shape = (self._batch_size(data), 1, 1, 1)
        if not training:
            return {"rgb_delta": jnp.zeros(shape)}
        delta = jax.random.uniform(self._key(seed), shape, minval=self.factor[0],
                                   maxval=self.factor[1])
        return {"rgb_delta": delta * (self.value_range[1] - self.value_range[0])}

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        # Keras keeps the input's dtype here (uint8 images stay uint8).
        images = jnp.asarray(images)
        if not training or transformation is None:
            return images
        images = images + jnp.asarray(transformation["rgb_delta"]).astype(images.dtype)
        return jnp.clip(images, self.value_range[0], self.value_range[1]).astype(images.dtype)

    def output_dtype(self, inputs: TensorTree) -> str:
        return getattr(inputs, "dtype", None) or self.compute_dtype

    def get_config(self) -> Config:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range,
                "seed": self.seed}


@register
class RandomGrayscale(_ColorLayer):
    """Turn each RGB image to grayscale (kept as 3 equal channels) with probability
    ``factor``.

    Args:
        factor: probability in [0, 1].
        data_format: ``"channels_last"`` or ``"channels_first"``.
        seed: int for reproducible eager draws.
    """

    def __init__(self, factor: float | tuple[float, float] = 0.5, data_format: str | None = None,
                 seed: SeedLike = None, **kwargs) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        if not isinstance(factor, numbers.Real) or not 0 <= factor <= 1:
            raise ValueError(f"{self._who}: factor must be a probability between 0 and 1; "
                             f"received factor={factor!r}.")
        self.factor = factor

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        if not training:
            return None
        draws = jax.random.uniform(self._key(seed), (self._batch_size(data),))
        return (draws < self.factor)[:, None, None, None]

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        images = self._as_compute(images)
        if not training:
            return images
        axis = -1 if self.data_format == "channels_last" else -3
        if images.shape[axis] != 3:
            raise ValueError(f"{self._who}: expects RGB images (3 channels on axis {axis}); "
                             f"received images of shape {tuple(images.shape)}.")
        if transformation is None:
            transformation = self.get_random_transformation(images)
        weights = jnp.asarray([0.2989, 0.5870, 0.1140], images.dtype)
        gray = jnp.expand_dims(jnp.tensordot(jnp.moveaxis(images, axis, -1), weights, 1), axis)
        return jnp.where(transformation, gray, images)

    def get_config(self) -> Config:
        return {**super().get_config(), "factor": self.factor}


@register
class RandomErasing(_ColorLayer):
    """Erase a random rectangle of each image (with probability drawn from ``factor``).

    Args:
        factor: ``f`` in [0, 1] or ``(lower, upper)``: each image is erased with a
            probability drawn from that range.
        scale: ``(low, high)``: each side of the rectangle is ``sqrt(u)`` times the image's,
            ``u`` drawn from this range.
        fill_value: None (Gaussian noise times ``value_range[1]``), a number, or one number
            per channel (3).
        value_range: range of the pixel values; the fill is clipped to it.
        seed: int for reproducible eager draws.
        data_format: ``"channels_last"`` or ``"channels_first"``.
    """

    def __init__(self, factor: float | tuple[float, float] = 1.0,
                 scale: float | tuple[float, ...] = (0.02, 0.33), fill_value: float | None = None,
                 value_range: tuple[int, ...] = (0, 255), seed: SeedLike = None,
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.factor = factor_range(self._who, "factor", factor, (0.0, 1.0))
        self.scale = factor_range(self._who, "scale", scale, (0.0, 1.0))
        if fill_value is not None and not isinstance(fill_value, numbers.Real) and not (
                isinstance(fill_value, (tuple, list)) and len(fill_value) == 3):
            raise ValueError(f"{self._who}: fill_value must be None, a number or a list of "
                             f"three numbers; received fill_value={fill_value!r}.")
        self.fill_value = tuple(fill_value) if isinstance(fill_value, list) else fill_value
        self.value_range = _check_value_range(self._who, value_range)

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        if not training:
            return None
        images = self._images_of(data)
        batch = self._batch_size(data)
        shape = images.shape if images.ndim == 4 else (1,) + images.shape
        height, width = self._height_width(shape)
        dtype = self.compute_dtype
        keys = jax.random.split(self._key(seed), 6)
        sides = jnp.sqrt(jax.random.uniform(keys[0], (batch, 2), dtype, self.scale[0],
                                            self.scale[1]))

        def bounds(key, length, ratio):
            size = ratio * length
            start = jax.random.uniform(key, (batch,), dtype) * (length - size)
            return start, start + size
        x0, x1 = bounds(keys[1], width, sides[:, 0])
        y0, y1 = bounds(keys[2], height, sides[:, 1])
        rows, cols = jnp.meshgrid(jnp.arange(height, dtype=dtype), jnp.arange(width, dtype=dtype),
                                  indexing="ij")
        if self.data_format == "channels_last":
            rows, cols = rows[None, :, :, None], cols[None, :, :, None]
        else:
            rows, cols = rows[None, None], cols[None, None]
        at = (slice(None),) + (None,) * 3
        masks = ((cols >= x0[at]) & (cols < x1[at]) & (rows >= y0[at]) & (rows < y1[at]))
        masks = jnp.broadcast_to(masks, shape)
        probability = jax.random.uniform(keys[3], (batch,), minval=self.factor[0],
                                         maxval=self.factor[1])
        apply = jax.random.uniform(keys[4], (batch,)) < probability
        if self.fill_value is None:
            fill = jax.random.normal(keys[5], shape, dtype) * self.value_range[1]
        else:
            fill = jnp.broadcast_to(jnp.asarray(self.fill_value, dtype), shape)
        fill = jnp.clip(fill, self.value_range[0], self.value_range[1])
        return {"apply_erasing": apply, "batch_masks": masks, "fill_value": fill}

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        images = self._as_compute(images)
        if not training or transformation is None:
            return images
        erased = jnp.where(transformation["batch_masks"], transformation["fill_value"], images)
        apply = jnp.asarray(transformation["apply_erasing"])[:, None, None, None]
        return jnp.where(apply, erased, images).astype(images.dtype)

    def get_config(self) -> Config:
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "fill_value": self.fill_value, "value_range": self.value_range,
                "seed": self.seed}
