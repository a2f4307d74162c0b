"""Random geometric augmentations (Keras 3): RandomFlip, RandomRotation, RandomZoom and
RandomTranslation. Active only with ``training=True``; the identity otherwise.

Rotation, zoom and translation resample with Keras's affine convention
(:mod:`~thawnet.layers.preprocessing_image.sampling`): the output pixel ``(x, y)`` reads the
input at the transformed point, filled by ``fill_mode`` outside the image.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from thawnet.backend.types import Array, Config, SeedLike, TensorLike
from thawnet.layers.layer import register
from thawnet.layers.preprocessing_image import boxes as boxes_lib
from thawnet.layers.preprocessing_image import sampling
from thawnet.layers.preprocessing_image.base import (ImagePreprocessingLayer, check_choice,
                                                     factor_range)

def _as_tuple(value):
    return tuple(value) if isinstance(value, list) else value


_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


@register
class RandomFlip(ImagePreprocessingLayer):
    """Flip each image left-right and/or up-down with probability 1/2.

    Args:
        mode: ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"`` (one draw
            per image flips both axes or neither, as Keras).
        seed: int for reproducible eager draws.
        data_format: ``"channels_last"`` or ``"channels_first"``.
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: SeedLike = None,
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.mode = check_choice(self._who, "mode", mode, _FLIP_MODES)

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        if not training:
            return None
        shape = (self._batch_size(data), 1, 1, 1)
        return {"flips": jax.random.uniform(self._key(seed), shape) <= 0.5,
                "input_shape": self._images_of(data).shape}

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        images = self._as_compute(images)
        if not training or transformation is None:
            return images
        flips = jnp.asarray(transformation["flips"])
        ax_h, ax_w = sampling.hw_axes(self.data_format)
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            images = jnp.where(flips, jnp.flip(images, axis=ax_w), images)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            images = jnp.where(flips, jnp.flip(images, axis=ax_h), images)
        return images

    def transform_bounding_boxes(self, bounding_boxes: dict[str, Any],
                                 transformation: dict[str, Any] | None, training: bool | None = True
            ) -> dict[str, Any]:
        """Flip ``"xyxy"`` boxes (pixels) with their images, clipped to the image."""
        if not training or transformation is None:
            return bounding_boxes
        boxes_lib.check_format(self._who, self.bounding_box_format)
        height, width = self._height_width(transformation["input_shape"])
        boxes, (x1, y1, x2, y2) = boxes_lib.corners(bounding_boxes)
        flips = boxes_lib.per_image(transformation["flips"], boxes) > 0
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            x1, x2 = jnp.where(flips, width - x2, x1), jnp.where(flips, width - x1, x2)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            y1, y2 = jnp.where(flips, height - y2, y1), jnp.where(flips, height - y1, y2)
        return boxes_lib.clipped(bounding_boxes, x1, y1, x2, y2, height, width)

    def get_config(self) -> Config:
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


