"""Image ops of Keras 3 (``keras.ops.image``): resize, colour spaces, padding, patches.

Images are ``(height, width, channels)`` or batched ``(batch, height, width, channels)``
(``channels_first`` swaps the channel axis), as in Keras.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.backend import global_config
from thawnet.ops.dispatch import op

_METHODS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")


def _to_last(images, data_format):
    # Work channels-last; returns a function that restores the caller's layout.
    if (data_format or global_config.image_data_format()) == "channels_last":
        return jnp.asarray(images), lambda x: x
    images = jnp.moveaxis(jnp.asarray(images), -3, -1)
    return images, lambda x: jnp.moveaxis(x, -1, -3)


@op
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resize images to ``size = (height, width)``.

    Args:
        images: 3-D or 4-D images.
        size: ``(height, width)``.
        interpolation: one of ``bilinear``, ``nearest``, ``lanczos3``, ``lanczos5``,
            ``bicubic``.
        antialias: low-pass filter when downsampling.
        crop_to_aspect_ratio, pad_to_aspect_ratio: not supported (True raises).
        fill_mode, fill_value: used with ``pad_to_aspect_ratio`` only.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        Resized images (float).
    """
    if interpolation not in _METHODS:
        raise ValueError(f"ops.image.resize: interpolation must be one of {_METHODS}; received "
                         f"interpolation={interpolation!r}.")
    if crop_to_aspect_ratio or pad_to_aspect_ratio:
        raise ValueError("ops.image.resize: crop_to_aspect_ratio and pad_to_aspect_ratio are not "
                         "supported by thawnet; crop or pad with ops.image.crop_images / "
                         "pad_images first.")
    images, restore = _to_last(images, data_format)
    shape = images.shape[:-3] + tuple(size) + images.shape[-1:]
    return restore(jax.image.resize(images, shape, method=interpolation, antialias=antialias))


@op
def rgb_to_grayscale(images, data_format=None):
    """Luma ``0.2989 R + 0.5870 G + 0.1140 B``, keeping a channel axis of size 1.

    Args:
        images: RGB images.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        Grayscale images.
    """
    images, restore = _to_last(images, data_format)
    weights = jnp.asarray([0.2989, 0.5870, 0.1140], images.dtype)
    return restore(jnp.tensordot(images, weights, axes=(-1, -1))[..., None])


