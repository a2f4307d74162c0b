"""Layers that change an image's size: Resizing, CenterCrop and RandomCrop (Keras 3)."""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from thawnet.backend.types import Array, Config, SeedLike, ShapeLike, TensorLike, TensorTree
from thawnet.layers.layer import register
from thawnet.layers.preprocessing_image import boxes as boxes_lib
from thawnet.layers.preprocessing_image import sampling
from thawnet.layers.preprocessing_image.base import ImagePreprocessingLayer, check_choice


def _check_size(who, height, width):
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{who}: {name} must be a positive integer (pixels); received "
                             f"{name}={value!r}.")
    return int(height), int(width)


def _center_crop(images, height, width, data_format):
    ax_h, ax_w = sampling.hw_axes(data_format)
    in_h, in_w = images.shape[ax_h], images.shape[ax_w]
    if in_h >= height and in_w >= width:
        top, left = (in_h - height) // 2, (in_w - width) // 2
        return sampling.crop(images, top, left, height, width, data_format)
    return sampling.smart_resize(images, (height, width),
                                 data_format=data_format).astype(images.dtype)


class _SizedLayer(ImagePreprocessingLayer):
    """A layer whose output is ``(height, width)`` images."""

    def __init__(self, height: int, width: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.height, self.width = _check_size(self._who, height, width)

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        return {"input_shape": tuple(self._images_of(data).shape)}

    def _boxes_out(self, bounding_boxes, x1, y1, x2, y2):
        return boxes_lib.clipped(bounding_boxes, x1, y1, x2, y2, self.height, self.width)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(f"{self._who}: expected an input shape of rank 3 or 4; received "
                             f"{tuple(input_shape)}.")
        ax_h, ax_w = sampling.hw_axes(self.data_format)
        shape[ax_h], shape[ax_w] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> Config:
        return {**super().get_config(), "height": self.height, "width": self.width}


@register
class Resizing(_SizedLayer):
    """Resize images to ``(height, width)``.

    Args:
        height, width: output size in pixels.
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"area"``,
            ``"lanczos3"`` or ``"lanczos5"``.
        crop_to_aspect_ratio: first crop the largest centred window of the target aspect
            ratio (no distortion).
        pad_to_aspect_ratio: first pad with ``fill_value`` to the target aspect ratio.
        fill_mode: ``"constant"`` (the only mode of the padding).
        fill_value: value of the padding.
        antialias: low-pass filter when downsampling.
        data_format: ``"channels_last"`` or ``"channels_first"``.

    Integer images come back as integers (rounded and clipped to the dtype's range), as in
    Keras.

    >>> import numpy as np
    >>> Resizing(2, 2)(np.ones((4, 4, 3), "float32")).shape
    (2, 2, 3)
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0, antialias: bool = False,
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(height, width, data_format=data_format, **kwargs)
        self.interpolation = check_choice(self._who, "interpolation", interpolation,
                                          sampling.RESIZE_INTERPOLATIONS)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{self._who}: only one of crop_to_aspect_ratio and "
                             "pad_to_aspect_ratio can be True; received both.")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = check_choice(self._who, "fill_mode", fill_mode, ("constant",))
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def _resize(self, images, interpolation):
        resized = sampling.resize(images, (self.height, self.width), interpolation,
                                  self.antialias, self.crop_to_aspect_ratio,
                                  self.pad_to_aspect_ratio, self.fill_value, self.data_format)
        if resized.dtype == images.dtype:
            return resized
        if jnp.issubdtype(images.dtype, jnp.integer):
            info = jnp.iinfo(images.dtype)
            return jnp.clip(jnp.round(resized), info.min, info.max).astype(images.dtype)
        return resized.astype(images.dtype)

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        return self._resize(images, self.interpolation)

    def transform_segmentation_masks(self, segmentation_masks: TensorLike,
                                     transformation: dict[str, Any] | None = None,
                                     training: bool | None = True) -> Array:
        return self._resize(segmentation_masks, "nearest")

    def transform_bounding_boxes(self, bounding_boxes: dict[str, Any],
                                 transformation: dict[str, Any] | None = None,
                                 training: bool | None = True) -> dict[str, Any]:
        """``"xyxy"`` boxes in the resized image (stretched, padded or cropped as the
        pixels are); all-0 and all-(-1) padding boxes stay zeros (Keras)."""
        boxes_lib.check_format(self._who, self.bounding_box_format)
        in_h, in_w = self._height_width(transformation["input_shape"])
        boxes, (x1, y1, x2, y2) = boxes_lib.corners(bounding_boxes)
        if self.pad_to_aspect_ratio:
            r = min(self.height / in_h, self.width / in_w)
            dx, dy = (self.width - in_w * r) // 2, (self.height - in_h * r) // 2
            sx = sy = r
        elif self.crop_to_aspect_ratio:
            source, target = in_w / in_h, self.width / self.height
            new_w = self.height * source if source > target else self.width
            new_h = self.height if source > target else self.width / source
            sx, sy = new_w / in_w, new_h / in_h
            dx, dy = -((new_w - self.width) // 2), -((new_h - self.height) // 2)
        else:
            sx, sy, dx, dy = self.width / in_w, self.height / in_h, 0.0, 0.0
        out = self._boxes_out(bounding_boxes, x1 * sx + dx, y1 * sy + dy, x2 * sx + dx,
                              y2 * sy + dy)
        padding = jnp.all(boxes == -1, axis=-1) | jnp.all(boxes == 0, axis=-1)
        out["boxes"] = jnp.where(padding[..., None], 0.0, out["boxes"])
        return out

    def output_dtype(self, inputs: TensorTree) -> str:
        dtype = getattr(inputs, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jnp.integer):
            return dtype
        return self.compute_dtype

    def get_config(self) -> Config:
        return {**super().get_config(), "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


@register
class CenterCrop(_SizedLayer):
    """Crop the central ``(height, width)`` window; an image smaller than that is first
    cropped to the target aspect ratio and resized (Keras's ``smart_resize``).

    >>> import numpy as np
    >>> CenterCrop(2, 2)(np.arange(16.0).reshape(4, 4, 1))[..., 0].tolist()
    [[5.0, 6.0], [9.0, 10.0]]
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs) -> None:
        super().__init__(height, width, data_format=data_format, **kwargs)

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        return _center_crop(self._as_compute(images), self.height, self.width,
                            self.data_format)

    def transform_bounding_boxes(self, bounding_boxes: dict[str, Any],
                                 transformation: dict[str, Any] | None = None,
                                 training: bool | None = True) -> dict[str, Any]:
        """``"xyxy"`` boxes in the cropped (or, for a small image, cropped and resized)
        image, clipped (Keras)."""
        boxes_lib.check_format(self._who, self.bounding_box_format)
        in_h, in_w = self._height_width(transformation["input_shape"])
        _, (x1, y1, x2, y2) = boxes_lib.corners(bounding_boxes)
        if in_h >= self.height and in_w >= self.width:
            top, left, crop_h, crop_w = ((in_h - self.height) // 2, (in_w - self.width) // 2,
                                         self.height, self.width)
        else:
            top, left, crop_h, crop_w = sampling.aspect_crop_box(in_h, in_w, self.height,
                                                                 self.width)
        sx, sy = self.width / crop_w, self.height / crop_h

        def x(v):
            return (jnp.clip(v, left, left + crop_w) - left) * sx

        def y(v):
            return (jnp.clip(v, top, top + crop_h) - top) * sy
        return self._boxes_out(bounding_boxes, x(x1), y(y1), x(x2), y(y2))


@register
class RandomCrop(_SizedLayer):
    """In training, crop a random ``(height, width)`` window (the same window for the whole
    batch, as Keras); when the image is not larger in both dimensions, the centred window of
    the target aspect ratio, resized. At inference the centre is cropped as CenterCrop does,
    so the output always has the shape ``compute_output_shape`` states (Keras 3 passes the
    images unchanged at inference, which breaks a following Flatten/Dense in ``predict``).

    Args:
        height, width: output size.
        seed: int for reproducible eager draws.
        data_format: ``"channels_last"`` or ``"channels_first"``.
    """

    def __init__(self, height: int, width: int, seed: SeedLike = None,
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(height, width, seed=seed, data_format=data_format, **kwargs)

    def get_random_transformation(self, data: Any, training: bool | None = True,
                                  seed: SeedLike = None) -> dict[str, Any] | None:
        in_h, in_w = self._height_width(self._images_of(data).shape)
        if training and in_h > self.height and in_w > self.width:
            key_h, key_w = jax.random.split(self._key(seed))
            top = jax.random.randint(key_h, (), 0, in_h - self.height + 1)
            left = jax.random.randint(key_w, (), 0, in_w - self.width + 1)
            return top, left
        top, left, _, _ = sampling.aspect_crop_box(in_h, in_w, self.height, self.width)
        return top, left

    def transform_images(self, images: TensorLike, transformation: dict[str, Any] | None = None,
                         training: bool | None = True) -> Array:
        images = self._as_compute(images)
        if not training:
            return _center_crop(images, self.height, self.width, self.data_format)
        if transformation is None:
            transformation = self.get_random_transformation(images, training)
        top, left = transformation
        in_h, in_w = self._height_width(images.shape)
        ax_h, ax_w = sampling.hw_axes(self.data_format)
        if isinstance(top, int):
            # A static window (the aspect-ratio fallback): as Keras, slice then resize.
            crop_h, crop_w = min(self.height, in_h - top), min(self.width, in_w - left)
            images = sampling.crop(images, top, left, crop_h, crop_w, self.data_format)
            if (crop_h, crop_w) != (self.height, self.width):
                images = sampling.resize(images, (self.height, self.width),
                                         data_format=self.data_format).astype(images.dtype)
            return images
        starts = [0] * images.ndim
        starts[images.ndim + ax_h], starts[images.ndim + ax_w] = top, left
        sizes = list(images.shape)
        sizes[images.ndim + ax_h], sizes[images.ndim + ax_w] = self.height, self.width
        return jax.lax.dynamic_slice(images, starts, sizes)

    def transform_bounding_boxes(self, bounding_boxes: dict[str, Any],
                                 transformation: dict[str, Any] | None = None,
                                 training: bool | None = True) -> dict[str, Any]:
        """``"xyxy"`` boxes moved into the crop window, clipped to it."""
        boxes_lib.check_format(self._who, self.bounding_box_format)
        if not training:
            return bounding_boxes
        top, left = (jnp.asarray(v, "float32") for v in transformation)
        _, (x1, y1, x2, y2) = boxes_lib.corners(bounding_boxes)
        return self._boxes_out(bounding_boxes, x1 - left, y1 - top, x2 - left, y2 - top)

    def get_config(self) -> Config:
        return {**super().get_config(), "seed": self.seed}
