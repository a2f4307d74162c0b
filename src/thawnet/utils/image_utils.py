"""Image files and arrays (Keras 3's ``load_img``, ``img_to_array``, ``array_to_img``,
``save_img``), with Pillow."""

from __future__ import annotations

import io
import pathlib
import warnings
from typing import Any

import numpy as np

from thawnet.backend import global_config
from thawnet.backend.types import DTypeLike, PathLike, TensorLike

_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil(who: str):
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency of the data extras
        raise ImportError(f"{who} needs Pillow, which is not installed: pip install pillow") \
            from None
    return Image


def _data_format(who, data_format):
    data_format = data_format or global_config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f'{who}: data_format must be "channels_last" or "channels_first"; '
                         f"received data_format={data_format!r}.")
    return data_format


def array_to_img(x: TensorLike, data_format: str | None = None, scale: bool = True,
                 dtype: DTypeLike | None = None) -> Any:
    """A PIL image from a 3-D array (``scale=True`` maps its min..max to 0..255).

    >>> import numpy as np
    >>> array_to_img(np.zeros((2, 3, 3))).size
    (3, 2)
    """
    Image = _pil("array_to_img")
    data_format = _data_format("array_to_img", data_format)
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected a single image of rank 3 (height, width, "
                         f"channels); received an array of shape {x.shape}.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: images have 1, 3 or 4 channels; received {channels} "
                     f"(shape {x.shape}).")


def img_to_array(img: Any, data_format: str | None = None, dtype: DTypeLike | None = None) -> Any:
    """A 3-D array from a PIL image (grayscale images get a channel axis).

    >>> img_to_array(array_to_img(np.zeros((2, 3, 1)))).shape
    (2, 3, 1)
    """
    data_format = _data_format("img_to_array", data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[..., None]
    raise ValueError(f"img_to_array: unsupported image shape {x.shape}; expected (height, "
                     "width) or (height, width, channels).")


def save_img(path: PathLike, x: TensorLike, data_format: str | None = None, file_format: Any = None,
             scale: bool = True, **kwargs) -> None:
    """Save an array as an image file (format from ``file_format`` or the extension)."""
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG has no alpha channel; the RGBA image is saved as RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format or None, **kwargs)


def load_img(path: PathLike, color_mode: str = "rgb", target_size: Any = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """Load an image file as a PIL image.

    Args:
        path: a path or an ``io.BytesIO``.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        target_size: None, or ``(height, width)`` to resize to.
        interpolation: Pillow resampling: ``"nearest"``, ``"bilinear"``, ``"bicubic"``,
            ``"hamming"``, ``"box"``, ``"lanczos"``.
        keep_aspect_ratio: crop the centre to the target aspect ratio before resizing.
    """
    Image = _pil("load_img")
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: path must be a path (str, bytes, pathlib.Path) or an "
                        f"io.BytesIO; received {type(path).__name__}.")
    modes = {"grayscale": ("L", "I;16", "I"), "rgba": ("RGBA",), "rgb": ("RGB",)}
    if color_mode not in modes:
        raise ValueError(f'load_img: color_mode must be "grayscale", "rgb" or "rgba"; '
                         f"received color_mode={color_mode!r}.")
    if img.mode not in modes[color_mode]:
        img = img.convert(modes[color_mode][0])
    if target_size is None:
        return img
    size = (target_size[1], target_size[0])
    if img.size == size:
        return img
    if interpolation not in _RESAMPLING:
        raise ValueError(f"load_img: interpolation must be one of {_RESAMPLING}; received "
                         f"interpolation={interpolation!r}.")
    resample = getattr(getattr(Image, "Resampling", Image), interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_h = min(height, width * size[1] // size[0])
    crop_w = min(width, height * size[0] // size[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(size, resample, box=[left, top, left + crop_w, top + crop_h])
