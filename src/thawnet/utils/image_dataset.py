"""``image_dataset_from_directory``: a folder of images as a streamed, indexable dataset.

The files are listed (and split into training / validation) exactly as Keras 3 lists them
(:mod:`thawnet.utils.directory_index`); each batch is decoded with Pillow only when it is
asked for, so the folder is never loaded into memory. Images are resized like Keras's
``keras.ops.image.resize`` (the same JAX resampling), so batches equal Keras's for the same
files and order.
"""

from __future__ import annotations

import math
import os
from typing import Any

import jax
import numpy as np

from thawnet.backend import global_config
from thawnet.layers.preprocessing_image import sampling
from thawnet.utils import directory_index
from thawnet.utils.py_dataset import PyDataset
from thawnet.backend.types import PathLike, SeedLike, TensorLike

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}
_WHO = "image_dataset_from_directory"


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency of the data extras
        raise ImportError(f"{_WHO} and load_img decode images with Pillow, which is not "
                          "installed: pip install pillow") from None
    return Image


def decode_image(path, num_channels: int, image_size, interpolation: str, data_format: str,
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False):
    """One image file as a float32 array of ``image_size`` (Keras's decoding rules)."""
    with _pil().open(path) as img:
        wanted = {1: ("L", "I;16", "I"), 3: ("RGB",), 4: ("RGBA",)}[num_channels]
        if img.mode not in wanted:
            img = img.convert(wanted[0])
        array = np.asarray(img, dtype="float32")
    if array.ndim == 2:
        array = array[..., None]
    if data_format == "channels_first":
        array = array.transpose(2, 0, 1)
    with jax.default_device(jax.devices("cpu")[0]):
        # sampling.resize is jit-compiled: one program per input shape and option set.
        resized = sampling.resize(array, tuple(image_size), interpolation,
                                  crop_to_aspect_ratio=crop_to_aspect_ratio,
                                  pad_to_aspect_ratio=pad_to_aspect_ratio,
                                  data_format=data_format)
    return np.asarray(resized, dtype="float32")


class ImageFolderDataset(PyDataset):
    """Batches ``(images, labels)`` (or ``images`` alone) of a list of image files.

    A :class:`~thawnet.utils.PyDataset`: indexable, so ``fit`` streams it with its
    prefetching thread (``workers`` threads decode at once) and BackupAndRestore resumes at
    the exact batch. The files keep the order of the listing (shuffled once by ``seed`` when
    ``shuffle=True``, as Keras lists them); ``fit(shuffle=True)`` (its default) permutes the
    batches of every epoch from its seed, which keeps a resumed run exact. Keras's tf.data
    pipeline also re-mixes files across batches each epoch; batches here keep their files.

    Attributes:
        file_paths: the files, in this dataset's order.
        class_names: names of the classes, in label order (None without labels).
    """

    def __init__(self, file_paths, labels, label_mode, class_names, batch_size, image_size,
                 num_channels, interpolation, data_format, crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, shuffle=False, seed=None, workers=1,
                 max_queue_size=10):
        super().__init__(workers=workers, max_queue_size=max_queue_size)
        self.file_paths = list(file_paths)
        self.labels = labels
        self.label_mode = label_mode
        self.class_names = class_names
        self.batch_size = batch_size
        self.image_size = tuple(image_size)
        self.num_channels = num_channels
        self.interpolation = interpolation
        self.data_format = data_format
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.shuffle = shuffle
        self.seed = 0 if seed is None else int(seed)


    def __len__(self) -> int:
        return math.ceil(len(self.file_paths) / (self.batch_size or 1))

    def _load(self, i):
        return decode_image(self.file_paths[i], self.num_channels, self.image_size,
                            self.interpolation, self.data_format, self.crop_to_aspect_ratio,
                            self.pad_to_aspect_ratio)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"{_WHO}: batch index {index} is out of range; the dataset has "
                             f"{len(self)} batches.")
        size = self.batch_size or 1
        rows = np.arange(index * size, min((index + 1) * size, len(self.file_paths)))
        images = np.stack([self._load(i) for i in rows])
        if self.batch_size is None:
            images = images[0]
        if self.label_mode is None:
            return images
        labels = directory_index.encode_labels(self.labels[rows], self.label_mode,
                                               len(self.class_names))
        return images, (labels[0] if self.batch_size is None else labels)

    def __repr__(self) -> str:
        return (f"<ImageFolderDataset {len(self.file_paths)} files, {len(self)} batches of "
                f"{self.batch_size}, image_size={self.image_size}>")