class _AffineLayer(ImagePreprocessingLayer):
    """A layer that resamples the image through one affine matrix per image."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: SeedLike = None, fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs) -> None:
        super().__init__(data_format=data_format, seed=seed, **kwargs)
        self.fill_mode = check_choice(self._who, "fill_mode", fill_mode, sampling.FILL_MODES)
        self.interpolation = check_choice(self._who, "interpolation", interpolation,
                                          tuple(sampling.AFFINE_INTERPOLATIONS))
        self.fill_value = fill_value

    def _matrix(self, transformation, height, width):
        """The ``(batch, 8)`` affine matrices of ``transformation``."""
        raise NotImplementedError

    def _resample(self, images, transformation, interpolation):
        images = self._as_compute(images)
        matrix = jnp.asarray(self._matrix(transformation, *self._height_width(images.shape)),
                             images.dtype)
        if matrix.ndim == 1:
            matrix = matrix[None]
        return sampling.affine_transform(images, matrix, interpolation, self.fill_mode,
                                         float(self.fill_value), self.data_format)

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        if not training or transformation is None:
            return self._as_compute(images)
        return self._resample(images, transformation, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks: TensorLike,
                                     transformation: dict[str, Any] | None = None,
                                     training: bool | None = True) -> Array:
        if not training or transformation is None:
            return segmentation_masks
        return self._resample(segmentation_masks, transformation, "nearest")

    def get_config(self) -> Config:
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "seed": self.seed,
                "fill_value": self.fill_value}


@register
class RandomRotation(_AffineLayer):
    """Rotate each image by a random angle about its centre.

    Args:
        factor: fraction of a full turn: ``f`` draws from ``[-f, f] * 360`` degrees, a pair
            ``(a, b)`` from ``[a, b] * 360`` (positive is counter-clockwise on screen,
            Keras's convention). ``(x, x)`` fixes the angle.
        fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"`` or ``"nearest"``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: int for reproducible eager draws.
        fill_value: value outside the image with ``fill_mode="constant"``.
        data_format: ``"channels_last"`` or ``"channels_first"``.
    """

    def __init__(self, factor: float | tuple[float, float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: SeedLike = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor_range(self._who, "factor", factor)

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        if not training:
            return None
        batch = self._batch_size(data)
        height, width = self._height_width(self._images_of(data).shape)
        angle = jax.random.uniform(self._key(seed), (batch,), minval=self.factor[0] * 360.0,
                                   maxval=self.factor[1] * 360.0)
        zeros = jnp.zeros((batch,))
        matrix = sampling.affine_matrix(angle, zeros, zeros, jnp.ones((batch,)), height, width)
        return {"angle": angle, "rotation_matrix": matrix, "image_height": height,
                "image_width": width, "batch_size": batch}

    def _matrix(self, transformation, height, width):
        return transformation["rotation_matrix"]

    def get_config(self) -> Config:
        return {**super().get_config(), "factor": self.factor}


@register
class RandomZoom(_AffineLayer):
    """Zoom each image in or out by a random factor about its centre.

    Args:
        height_factor: ``f`` or ``(a, b)`` in (-1, 1]: the vertical scale is drawn from
            ``1 + [a, b]`` (positive values zoom *out*, Keras's convention).
        width_factor: the same for the horizontal scale; None keeps the aspect ratio (the
            height's draw is used for both).
        fill_mode, interpolation, seed, fill_value, data_format: as for RandomRotation.
    """

    def __init__(self, height_factor: float | tuple[float, float],
                 width_factor: float | tuple[float, float] | None = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: SeedLike = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        # Pairs are kept as tuples, so a config survives a JSON round trip unchanged.
        self.height_factor = _as_tuple(height_factor)
        self.width_factor = _as_tuple(width_factor)
        self._height_range = factor_range(self._who, "height_factor", height_factor,
                                          lower_open=True)
        self._width_range = None if width_factor is None else factor_range(
            self._who, "width_factor", width_factor, lower_open=True)

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        if not training:
            return None
        shape = (self._batch_size(data), 1)
        key_h, key_w = jax.random.split(self._key(seed))
        low, high = self._height_range
        height_zoom = jax.random.uniform(key_h, shape, minval=1.0 + low, maxval=1.0 + high)
        if self._width_range is None:
            width_zoom = height_zoom
        else:
            low, high = self._width_range
            width_zoom = jax.random.uniform(key_w, shape, minval=1.0 + low, maxval=1.0 + high)
        return {"height_zoom": height_zoom, "width_zoom": width_zoom,
                "input_shape": self._images_of(data).shape}

    def transform_bounding_boxes(self, bounding_boxes: dict[str, Any],
                                 transformation: dict[str, Any] | None, training: bool | None = True
            ) -> dict[str, Any]:
        """Zoom ``"xyxy"`` boxes with their images: the part inside the sampled window,
        rescaled to the image, clipped (Keras)."""
        if not training or transformation is None:
            return bounding_boxes
        boxes_lib.check_format(self._who, self.bounding_box_format)
        height, width = self._height_width(transformation["input_shape"])
        boxes, (x1, y1, x2, y2) = boxes_lib.corners(bounding_boxes)
        zw = boxes_lib.per_image(transformation["width_zoom"], boxes)
        zh = boxes_lib.per_image(transformation["height_zoom"], boxes)
        w0, h0 = (width - 1.0) / 2.0 * (1.0 - zw), (height - 1.0) / 2.0 * (1.0 - zh)
        w1, h1 = zw * width + w0, zh * height + h0

        def window(v, start, end, size):
            return (jnp.clip(v, start, end) - start) / (end - start) * size
        return boxes_lib.clipped(bounding_boxes, window(x1, w0, w1, width),
                                 window(y1, h0, h1, height), window(x2, w0, w1, width),
                                 window(y2, h0, h1, height), height, width)

    def _matrix(self, transformation, height, width):
        zw = jnp.reshape(jnp.asarray(transformation["width_zoom"], "float32"), (-1,))
        zh = jnp.reshape(jnp.asarray(transformation["height_zoom"], "float32"), (-1,))
        zeros = jnp.zeros_like(zw)
        return jnp.stack([zw, zeros, (width - 1.0) / 2.0 * (1.0 - zw), zeros, zh,
                          (height - 1.0) / 2.0 * (1.0 - zh), zeros, zeros], axis=1)

    def get_config(self) -> Config:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


@register
class RandomTranslation(_AffineLayer):
    """Shift each image by a random fraction of its height and width.

    Args:
        height_factor: ``f`` or ``(a, b)`` in [-1, 1]: the vertical shift is drawn from
            ``[a, b] * height`` pixels (positive moves the content down).
        width_factor: the same for the horizontal shift (positive moves it right).
        fill_mode, interpolation, seed, fill_value, data_format: as for RandomRotation.
    """

    def __init__(self, height_factor: float | tuple[float, float],
                 width_factor: float | tuple[float, float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: SeedLike = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = _as_tuple(height_factor), _as_tuple(width_factor)
        self._height_range = factor_range(self._who, "height_factor", height_factor)
        self._width_range = factor_range(self._who, "width_factor", width_factor)

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        if not training:
            return None
        batch = self._batch_size(data)
        height, width = self._height_width(self._images_of(data).shape)
        key_h, key_w = jax.random.split(self._key(seed))
        dy = jax.random.uniform(key_h, (batch, 1), minval=self._height_range[0],
                                maxval=self._height_range[1]) * height
        dx = jax.random.uniform(key_w, (batch, 1), minval=self._width_range[0],
                                maxval=self._width_range[1]) * width
        return {"translations": jnp.concatenate([dx, dy], axis=1).astype("float32"),
                "input_shape": self._images_of(data).shape}

    def transform_bounding_boxes(self, bounding_boxes: dict[str, Any],
                                 transformation: dict[str, Any] | None, training: bool | None = True
            ) -> dict[str, Any]:
        """Shift ``"xyxy"`` boxes with their images, clipped to the image (Keras)."""
        if not training or transformation is None:
            return bounding_boxes
        boxes_lib.check_format(self._who, self.bounding_box_format)
        height, width = self._height_width(transformation["input_shape"])
        boxes, (x1, y1, x2, y2) = boxes_lib.corners(bounding_boxes)
        shifts = jnp.asarray(transformation["translations"], "float32")
        dx, dy = (boxes_lib.per_image(shifts[:, i], boxes) for i in (0, 1))
        return boxes_lib.clipped(bounding_boxes, x1 + dx, y1 + dy, x2 + dx, y2 + dy, height,
                                 width)

    def _matrix(self, transformation, height, width):
        shifts = jnp.asarray(transformation["translations"], "float32")
        ones, zeros = jnp.ones_like(shifts[:, 0]), jnp.zeros_like(shifts[:, 0])
        return jnp.stack([ones, zeros, -shifts[:, 0], zeros, ones, -shifts[:, 1], zeros,
                          zeros], axis=1)

    def get_config(self) -> Config:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}
