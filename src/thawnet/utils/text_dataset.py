"""``text_dataset_from_directory``: a folder of ``.txt`` files as a streamed dataset of
strings, listed and split as Keras 3 does (:mod:`thawnet.utils.directory_index`)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from thawnet.utils import directory_index
from thawnet.utils.py_dataset import PyDataset
from thawnet.backend.types import PathLike, SeedLike, TensorLike

_WHO = "text_dataset_from_directory"


class TextFolderDataset(PyDataset):
    """Batches ``(texts, labels)`` (or ``texts``) read from files when asked for.

    ``texts`` is a NumPy array of ``str``; ``file_paths`` and ``class_names`` as Keras's.
    The files keep the listing's order (shuffled once by ``seed``); ``fit(shuffle=True)``
    permutes the batches of every epoch, so a resumed run stays exact.
    """

    def __init__(self, file_paths, labels, label_mode, class_names, batch_size, max_length,
                 shuffle=False, seed=None):
        super().__init__()
        self.file_paths = list(file_paths)
        self.labels, self.label_mode, self.class_names = labels, label_mode, class_names
        self.batch_size, self.max_length = batch_size, max_length
        self.shuffle, self.seed = shuffle, 0 if seed is None else int(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.file_paths) / (self.batch_size or 1))

    def _read(self, i) -> str:
        with open(self.file_paths[i], encoding="utf-8") as f:
            text = f.read()
        return text if self.max_length is None else text[:self.max_length]

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"{_WHO}: batch index {index} is out of range; the dataset has "
                             f"{len(self)} batches.")
        size = self.batch_size or 1
        rows = np.arange(index * size, min((index + 1) * size, len(self.file_paths)))
        texts = np.asarray([self._read(i) for i in rows], dtype=str)
        if self.batch_size is None:
            texts = texts[0]
        if self.label_mode is None:
            return texts
        labels = directory_index.encode_labels(self.labels[rows], self.label_mode,
                                               len(self.class_names))
        return texts, (labels[0] if self.batch_size is None else labels)


def text_dataset_from_directory(directory: PathLike, labels: TensorLike = "inferred",
                                label_mode: str = "int", class_names: Any = None,
                                batch_size: int | None = 32, max_length: Any = None,
                                shuffle: bool = True, seed: SeedLike = None,
                                validation_split: float | None = None, subset: Any = None,
                                follow_links: bool = False, format: str = "tf", verbose: bool = True
        ) -> Any:
    """A dataset of the ``.txt`` files in ``directory`` (one sub-folder per class).

    Keras 3's arguments: labels from sub-folder names (``labels="inferred"``), a list of
    labels, or None; ``label_mode`` ``"int"``, ``"categorical"``, ``"binary"`` or None;
    ``max_length`` truncates each text to that many characters; ``validation_split`` and
    ``subset`` (``"training"``, ``"validation"``, ``"both"``) split the files as Keras does
    for the same ``seed``. ``format`` is accepted and ignored: the result is a
    :class:`TextFolderDataset` (a PyDataset) with ``class_names`` and ``file_paths``.
    """
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(f"{_WHO}: labels must be 'inferred', None or a list of integer labels "
                         f"(one per file, in sorted order); received labels={labels!r}.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f'{_WHO}: label_mode must be "int", "categorical", "binary" or None; '
                         f"received label_mode={label_mode!r}.")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
        raise ValueError(f"{_WHO}: batch_size must be a positive integer or None; received "
                         f"batch_size={batch_size!r}.")
    if max_length is not None and (not isinstance(max_length, int) or max_length <= 0):
        raise ValueError(f"{_WHO}: max_length must be a positive integer (characters) or None; "
                         f"received max_length={max_length!r}.")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    directory_index.check_split_arguments(_WHO, validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, all_labels, names = directory_index.index_directory(
        _WHO, directory, labels, (".txt",), class_names, shuffle, seed, follow_links, verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f'{_WHO}: label_mode="binary" needs exactly 2 classes; found '
                         f"class_names={names}.")

    def make(subset_name, shuffled):
        sub_paths, sub_labels = directory_index.split(_WHO, paths, all_labels,
                                                      validation_split, subset_name, verbose)
        if not sub_paths:
            raise ValueError(f"{_WHO}: no .txt files found in {os.fspath(directory)!r}.")
        return TextFolderDataset(sub_paths, sub_labels, label_mode, names, batch_size,
                                 max_length, shuffled, seed)

    if subset == "both":
        return [make("training", shuffle), make("validation", False)]
    return make(subset, shuffle)
