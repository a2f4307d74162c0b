"""ModelCheckpoint with Keras 3's file names: ``*.keras`` (whole model) and ``*.weights.h5``
(``save_weights_only``) files that Keras 3 loads; other names refused as in Keras."""

import os

import keras
import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl

RNG = np.random.default_rng(7)
X, Y = RNG.normal(size=(8, 3)).astype("f4"), RNG.normal(size=(8, 1)).astype("f4")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    model = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(1, name="d")])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, epochs=2, batch_size=4, verbose=0, callbacks=[
        cb.ModelCheckpoint(str(folder / "m.{epoch:02d}.keras"), monitor="loss"),
        cb.ModelCheckpoint(str(folder / "w.weights.h5"), save_weights_only=True)])
    return folder, model


def test_keras_loads_the_checkpoints(trained):
    folder, model = trained
    assert sorted(os.listdir(folder)) == ["m.01.keras", "m.02.keras", "w.weights.h5"]
    expected = np.asarray(model.predict(X, verbose=0))
    k = keras.saving.load_model(str(folder / "m.02.keras"))
    np.testing.assert_allclose(k.predict(X, verbose=0), expected, atol=1e-6)
    assert k.optimizer.name == "sgd"                  # compiled, as Keras saves it
    k2 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, name="d")])
    k2.load_weights(str(folder / "w.weights.h5"))
    np.testing.assert_allclose(k2.predict(X, verbose=0), expected, atol=1e-6)


def test_names_refused_as_in_keras():
    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        cb.ModelCheckpoint("w.keras", save_weights_only=True)
    with pytest.raises(ValueError, match="must end in `.keras`"):
        cb.ModelCheckpoint("model.ckpt")
