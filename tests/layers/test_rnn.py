"""Recurrent layers on their own: configs, custom cells, the stateful states' role and
counts, gradients through the loop, shapes in functional models, files, and errors."""

import os

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.layers.rnn import rnn as rnn_module
from thawnet.variables import STATISTIC

X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")


@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.LSTM(4, dropout=0.1, return_sequences=True, unit_forget_bias=False),
    lambda lib: lib.layers.GRU(4, reset_after=False, go_backwards=True, recurrent_dropout=0.2),
    lambda lib: lib.layers.SimpleRNN(4, activation="relu", return_state=True),
    lambda lib: lib.layers.ConvLSTM2D(2, 3, padding="same", strides=1),
    lambda lib: lib.layers.LSTMCell(3),
    lambda lib: lib.layers.GRUCell(3),
])
def test_config_round_trips_with_keras_argument_names(make):
    ours = make(thawnet)
    config = ours.get_config()
    again = type(ours).from_config(config).get_config()
    assert again == config
    theirs = make(keras).get_config()
    # Keras's keys, minus the ones thawnet writes elsewhere; values of plain arguments agree.
    assert set(theirs) - {"activity_regularizer"} <= set(config)
    for key in ("units", "filters", "return_sequences", "go_backwards", "dropout",
                "recurrent_dropout", "reset_after", "unit_forget_bias", "activation"):
        if key in theirs:
            assert config[key] == theirs[key], key


@pytest.mark.slow
def test_wrapper_configs_round_trip():
    bidi = tl.Bidirectional(tl.LSTM(3, return_sequences=True), merge_mode="sum")
    stacked = tl.RNN([tl.LSTMCell(3), tl.GRUCell(2)], return_state=True)
    for layer in (bidi, stacked):
        again = type(layer).from_config(layer.get_config())
        assert again.get_config()["name"] == layer.get_config()["name"]
        out_a, out_b = layer(X), again(X)
        assert [np.shape(a) for a in jax.tree_util.tree_leaves(out_a)] == \
            [np.shape(b) for b in jax.tree_util.tree_leaves(out_b)]


