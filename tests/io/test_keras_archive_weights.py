"""``model.load_weights("m.keras")`` loads the weights of a Keras 3 archive into an existing
model, as Keras does (the config is not rebuilt); all or nothing."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.io.errors import FileFormatError

X = np.random.default_rng(0).normal(size=(4, 5)).astype("f4")


def _thawnet(units=3):
    return thawnet.Sequential([tl.Input(shape=(5,)), tl.Dense(4, activation="relu"),
                               tl.Dense(units)])


@pytest.fixture(scope="module")
def keras_archive(tmp_path_factory):
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, np.ones((4, 3), "f4"), epochs=1, verbose=0)   # optimizer state in the file
    path = str(tmp_path_factory.mktemp("ka") / "m.keras")
    model.save(path)
    return path, model.predict(X, verbose=0)


def test_load_weights_of_a_keras_archive(keras_archive):
    path, expected = keras_archive
    model = _thawnet()
    model.load_weights(path)
    np.testing.assert_allclose(np.asarray(model.predict(X, verbose=0)), expected, atol=1e-6)


def test_load_weights_of_a_thawnet_written_archive(tmp_path):
    source = _thawnet()
    path = str(tmp_path / "t.keras")
    source.save(path)
    model = _thawnet()
    model.load_weights(path)
    for a, b in zip(source.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_misfit_archive_is_refused_and_changes_nothing(keras_archive):
    path, _ = keras_archive
    model = _thawnet(units=2)
    before = [np.array(w) for w in model.get_weights()]
    with pytest.raises(FileFormatError, match=r"m\.keras'.*member model\.weights\.h5"):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_not_an_archive(tmp_path):
    path = tmp_path / "x.keras"
    path.write_bytes(b"not a zip")
    with pytest.raises(FileFormatError):
        _thawnet().load_weights(str(path))
    with pytest.raises(FileNotFoundError, match="load_weights: no such file"):
        _thawnet().load_weights(str(tmp_path / "missing.keras"))


def test_a_missing_archive_is_both_file_not_found_and_value_error(tmp_path):
    from thawnet.io.errors import MissingFileError
    missing = str(tmp_path / "not_there.keras")
    with pytest.raises(MissingFileError, match="load_model: no such file .*file not found"):
        thawnet.saving.load_model(missing)
    for kind in (FileNotFoundError, ValueError):   # Python's type and Keras 3's
        with pytest.raises(kind):
            thawnet.saving.load_model(missing)
