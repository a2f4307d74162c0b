"""``model.save`` / ``saving.save_model`` take Keras 3's arguments: ``zipped=False`` writes an
unzipped ``.keras`` folder that Keras 3 and thawnet both load; ``save_format`` and unknown
keywords are refused with Keras's exception types."""

import os

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

X = np.random.default_rng(5).normal(size=(4, 3)).astype("f4")


@pytest.fixture(scope="module")
def model():
    m = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(4, activation="relu"), tl.Dense(2)])
    m.compile(optimizer="adam", loss="mse")
    m.fit(X, np.ones((4, 2), "f4"), epochs=1, verbose=0)
    return m


def test_unzipped_folder_loads_in_keras_and_thawnet(model, tmp_path):
    folder = str(tmp_path / "model_dir")
    thawnet.saving.save_model(model, folder, zipped=False)
    assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "model.weights.h5"]
    expected = np.asarray(model.predict(X, verbose=0))
    np.testing.assert_allclose(keras.saving.load_model(folder).predict(X, verbose=0),
                               expected, atol=1e-6)
    loaded = thawnet.saving.load_model(folder)
    np.testing.assert_allclose(np.asarray(loaded.predict(X, verbose=0)), expected, atol=1e-6)
    assert loaded.optimizer is not None and loaded.optimizer.name == model.optimizer.name
    model.save(folder, zipped=False)  # overwritten in place


def test_keras_written_folder_loads_in_thawnet(tmp_path):
    k = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    folder = str(tmp_path / "kdir")
    keras.saving.save_model(k, folder, zipped=False)
    loaded = thawnet.saving.load_model(folder)
    np.testing.assert_allclose(np.asarray(loaded.predict(X, verbose=0)),
                               k.predict(X, verbose=0), atol=1e-6)


def test_refused_arguments(model, tmp_path):
    with pytest.raises(ValueError, match=r"should not end in \.keras"):
        model.save(str(tmp_path / "m.keras"), zipped=False)
    with pytest.raises(ValueError, match=r"save_format='tf' is deprecated.*Received "
                                         r"filepath='.*plain'"):
        thawnet.saving.save_model(model, str(tmp_path / "plain"), save_format="tf")
    with pytest.raises(ValueError, match=r"the argument\(s\) \['random_arg'\] are not supported"):
        model.save(str(tmp_path / "m.keras"), random_arg=True)
    with pytest.warns(DeprecationWarning, match="save_format='keras' is deprecated"):
        model.save(str(tmp_path / "m.keras"), save_format="keras")
    assert os.path.isfile(tmp_path / "m.keras")
    model.save(str(tmp_path / "n.keras"), include_optimizer=False)  # accepted, as in Keras
