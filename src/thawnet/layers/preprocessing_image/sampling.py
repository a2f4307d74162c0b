"""Image resampling used by the preprocessing layers: resize (with Keras's aspect-ratio crop
and pad, and TF-style ``area``) and the 8-number affine transform of ``keras.ops.image``.

The affine convention is Keras's: a transform ``[a0, a1, a2, b0, b1, b2, c0, c1]`` maps an
*output* pixel ``(x, y)`` (column, row) to the *input* point
``(a0*x + a1*y + a2, b0*x + b1*y + b2)``; ``c0, c1`` are 0 for the layers here.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")
AFFINE_INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def hw_axes(data_format: str) -> tuple[int, int]:
    """The (height, width) axes counted from the end."""
    return (-3, -2) if data_format == "channels_last" else (-2, -1)


def aspect_crop_box(height: int, width: int, target_h: int, target_w: int):
    """Largest centred window of the target aspect ratio: ``(top, left, h, w)``."""
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


def crop(images, top, left, h, w, data_format):
    ax_h, ax_w = hw_axes(data_format)
    images = jax.lax.slice_in_dim(images, top, top + h, axis=images.ndim + ax_h)
    return jax.lax.slice_in_dim(images, left, left + w, axis=images.ndim + ax_w)


def _pad_to_aspect(images, target_h, target_w, fill_value, data_format):
    # Centred bands of fill_value on one side pair, as Keras: height first, else width.
    ax_h, ax_w = hw_axes(data_format)
    height, width = images.shape[ax_h], images.shape[ax_w]
    pad_h = max(height, int(float(width * target_h) / target_w))
    pad_w = max(width, int(float(height * target_w) / target_h))
    top, left = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
    pads = [(0, 0)] * images.ndim
    if top > 0:
        pads[images.ndim + ax_h] = (top, top)
    elif left > 0:
        pads[images.ndim + ax_w] = (left, left)
    else:
        return images
    return jnp.pad(images, pads, constant_values=jnp.asarray(fill_value, images.dtype))


def _area_weights(n_in: int, n_out: int):
    """``(n_out, n_in)`` matrix averaging the input cells each output cell covers exactly
    (the box filter of TF's ``area`` resize)."""
    scale = n_in / n_out
    starts = jnp.arange(n_out) * scale
    ends = starts + scale
    cells = jnp.arange(n_in)
    overlap = jnp.clip(jnp.minimum(ends[:, None], cells[None, :] + 1)
                       - jnp.maximum(starts[:, None], cells[None, :]), 0.0, None)
    return overlap / scale


def _area_resize(images, size, data_format):
    ax_h, ax_w = hw_axes(data_format)
    x = images.astype(jnp.promote_types(images.dtype, jnp.float32))
    wh = _area_weights(x.shape[ax_h], size[0]).astype(x.dtype)
    ww = _area_weights(x.shape[ax_w], size[1]).astype(x.dtype)
    x = jnp.moveaxis(jnp.tensordot(wh, x, axes=[[1], [x.ndim + ax_h]]), 0, x.ndim + ax_h)
    return jnp.moveaxis(jnp.tensordot(ww, x, axes=[[1], [x.ndim + ax_w]]), 0, x.ndim + ax_w)


@functools.partial(jax.jit, static_argnames=("size", "interpolation", "antialias",
                                             "crop_to_aspect_ratio", "pad_to_aspect_ratio",
                                             "data_format"))
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_value=0.0, data_format="channels_last"):
    """Resize 3-D or 4-D ``images`` to ``size = (height, width)`` as Keras's JAX backend does
    (``jax.image.resize`` after the optional centred crop or pad), plus ``area``."""
    target_h, target_w = int(size[0]), int(size[1])
    ax_h, ax_w = hw_axes(data_format)
    if crop_to_aspect_ratio:
        top, left, h, w = aspect_crop_box(images.shape[ax_h], images.shape[ax_w],
                                          target_h, target_w)
        images = crop(images, top, left, h, w, data_format)
    elif pad_to_aspect_ratio:
        images = _pad_to_aspect(images, target_h, target_w, fill_value, data_format)
    if interpolation == "area":
        return _area_resize(images, (target_h, target_w), data_format)
    shape = list(images.shape)
    shape[len(shape) + ax_h], shape[len(shape) + ax_w] = target_h, target_w
    if not jnp.issubdtype(images.dtype, jnp.floating):
        images = images.astype(jnp.float32)
    return jax.image.resize(images, tuple(shape), method=interpolation, antialias=antialias)


def smart_resize(images, size, interpolation="bilinear", data_format="channels_last"):
    """Centre-crop to the target aspect ratio, then resize (Keras's ``smart_resize``)."""
    return resize(images, size, interpolation, crop_to_aspect_ratio=True,
                  data_format=data_format)


def affine_matrix(angle_deg, translate_x, translate_y, scale, height, width,
                  center=(0.5, 0.5)):
    """Keras's rotation/translation/scale matrix about ``center`` (fractions of the image);
    one 8-vector per entry of the ``(batch,)`` arguments."""
    angle = angle_deg * (math.pi / 180.0)
    cx, cy = center[0] * (width - 1), center[1] * (height - 1)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    a0, a1 = scale * cos, -scale * sin
    b0, b1 = scale * sin, scale * cos
    a2 = translate_x + cx - cx * a0 - cy * a1
    b2 = translate_y + cy - cx * b0 - cy * b1
    zeros = jnp.zeros_like(a0)
    return jnp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


@functools.partial(jax.jit, static_argnames=("interpolation", "fill_mode", "fill_value",
                                             "data_format"))
def affine_transform(images, transforms, interpolation="bilinear", fill_mode="constant",
                     fill_value=0.0, data_format="channels_last"):
    """Sample 4-D ``images`` at the points ``transforms`` (``(batch, 8)``) map each output
    pixel to, with ``map_coordinates`` (order 0 or 1) and its fill modes."""
    if data_format == "channels_first":
        images = jnp.moveaxis(images, 1, -1)
    _, height, width, channels = images.shape
    rows, cols = jnp.meshgrid(jnp.arange(height, dtype=images.dtype),
                              jnp.arange(width, dtype=images.dtype), indexing="ij")
    order = AFFINE_INTERPOLATIONS[interpolation]

    def one(image, t):
        t = t.astype(images.dtype)
        denom = t[6] * cols + t[7] * rows + 1.0
        src_x = (t[0] * cols + t[1] * rows + t[2]) / denom
        src_y = (t[3] * cols + t[4] * rows + t[5]) / denom

        def channel(plane):
            return jax.scipy.ndimage.map_coordinates(plane, [src_y, src_x], order=order,
                                                     mode=fill_mode, cval=fill_value)
        return jax.vmap(channel, in_axes=-1, out_axes=-1)(image)

    out = jax.vmap(one)(images, transforms)
    if data_format == "channels_first":
        out = jnp.moveaxis(out, -1, 1)
    return out
