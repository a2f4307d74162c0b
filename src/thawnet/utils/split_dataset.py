"""``split_dataset``: cut a dataset into a left and a right part (e.g. train / test)."""

from __future__ import annotations

import random
from typing import Any

import jax
import numpy as np

from thawnet.utils.py_dataset import PyDataset
from thawnet.backend.types import SeedLike


def _sizes(left_size, right_size, total: int) -> tuple[int, int]:
    """Keras's rule: floats are fractions (rounded), ints are counts, None the rest."""
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: pass left_size or right_size (or both); received "
                         "left_size=None and right_size=None.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is None:
            continue
        if type(size) not in (int, float):
            raise TypeError(f"split_dataset: {name} must be an int (a count), a float in "
                            f"(0, 1) (a fraction) or None; received {name}={size!r} "
                            f"({type(size).__name__}).")
        if (type(size) is int and not 0 < size < total) or (
                type(size) is float and not 0 < size < 1):
            raise ValueError(f"split_dataset: {name} must be a positive int smaller than the "
                             f"dataset's {total} samples or a float in (0, 1); received "
                             f"{name}={size}.")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError(f"split_dataset: left_size + right_size must be at most 1; received "
                         f"{left_size} + {right_size}.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"split_dataset: left_size + right_size = {left + right} samples is "
                         f"more than the dataset's {total}.")
    if left == 0 or right == 0:
        raise ValueError(f"split_dataset: with {total} samples, left_size={left_size} and "
                         f"right_size={right_size} leave the {'left' if left == 0 else 'right'}"
                         " part empty; adjust the sizes.")
    return int(left), int(right)


class DatasetSubset(PyDataset):
    """Some of the batches of a PyDataset, by index (the result of ``split_dataset`` on a
    PyDataset: its batches are the samples split)."""

    def __init__(self, dataset: PyDataset, indices):
        super().__init__(workers=dataset.workers, use_multiprocessing=dataset.use_multiprocessing,
                         max_queue_size=dataset.max_queue_size)
        self.dataset = dataset
        self.indices = list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[self.indices[index]]


def split_dataset(dataset: Any, left_size: Any = None, right_size: Any = None,
                  shuffle: bool = False, seed: SeedLike = None, preferred_backend: Any = None
        ) -> tuple:
    """Split ``dataset`` into ``(left, right)``.

    Args:
        dataset: an array, a tuple/list/dict of arrays of the same length (split along the
            first axis, keeping the structure), or a PyDataset (its batches are split).
        left_size: int (a count) or float in (0, 1) (a fraction) for the left part; None:
            the rest.
        right_size: the same for the right part (taken from the end).
        shuffle: shuffle the samples first (Python's ``random`` seeded with ``seed``, as
            Keras does, so the same seed picks the same samples).
        seed: the shuffling seed.
        preferred_backend: accepted for Keras compatibility; unused.

    Returns:
        ``(left, right)``: of the same structure as ``dataset`` (NumPy arrays), or two
        :class:`DatasetSubset` for a PyDataset.

    >>> import numpy as np
    >>> left, right = split_dataset(np.arange(10), left_size=0.8)
    >>> left.tolist(), right.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if isinstance(dataset, PyDataset):
        total = len(dataset)
    else:
        leaves = jax.tree_util.tree_leaves(dataset)
        if not leaves or not all(hasattr(leaf, "shape") or isinstance(leaf, (list, tuple))
                                 for leaf in leaves):
            raise TypeError("split_dataset: dataset must be an array, a tuple/list/dict of "
                            f"arrays or a thawnet PyDataset; received {type(dataset).__name__}.")
        lengths = {len(leaf) for leaf in leaves}
        if len(lengths) != 1:
            raise ValueError("split_dataset: every array of dataset must have the same number "
                             f"of samples (first dimension); received lengths {sorted(lengths)}.")
        total = lengths.pop()
    left, right = _sizes(left_size, right_size, total)
    order = list(range(total))
    if shuffle:
        random.Random(random.randint(0, int(1e6)) if seed is None else seed).shuffle(order)
    left_idx, right_idx = order[:left], order[total - right:]
    if isinstance(dataset, PyDataset):
        return DatasetSubset(dataset, left_idx), DatasetSubset(dataset, right_idx)

    def take(indices):
        return jax.tree_util.tree_map(lambda a: np.asarray(a)[np.asarray(indices, "int64")],
                                      dataset)
    return take(left_idx), take(right_idx)
