"""compile/fit/evaluate/predict against Keras 3 on the same model, weights and data order."""

import keras
import numpy as np
import pytest

from thawnet import layers as tl
from thawnet.models import Sequential

RNG = np.random.default_rng(0)
X = RNG.normal(size=(96, 8)).astype("f4")
Y_CLASS = RNG.integers(0, 3, size=(96,)).astype("i4")
Y_REG = RNG.normal(size=(96, 1)).astype("f4")


def _pair(out_units, out_activation=None):
    keras.utils.set_random_seed(0)
    theirs = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(16, activation="relu"),
                               keras.layers.Dense(out_units, activation=out_activation)])
    ours = Sequential([tl.Input(shape=(8,)), tl.Dense(16, activation="relu"),
                       tl.Dense(out_units, activation=out_activation)])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def _assert_weights_close(ours, theirs, tol=2e-5):
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_matches_keras_weights_and_history(optimizer):
    ours, theirs = _pair(3, "softmax")
    for m in (ours, theirs):
        m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h_ours = ours.fit(X, Y_CLASS, batch_size=32, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(X, Y_CLASS, batch_size=32, epochs=2, shuffle=False, verbose=0)
    _assert_weights_close(ours, theirs)
    assert sorted(h_ours.history) == sorted(h_theirs.history)
    for k in h_theirs.history:
        np.testing.assert_allclose(h_ours.history[k], h_theirs.history[k], rtol=1e-4, atol=1e-5)


def test_evaluate_predict_and_partial_batches_match_keras():
    ours, theirs = _pair(1)
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    np.testing.assert_allclose(ours.predict(X, batch_size=40, verbose=0),
                               theirs.predict(X, batch_size=40, verbose=0), rtol=1e-5, atol=1e-6)
    ev_ours = ours.evaluate(X, Y_REG, batch_size=40, verbose=0)
    ev_theirs = theirs.evaluate(X, Y_REG, batch_size=40, verbose=0)
    np.testing.assert_allclose(ev_ours, ev_theirs, rtol=1e-5)
    assert ours.evaluate(X, Y_REG, verbose=0, return_dict=True).keys() == {"loss", "mae"}


def test_validation_split_sample_weight_and_class_weight_match_keras():
    ours, theirs = _pair(3, "softmax")
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    kwargs = dict(batch_size=16, epochs=1, shuffle=False, verbose=0, validation_split=0.25,
                  class_weight={0: 1.0, 1: 2.0, 2: 0.5})
    h_ours, h_theirs = ours.fit(X, Y_CLASS, **kwargs), theirs.fit(X, Y_CLASS, **kwargs)
    _assert_weights_close(ours, theirs)
    np.testing.assert_allclose(h_ours.history["val_loss"], h_theirs.history["val_loss"],
                               rtol=1e-4)


def test_train_on_batch_and_test_on_batch_match_keras_first_step():
    ours, theirs = _pair(1)
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse")
    np.testing.assert_allclose(ours.test_on_batch(X[:32], Y_REG[:32]),
                               theirs.test_on_batch(X[:32], Y_REG[:32]), rtol=1e-5)
    np.testing.assert_allclose(ours.train_on_batch(X[:32], Y_REG[:32]),
                               theirs.train_on_batch(X[:32], Y_REG[:32]), rtol=1e-5)
    _assert_weights_close(ours, theirs)


def test_steps_per_execution_gives_the_same_weights():
    a, _ = _pair(1)
    b, _ = _pair(1)
    a.compile(optimizer="adam", loss="mse")
    b.compile(optimizer="adam", loss="mse", steps_per_execution=4)
    a.fit(X, Y_REG, batch_size=10, epochs=2, verbose=0)
    b.fit(X, Y_REG, batch_size=10, epochs=2, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


def test_fit_before_compile_and_without_loss_say_what_to_do():
    model, _ = _pair(1)
    with pytest.raises(RuntimeError, match="call compile"):
        model.fit(X, Y_REG, verbose=0)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="compiled without a loss"):
        model.fit(X, Y_REG, verbose=0)
