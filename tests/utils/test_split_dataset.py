"""split_dataset: sizes as Keras computes them, the structure kept, Keras's shuffle (Python's
random seeded with ``seed``), PyDatasets split by batch, and named errors."""

import random

import numpy as np
import pytest

from thawnet.utils import PyDataset, split_dataset


def test_sizes_structure_and_shuffle():
    x, y = np.arange(10) * 10, np.arange(10)
    left, right = split_dataset((x, y), left_size=0.7)
    assert [a.tolist() for a in left] == [list(range(0, 70, 10)), list(range(7))]
    assert right[1].tolist() == [7, 8, 9]
    left, right = split_dataset({"a": x, "b": y}, right_size=3, left_size=2)
    assert left["b"].tolist() == [0, 1] and right["b"].tolist() == [7, 8, 9]
    order = list(range(10))
    random.seed(4)
    random.shuffle(order)  # what Keras does with seed=4
    left, right = split_dataset(y, left_size=6, shuffle=True, seed=4)
    assert left.tolist() == order[:6] and right.tolist() == order[6:]


def test_pydataset_is_split_by_batch():
    class Batches(PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, index):
            return np.full((2, 1), index, "float32")

    left, right = split_dataset(Batches(), left_size=0.6)
    assert len(left) == 3 and len(right) == 2
    assert [float(b[0, 0]) for b in right] == [3.0, 4.0]


def test_errors():
    with pytest.raises(ValueError, match="pass left_size or right_size"):
        split_dataset(np.arange(4))
    with pytest.raises(ValueError, match=r"left_size must be a positive int smaller than the "
                                         r"dataset's 4 samples .*received left_size=4"):
        split_dataset(np.arange(4), left_size=4)
    with pytest.raises(ValueError, match=r"same number of samples .*\[3, 4\]"):
        split_dataset((np.arange(4), np.arange(3)), left_size=0.5)
    with pytest.raises(TypeError, match=r"left_size must be an int .*received left_size='1'"):
        split_dataset(np.arange(4), left_size="1")
