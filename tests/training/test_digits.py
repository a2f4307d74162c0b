"""Real data that ships with scikit-learn: accuracy and loss history against Keras."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

sklearn_datasets = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def digits():
    data = sklearn_datasets.load_digits()
    x = (data.data / 16.0).astype("f4")
    y = data.target.astype("i4")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return x[:1400], y[:1400], x[1400:], y[1400:]


def _mlp(L, M, inputs):
    return M([inputs, L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])


def test_mlp_reaches_95_percent_on_held_out_digits(digits):
    x, y, x_test, y_test = digits
    model = _mlp(tl, thawnet.Sequential, tl.Input(shape=(64,)))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=30, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.95


def test_loss_history_matches_keras_from_identical_weights_sgd_no_shuffle(digits):
    x, y, _, _ = digits
    keras.utils.set_random_seed(1)
    theirs = _mlp(keras.layers, keras.Sequential, keras.Input(shape=(64,)))
    ours = _mlp(tl, thawnet.Sequential, tl.Input(shape=(64,)))
    ours.set_weights(theirs.get_weights())
    for m, opt in ((ours, thawnet.optimizers.SGD(0.1, momentum=0.9)),
                   (theirs, keras.optimizers.SGD(0.1, momentum=0.9))):
        m.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h_ours = ours.fit(x, y, batch_size=64, epochs=3, shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x, y, batch_size=64, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], atol=1e-4)
    np.testing.assert_allclose(h_ours["accuracy"], h_theirs["accuracy"], atol=1e-3)