def _check_arguments(labels, label_mode, color_mode, image_size, interpolation, batch_size):
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(f"{_WHO}: labels must be 'inferred' (from the sub-folder names), "
                         "None (no labels) or a list of integer labels, one per file in "
                         f"sorted order; received labels={labels!r}.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f'{_WHO}: label_mode must be "int", "categorical", "binary" or None; '
                         f"received label_mode={label_mode!r}.")
    if color_mode not in _CHANNELS:
        raise ValueError(f'{_WHO}: color_mode must be "rgb", "rgba" or "grayscale"; received '
                         f"color_mode={color_mode!r}.")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if (not isinstance(image_size, (list, tuple)) or len(image_size) != 2
            or not all(isinstance(s, int) and s > 0 for s in image_size)):
        raise ValueError(f"{_WHO}: image_size must be (height, width), two positive integers; "
                         f"received image_size={image_size!r}.")
    interpolation = str(interpolation).lower()
    if interpolation not in sampling.RESIZE_INTERPOLATIONS:
        raise ValueError(f"{_WHO}: interpolation must be one of "
                         f"{sampling.RESIZE_INTERPOLATIONS}; received "
                         f"interpolation={interpolation!r}.")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
        raise ValueError(f"{_WHO}: batch_size must be a positive integer or None (single "
                         f"images); received batch_size={batch_size!r}.")
    return tuple(image_size), interpolation


def image_dataset_from_directory(directory: PathLike, labels: TensorLike = "inferred",
                                 label_mode: str = "int", class_names: Any = None,
                                 color_mode: str = "rgb", batch_size: int | None = 32,
                                 image_size: tuple[int, ...] = (256, 256), shuffle: bool = True,
                                 seed: SeedLike = None, validation_split: float | None = None,
                                 subset: Any = None, interpolation: str = "bilinear",
                                 follow_links: bool = False, crop_to_aspect_ratio: bool = False,
                                 pad_to_aspect_ratio: bool = False, data_format: str | None = None,
                                 format: str = "tf", verbose: bool = True, workers: int = 1) -> Any:
    """A dataset of the images in ``directory`` (one sub-folder per class), read lazily.

    Keras 3's arguments and results: ``labels="inferred"`` labels each image by its
    sub-folder (alphanumeric order, or the order of ``class_names``); ``label_mode`` gives
    int32 labels, one-hot ``"categorical"`` float32 labels, ``"binary"`` float32 ``(n, 1)``
    labels or none; images are float32 ``(batch, height, width, channels)`` with 1, 3 or 4
    channels for ``color_mode`` ``"grayscale"``, ``"rgb"``, ``"rgba"``.
    ``validation_split`` with ``subset="training"``, ``"validation"`` or ``"both"`` (a list
    of the two) splits the files as Keras does for the same ``seed``.

    ``format`` is accepted for Keras compatibility and ignored: the result is always a
    thawnet :class:`ImageFolderDataset` (a PyDataset) that ``fit``, ``evaluate`` and
    ``predict`` stream. ``workers`` threads decode images at once.

    Returns:
        An :class:`ImageFolderDataset` with ``class_names`` and ``file_paths``, or a list
        ``[training, validation]`` for ``subset="both"``.
    """
    image_size, interpolation = _check_arguments(labels, label_mode, color_mode, image_size,
                                                 interpolation, batch_size)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError(f"{_WHO}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio "
                         "can be True; received both.")
    directory_index.check_split_arguments(_WHO, validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, all_labels, names = directory_index.index_directory(
        _WHO, directory, labels, ALLOWLIST_FORMATS, class_names, shuffle, seed, follow_links,
        verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f'{_WHO}: label_mode="binary" needs exactly 2 classes; found '
                         f"class_names={names}. Use label_mode='int' or 'categorical'.")
    data_format = data_format or global_config.image_data_format()

    def make(subset_name, shuffled):
        sub_paths, sub_labels = directory_index.split(_WHO, paths, all_labels,
                                                      validation_split, subset_name, verbose)
        if not sub_paths:
            raise ValueError(f"{_WHO}: no images found in {os.fspath(directory)!r}"
                             f"{' for subset ' + repr(subset_name) if subset_name else ''}; "
                             f"the file extensions read are {ALLOWLIST_FORMATS}.")
        return ImageFolderDataset(sub_paths, sub_labels, label_mode, names, batch_size,
                                  image_size, _CHANNELS[color_mode], interpolation, data_format,
                                  crop_to_aspect_ratio, pad_to_aspect_ratio, shuffled, seed,
                                  workers=workers)

    if subset == "both":
        return [make("training", shuffle), make("validation", False)]
    return make(subset, shuffle)