@op
def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to HSV in [0, 1].

    Args:
        images: float RGB images.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        HSV images.
    """
    images, restore = _to_last(images, data_format)
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    value = jnp.max(images, axis=-1)
    spread = value - jnp.min(images, axis=-1)
    safe = jnp.where(spread > 0, spread, 1.0)
    saturation = jnp.where(value > 0, spread / jnp.where(value > 0, value, 1.0), 0.0)
    hue = jnp.where(value == r, (g - b) / safe,
                    jnp.where(value == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    hue = jnp.where(spread > 0, (hue / 6.0) % 1.0, 0.0)
    return restore(jnp.stack([hue, saturation, value], axis=-1))


@op
def hsv_to_rgb(images, data_format=None):
    """HSV in [0, 1] to RGB in [0, 1].

    Args:
        images: float HSV images.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        RGB images.
    """
    images, restore = _to_last(images, data_format)
    h, s, v = images[..., 0], images[..., 1], images[..., 2]

    def channel(n):
        k = (n + h * 6.0) % 6.0
        return v - v * s * jnp.clip(jnp.minimum(k, 4.0 - k), 0.0, 1.0)

    return restore(jnp.stack([channel(5.0), channel(3.0), channel(1.0)], axis=-1))


@op
def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """Zero-pad images to ``target_height`` x ``target_width`` or by the given amounts.

    Args:
        images: 3-D or 4-D images.
        top_padding, left_padding, bottom_padding, right_padding: rows/columns to add.
        target_height, target_width: the output size (with top/left padding given, the rest
            goes to the bottom/right).
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        Padded images.
    """
    images, restore = _to_last(images, data_format)
    height, width = images.shape[-3], images.shape[-2]
    top, bottom = top_padding or 0, bottom_padding or 0
    left, right = left_padding or 0, right_padding or 0
    if target_height is not None:
        if bottom_padding is None:
            bottom = target_height - height - top
        elif top_padding is None:
            top = target_height - height - bottom
    if target_width is not None:
        if right_padding is None:
            right = target_width - width - left
        elif left_padding is None:
            left = target_width - width - right
    if min(top, bottom, left, right) < 0:
        raise ValueError(f"ops.image.pad_images: the padding must be >= 0; received top={top}, "
                         f"bottom={bottom}, left={left}, right={right} for images of size "
                         f"{height}x{width}.")
    pads = [(0, 0)] * (images.ndim - 3) + [(top, bottom), (left, right), (0, 0)]
    return restore(jnp.pad(images, pads))


@op
def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crop images to ``target_height`` x ``target_width`` or by the given amounts.

    Args:
        images: 3-D or 4-D images.
        top_cropping, left_cropping, bottom_cropping, right_cropping: rows/columns to drop.
        target_height, target_width: the output size.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        Cropped images.
    """
    images, restore = _to_last(images, data_format)
    height, width = images.shape[-3], images.shape[-2]
    top, left = top_cropping or 0, left_cropping or 0
    out_h = target_height if target_height is not None else height - top - (bottom_cropping or 0)
    out_w = target_width if target_width is not None else width - left - (right_cropping or 0)
    if target_height is not None and top_cropping is None and bottom_cropping is not None:
        top = height - bottom_cropping - out_h
    if target_width is not None and left_cropping is None and right_cropping is not None:
        left = width - right_cropping - out_w
    if out_h <= 0 or out_w <= 0 or top + out_h > height or left + out_w > width:
        raise ValueError(f"ops.image.crop_images: the crop ({top}+{out_h} rows, {left}+{out_w} "
                         f"columns) does not fit images of size {height}x{width}.")
    return restore(images[..., top:top + out_h, left:left + out_w, :])


@op
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of ``size`` flattened into the channel axis.

    Args:
        images: 3-D or 4-D images.
        size: ``(patch_height, patch_width)`` or an int.
        strides: default ``size`` (non-overlapping).
        dilation_rate: int or pair.
        padding: ``"valid"`` or ``"same"``.
        data_format: ``"channels_last"`` or ``"channels_first"`` (default: the config's).

    Returns:
        ``(..., rows, cols, patch_height * patch_width * channels)``.
    """
    images, restore = _to_last(images, data_format)
    size = (size, size) if isinstance(size, int) else tuple(size)
    strides = size if strides is None else (
        (strides, strides) if isinstance(strides, int) else tuple(strides))
    dilation = (dilation_rate,) * 2 if isinstance(dilation_rate, int) else tuple(dilation_rate)
    batched = images.ndim == 4
    x = images if batched else images[None]
    patches = jax.lax.conv_general_dilated_patches(
        x, size, strides, padding.upper(), rhs_dilation=dilation,
        dimension_numbers=("NHWC", "OIHW", "NHWC"))
    # lax orders a patch as (channel, row, col); Keras as (row, col, channel).
    n, rows, cols, _ = patches.shape
    channels = x.shape[-1]
    patches = patches.reshape(n, rows, cols, channels, size[0] * size[1])
    patches = jnp.swapaxes(patches, -1, -2).reshape(n, rows, cols, -1)
    return restore(patches if batched else patches[0])


@op
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """``inputs`` sampled at ``coordinates`` by spline interpolation of ``order`` 0 or 1.

    Args:
        inputs: an N-D tensor.
        coordinates: ``(N, ...)`` coordinates, one row per axis of ``inputs``.
        order: 0 (nearest) or 1 (linear).
        fill_mode: ``constant``, ``nearest``, ``wrap``, ``mirror`` or ``reflect``.
        fill_value: value outside the input with ``constant``.

    Returns:
        A tensor shaped like ``coordinates[0]``.
    """
    return jax.scipy.ndimage.map_coordinates(inputs, list(coordinates), order, mode=fill_mode,
                                             cval=fill_value)


__all__ = [
    "crop_images", "extract_patches", "hsv_to_rgb", "map_coordinates", "pad_images", "resize",
    "rgb_to_grayscale", "rgb_to_hsv",
]
