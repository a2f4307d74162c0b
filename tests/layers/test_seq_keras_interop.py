"""Keras reads thawnet's .keras files of sequence and attention models (and predicts the same),
seed generators are counted as Keras counts them, and custom layers without get_config
round-trip their constructor arguments."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as L


def _mha():
    q, v = thawnet.Input((4, 8)), thawnet.Input((5, 8))
    return thawnet.Model([q, v], L.MultiHeadAttention(num_heads=2, key_dim=3)(q, v))


def _gqa():
    q, v = thawnet.Input((4, 8)), thawnet.Input((5, 8))
    out = L.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2)(q, v)
    return thawnet.Model([q, v], out)


def _stacked():
    i = thawnet.Input((5, 3))
    return thawnet.Model(i, L.RNN(L.StackedRNNCells([L.SimpleRNNCell(4), L.LSTMCell(3)]))(i))


def _nested_sequential():
    inner = thawnet.Sequential([thawnet.Input((3,)), L.Dense(4), L.Dense(2)])
    i = thawnet.Input((3,))
    return thawnet.Model(i, L.Dense(1)(inner(i)))


def _recurrent():
    i = thawnet.Input((5, 3))
    x = L.GRU(4, reset_after=False, return_sequences=True, go_backwards=True)(i)
    x = L.Bidirectional(L.LSTM(3, return_sequences=True, dropout=0.2), merge_mode="sum")(x)
    x = L.Bidirectional(L.GRU(2), backward_layer=L.GRU(2, go_backwards=True))(x)
    return thawnet.Model(i, L.GaussianNoise(0.1)(x))


@pytest.mark.parametrize("build", [_mha, _gqa, _stacked, _nested_sequential, _recurrent],
                         ids=lambda f: f.__name__.strip("_"))
def test_keras_loads_the_file_and_predicts_the_same(build, tmp_path):
    model = build()
    rng = np.random.default_rng(0)
    xs = [rng.random((2,) + tuple(t.shape[1:])).astype("float32") for t in model.inputs]
    x = xs[0] if len(xs) == 1 else xs
    path = str(tmp_path / "m.keras")
    model.save(path)
    theirs = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    ours = thawnet.saving.load_model(path, compile=False)  # and thawnet reads it back
    np.testing.assert_allclose(ours.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_seed_generators_are_variables_not_weights_as_in_keras():
    ours = L.SimpleRNN(3, dropout=0.5, recurrent_dropout=0.5)
    theirs = keras.layers.SimpleRNN(3, dropout=0.5, recurrent_dropout=0.5)
    x = np.ones((2, 4, 5), "float32")
    ours(x), theirs(x)
    for attr in ("weights", "non_trainable_weights", "variables", "non_trainable_variables"):
        assert len(getattr(ours, attr)) == len(getattr(theirs, attr)), attr
    assert ours.count_params() == theirs.count_params() == 3 * 5 + 3 * 3 + 3
    noise = thawnet.Sequential([thawnet.Input((3,)), L.GaussianNoise(0.2), L.Dense(2)])
    assert noise.count_params() == 8 and len(noise.non_trainable_variables) == 1
    assert L.GaussianNoise(0.0).__dict__.get("seed_generator") is None  # as Keras: none at 0


class _Scaled(L.Layer):
    """A custom layer with constructor arguments and no get_config."""

    def __init__(self, factor, offsets=(1, 2), **kwargs):
        super().__init__(**kwargs)
        self.factor, self.offsets = factor, offsets

    def call(self, x):
        return x * self.factor


def test_a_layer_without_get_config_records_its_plain_arguments():
    layer = _Scaled(3.0, name="scaled")
    config = layer.get_config()
    assert config["factor"] == 3.0 and config["offsets"] == (1, 2) and config["name"] == "scaled"
    again = _Scaled.from_config(config)
    assert again.factor == 3.0 and again.name == "scaled"
    assert "factor" not in _Scaled(np.ones(2)).get_config()  # not plain: nothing recorded