class MinimalCell(tl.Layer):
    """Keras's documented custom cell: h' = x @ k + h @ r."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        h = inputs @ self.kernel.value + states[0] @ self.recurrent_kernel.value
        return h, [h]


def test_custom_cell_runs_the_recurrence():
    layer = tl.RNN(MinimalCell(4), return_sequences=True)
    out = np.asarray(layer(X))
    k, r = (np.asarray(w) for w in layer.get_weights())
    h = np.zeros((2, 4), "float32")
    for t in range(X.shape[1]):
        h = X[:, t] @ k + h @ r
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5, atol=1e-5)


def test_cell_called_on_one_step_equals_the_layer_on_one_step():
    cell = tl.LSTMCell(4)
    layer = tl.RNN(cell)
    out = layer(X[:, :1])
    states = cell.get_initial_state(batch_size=2)
    h, (h2, c2) = cell(X[:, 0], states)
    np.testing.assert_allclose(np.asarray(h), np.asarray(out), atol=1e-6)
    np.testing.assert_allclose(np.asarray(h2), np.asarray(h), atol=0)


def test_stateful_states_are_statistics_counted_as_non_trainable():
    model = thawnet.Sequential([thawnet.Input(batch_shape=(2, 5, 3)),
                                tl.LSTM(4, stateful=True)])
    layer = model.layers[0]
    assert [v.role for v in layer.states] == [STATISTIC, STATISTIC]
    assert [v.name for v in layer.states] == ["rnn_state", "rnn_state_1"]
    assert len(model.trainable_weights) == 3
    assert model.count_params() == 3 * 4 * 4 + 4 * 4 * 4 + 4 * 4 + 2 * (2 * 4)
    assert sum(int(np.prod(v.shape)) for v in model.non_trainable_weights) == 16
    assert layer._keras_file_weights() == []   # Keras files hold no carried state


def test_stateful_state_is_carried_through_fit():
    model = thawnet.Sequential([thawnet.Input(batch_shape=(2, 5, 3)),
                                tl.LSTM(4, stateful=True), tl.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(X, np.zeros((2, 1), "float32"), batch_size=2, epochs=1, verbose=0)
    state = np.asarray(model.layers[0].states[0].value)
    assert np.abs(state).sum() > 0
    model.layers[0].reset_states()
    assert np.abs(np.asarray(model.layers[0].states[0].value)).sum() == 0


def test_gradients_flow_through_the_scan():
    layer = tl.GRU(3)
    layer(X)
    by_path = layer.variables_by_path()
    values = {p: v.value for p, v in by_path.items()}

    def loss(params):
        out, _ = layer.stateless_call(params, {}, X)
        return jnp.sum(out ** 2)

    grads = jax.jit(jax.grad(loss))(values)
    assert all(float(jnp.abs(g).sum()) > 0 for g in grads.values())


def test_functional_shapes_with_return_state():
    inp = thawnet.Input((5, 3))
    out, h, c = tl.LSTM(4, return_state=True, return_sequences=True)(inp)
    fwd = tl.Bidirectional(tl.GRU(2, return_state=True))(inp)
    assert tuple(out.shape) == (None, 5, 4)
    assert tuple(h.shape) == tuple(c.shape) == (None, 4)
    assert [tuple(t.shape) for t in fwd] == [(None, 4), (None, 2), (None, 2)]
    model = thawnet.Model(inp, [out, h, fwd[0]])
    assert [np.shape(o) for o in model.predict(X, verbose=0)] == [(2, 5, 4), (2, 4), (2, 4)]


@pytest.mark.slow
def test_thawnet_file_round_trip(tmp_path):
    model = thawnet.Sequential([thawnet.Input((5, 3)),
                                tl.Bidirectional(tl.LSTM(3, return_sequences=True)),
                                tl.RNN([tl.GRUCell(2), tl.SimpleRNNCell(2)])])
    path = os.path.join(tmp_path, "m.thawnet")
    model.save(path)
    again = thawnet.saving.load_model(path)
    np.testing.assert_allclose(again.predict(X, verbose=0), model.predict(X, verbose=0),
                               atol=0)


def test_errors_name_the_argument_and_the_fix():
    with pytest.raises(ValueError, match=r"units must be a positive integer.*units=0"):
        tl.LSTM(0)
    with pytest.raises(ValueError, match="Invalid merge mode. Received: max"):
        tl.Bidirectional(tl.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="`state_size` attribute"):
        tl.RNN(tl.Dense(3))
    with pytest.raises(ValueError, match=r"stateful, so it needs a fixed batch size.*"
                                         r"batch_shape"):
        tl.LSTM(2, stateful=True).build((None, 5, 3))
    layer = tl.LSTM(2)
    with pytest.raises(ValueError, match=r"mask has shape \(2, 4\).*\(2, 5\)"):
        layer(X, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"initial_state has 1 array\(s\), but the cell has 2"):
        layer(X, initial_state=[np.zeros((2, 2), "float32")])
    stateful = tl.GRU(2, stateful=True)
    stateful(X)
    with pytest.raises(ValueError, match="batch size 2; received sequences of batch size 1"):
        stateful(X[:1])


def test_dropout_is_active_in_training_only():
    layer = tl.LSTM(4, dropout=0.5, recurrent_dropout=0.5)
    inference = np.asarray(layer(X))
    np.testing.assert_allclose(np.asarray(layer(X)), inference, atol=0)
    assert not np.allclose(np.asarray(layer(X, training=True)), inference)


@pytest.mark.slow
def test_dropout_runs_in_fit():
    model = thawnet.Sequential([thawnet.Input((5, 3)), tl.GRU(3, dropout=0.3), tl.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(X, np.ones((2, 1), "float32"), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("make", [
    lambda: tl.LSTM(4, return_sequences=True, dropout=0.3, recurrent_dropout=0.3),
    pytest.param(lambda: tl.RNN([tl.GRUCell(3), tl.SimpleRNNCell(2)], go_backwards=True),
                 marks=pytest.mark.slow),
    pytest.param(lambda: tl.ConvLSTM1D(2, 3, return_sequences=True, dropout=0.3),
                 marks=pytest.mark.slow),
])
def test_projection_before_the_loop_equals_projection_per_step(make, monkeypatch):
    """The accelerator path (inputs projected over the whole sequence first) computes what
    the CPU path (projection inside the loop) computes, dropout masks included."""
    layer = make()
    x = X if not isinstance(layer, tl.ConvLSTM1D) else X[..., None]
    mask = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]], bool)
    layer(x)
    rng = jax.random.PRNGKey(3)
    values = {p: v.value for p, v in layer.variables_by_path().items()}
    per_step = layer.stateless_call(values, {}, x, training=True, rng=rng, mask=mask)[0]
    monkeypatch.setattr(rnn_module, "_hoist_projection", lambda: True)
    hoisted = layer.stateless_call(values, {}, x, training=True, rng=rng, mask=mask)[0]
    np.testing.assert_allclose(np.asarray(hoisted), np.asarray(per_step), rtol=1e-5, atol=1e-6)
