"""bfloat16 weights in ``.weights.h5`` / ``.keras`` files, both ways: Keras 3 stores them as
2-byte opaque HDF5 data tagged ``dtype="bfloat16"``; thawnet reads and writes that layout."""

import h5py
import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.io.errors import FileFormatError

X = np.random.default_rng(6).normal(size=(3, 4)).astype("f4")


def _thawnet(dtype):
    return thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(2, dtype=dtype)])


@pytest.mark.parametrize("target", ["bfloat16", "float32"])
def test_keras_bfloat16_weights_load(tmp_path, target):
    k = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, dtype="bfloat16")])
    path = str(tmp_path / "k.weights.h5")
    k.save_weights(path)
    model = _thawnet(target)
    model.load_weights(path)
    expected = np.asarray(k.layers[0].kernel).astype("f4")
    np.testing.assert_array_equal(np.asarray(model.layers[0].kernel.value, "f4"), expected)


def test_thawnet_bfloat16_weights_load_in_keras(tmp_path):
    model = _thawnet("bfloat16")
    path = str(tmp_path / "t.keras")
    model.save(path)
    model.save_weights(str(tmp_path / "w.weights.h5"))
    with h5py.File(str(tmp_path / "w.weights.h5")) as f:
        dataset = f["layers/dense/vars/0"]
        assert (dataset.dtype.str, dataset.attrs["dtype"]) == ("|V2", "bfloat16")
    k = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(k.layers[0].kernel).astype("f4"),
                                  np.asarray(model.layers[0].kernel.value, "f4"))
    loaded = thawnet.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded.predict(X, verbose=0), "f4"),
                                  np.asarray(model.predict(X, verbose=0), "f4"))


def test_untagged_opaque_data_is_still_refused(tmp_path):
    path = str(tmp_path / "bad.weights.h5")
    model = _thawnet("float32")
    model.save_weights(path)
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", data=np.zeros((4, 2), "V4"))
    with pytest.raises(FileFormatError, match=r"holds non-numeric data \(HDF5 type class 5\)"):
        model.load_weights(path)
