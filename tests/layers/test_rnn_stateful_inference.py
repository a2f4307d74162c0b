"""A stateful RNN carries its state through inference too (model(x), predict), as in Keras 3."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl


def _models():
    """The same stateful LSTM model in thawnet and Keras, with Keras's weights."""
    k_model = keras.Sequential([keras.Input(batch_shape=(2, 3, 4)),
                                keras.layers.LSTM(5, stateful=True), keras.layers.Dense(1)])
    t_model = thawnet.Sequential([tl.Input(batch_shape=(2, 3, 4)),
                                  tl.LSTM(5, stateful=True), tl.Dense(1)])
    # Keras does not list the carried states as weights; thawnet lists them (statistics) last.
    t_model.layers[0].cell.set_weights(k_model.layers[0].cell.get_weights())
    t_model.layers[1].set_weights(k_model.layers[1].get_weights())
    return t_model, k_model


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).normal(size=(6, 3, 4)).astype("float32")


def test_eager_calls_carry_the_state_from_call_to_call(data):
    t_model, k_model = _models()
    outputs = []
    for batch in (data[:2], data[2:4]):
        outputs.append(np.asarray(t_model(batch)))
        np.testing.assert_allclose(outputs[-1], np.asarray(k_model(batch)), atol=1e-5)
    t_model.layers[0].reset_states()
    np.testing.assert_array_equal(np.asarray(t_model(data[:2])), outputs[0])


def test_predict_carries_the_state_from_batch_to_batch_and_keeps_the_last(data):
    # Keras 3's eager calls carry the state (the stateful contract); its JAX predict() starts
    # every batch from the state before predict. thawnet's predict carries it, like the
    # eager calls: the reference is Keras called batch after batch.
    t_model, k_model = _models()
    expected = np.concatenate([np.asarray(k_model(data[i:i + 2])) for i in (0, 2, 4)])
    np.testing.assert_allclose(t_model.predict(data, batch_size=2, verbose=0), expected,
                               atol=1e-5)
    np.testing.assert_allclose(np.asarray(t_model.layers[0].states[0].value),
                               np.asarray(k_model.layers[0].states[0].value), atol=1e-5)
