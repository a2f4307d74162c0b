"""Recurrent layers against Keras 3 with the same weights: outputs within 1e-5 in inference
and training mode (dropout 0), return_state, go_backwards, unroll, masks, initial states,
stateful carries, Bidirectional merge modes, stacked cells, ConvLSTM, counts and weight
order, a Keras-written .weights.h5, and a masked text classifier's loss history."""

import os

import jax
import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 6, 4)).astype("float32")
MASK = np.ones((3, 6), bool)
MASK[0, 4:] = False   # right padding
MASK[1, :2] = False   # left padding


def _leaves(out):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(
        list(out) if isinstance(out, (list, tuple)) else [out])]


def _same_weights(ours, theirs, x, extra=()):
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(list(theirs.get_weights()) + list(extra))
    return ours, theirs


def _assert_close(ours, theirs, *args, **kwargs):
    got, want = _leaves(ours(*args, **kwargs)), _leaves(theirs(*args, **kwargs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


LAYERS = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
          ("LSTM", {"use_bias": False, "activation": "relu"})]
OPTIONS = [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True},
           {"return_state": True}, {"unroll": True, "return_sequences": True}]


@pytest.mark.slow
@pytest.mark.parametrize("name,kwargs", LAYERS)
@pytest.mark.parametrize("options", OPTIONS)
def test_layer_matches_keras_with_and_without_mask(name, kwargs, options):
    ours, theirs = _same_weights(getattr(tl, name)(5, **kwargs, **options),
                                 getattr(keras.layers, name)(5, **kwargs, **options), X)
    _assert_close(ours, theirs, X)
    _assert_close(ours, theirs, X, mask=MASK)
    _assert_close(ours, theirs, X, training=True)


# The default run: each layer once, the loop options spread over them (the slow matrix
# above crosses them all).
@pytest.mark.parametrize("name,kwargs,training", [
    ("LSTM", {"go_backwards": True, "return_sequences": True, "return_state": True}, False),
    ("GRU", {"reset_after": False, "return_state": True}, True),
    pytest.param("GRU", {"return_sequences": True}, False, marks=pytest.mark.slow),
    pytest.param("SimpleRNN", {"unroll": True, "return_sequences": True}, True,
                 marks=pytest.mark.slow),
])
def test_layer_matches_keras_with_mask(name, kwargs, training):
    ours, theirs = _same_weights(getattr(tl, name)(5, **kwargs),
                                 getattr(keras.layers, name)(5, **kwargs), X)
    _assert_close(ours, theirs, X, mask=MASK, training=training)


@pytest.mark.parametrize("name,kwargs", LAYERS[:4])
def test_counts_weight_names_and_order_match_keras(name, kwargs):
    ours, theirs = _same_weights(getattr(tl, name)(5, **kwargs),
                                 getattr(keras.layers, name)(5, **kwargs), X)
    assert ours.count_params() == theirs.count_params()
    assert [v.path.split("/")[-1] for v in ours.weights] == [v.path.split("/")[-1]
                                                               for v in theirs.weights]
    assert [v.shape for v in ours.weights] == [tuple(v.shape) for v in theirs.weights]
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 3


def test_mask_changes_the_result():
    """The masked steps are really skipped (not a test that cannot fail)."""
    layer = tl.LSTM(5)
    assert not np.allclose(layer(X), layer(X, mask=MASK))


@pytest.mark.slow
def test_initial_state_matches_keras():
    h0, c0 = RNG.normal(size=(2, 3, 5)).astype("float32")
    ours, theirs = _same_weights(tl.LSTM(5, return_sequences=True, return_state=True),
                                 keras.layers.LSTM(5, return_sequences=True, return_state=True),
                                 X)
    _assert_close(ours, theirs, X, initial_state=[h0, c0])
    _assert_close(ours, theirs, X, initial_state=[h0, c0], mask=MASK)


def test_stateful_carry_across_batches_and_reset_match_keras():
    ours = tl.LSTM(5, stateful=True, return_sequences=True)
    theirs = keras.layers.LSTM(5, stateful=True, return_sequences=True)
    _same_weights(ours, theirs, X, extra=[np.zeros((3, 5), "float32")] * 2)
    first = np.asarray(ours(X))
    theirs(X)
    _assert_close(ours, theirs, X[:, ::-1])   # the second batch starts from the carried state
    np.testing.assert_allclose(np.asarray(ours.states[0].value),
                               np.asarray(theirs.states[0].value), atol=1e-5)
    ours.reset_states()
    theirs.reset_states()
    np.testing.assert_allclose(np.asarray(ours(X)), first, atol=1e-6)


@pytest.mark.parametrize("merge_mode,return_sequences", [
    ("concat", True), pytest.param("ave", False, marks=pytest.mark.slow),
    pytest.param("sum", True, marks=pytest.mark.slow),
    pytest.param("mul", False, marks=pytest.mark.slow),
    pytest.param(None, True, marks=pytest.mark.slow),
    pytest.param("concat", False, marks=pytest.mark.slow)])
def test_bidirectional_merge_modes_match_keras(merge_mode, return_sequences):
    ours, theirs = _same_weights(
        tl.Bidirectional(tl.LSTM(5, return_sequences=return_sequences), merge_mode=merge_mode),
        keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=return_sequences),
                                   merge_mode=merge_mode), X)
    _assert_close(ours, theirs, X)
    _assert_close(ours, theirs, X, mask=MASK)
    assert ours.count_params() == theirs.count_params()


@pytest.mark.slow
def test_bidirectional_return_state_and_backward_layer_match_keras():
    ours, theirs = _same_weights(
        tl.Bidirectional(tl.GRU(5, return_state=True),
                         backward_layer=tl.GRU(5, return_state=True, go_backwards=True,
                                               reset_after=False)),
        keras.layers.Bidirectional(
            keras.layers.GRU(5, return_state=True),
            backward_layer=keras.layers.GRU(5, return_state=True, go_backwards=True,
                                            reset_after=False)), X)
    _assert_close(ours, theirs, X)


@pytest.mark.slow
def test_stacked_cells_match_keras():
    cells = [("LSTMCell", 5), ("GRUCell", 3), ("SimpleRNNCell", 2)]
    ours, theirs = _same_weights(
        tl.RNN([getattr(tl, c)(u) for c, u in cells], return_sequences=True,
               return_state=True),
        keras.layers.RNN([getattr(keras.layers, c)(u) for c, u in cells],
                         return_sequences=True, return_state=True), X)
    _assert_close(ours, theirs, X)
    _assert_close(ours, theirs, X, mask=MASK)


@pytest.mark.parametrize("name,shape,kwargs", [
    pytest.param("ConvLSTM1D", (2, 3, 6, 2), {"padding": "same", "return_sequences": True},
                 marks=pytest.mark.slow),
    pytest.param("ConvLSTM2D", (2, 3, 5, 5, 2), {"strides": 2, "return_state": True},
                 marks=pytest.mark.slow),
    ("ConvLSTM2D", (1, 2, 4, 4, 1), {"return_state": True}),
    pytest.param("ConvLSTM3D", (1, 2, 4, 4, 4, 1), {"padding": "same"},
                 marks=pytest.mark.slow),
])
def test_conv_lstm_matches_keras(name, shape, kwargs):
    x = RNG.normal(size=shape).astype("float32")
    ours, theirs = _same_weights(getattr(tl, name)(3, 3, **kwargs),
                                 getattr(keras.layers, name)(3, 3, **kwargs), x)
    _assert_close(ours, theirs, x)
    assert [v.shape for v in ours.weights] == [tuple(v.shape) for v in theirs.weights]


def _pair(builder):
    return builder(keras), builder(thawnet)


def _recurrent_model(lib):
    layers = lib.layers
    return lib.Sequential([lib.Input((6, 4)),
                           layers.Bidirectional(layers.LSTM(5, return_sequences=True)),
                           layers.GRU(4), layers.Dense(3)])


def _small_model(lib):
    return lib.Sequential([lib.Input((6, 4)), lib.layers.LSTM(3)])


@pytest.mark.parametrize("builder", [_small_model,
                                     pytest.param(_recurrent_model, marks=pytest.mark.slow)])
def test_keras_weights_file_loads_and_predicts_the_same(tmp_path, builder):
    theirs, ours = _pair(builder)
    path = os.path.join(tmp_path, "rnn.weights.h5")
    theirs.save_weights(path)
    ours.load_weights(path)
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0),
                               atol=1e-5)


@pytest.mark.slow
def test_keras_weights_file_loads_into_a_stateful_layer(tmp_path):
    """The carried states are not in Keras files; the parameters load around them."""
    def build(lib):
        return lib.Sequential([lib.Input(batch_shape=(3, 6, 4)),
                               lib.layers.LSTM(5, stateful=True)])
    theirs, ours = _pair(build)
    path = os.path.join(tmp_path, "stateful.weights.h5")
    theirs.save_weights(path)
    ours.load_weights(path)
    np.testing.assert_allclose(np.asarray(ours.layers[0](X)), np.asarray(theirs.layers[0](X)),
                               atol=1e-5)


def _classifier_data():
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 20, size=(16, 7))
    for i, length in enumerate(rng.integers(2, 8, size=16)):
        ids[i, length:] = 0
    return ids.astype("int32"), (ids.sum(1) % 2).astype("float32")[:, None]


def _keras_classifier():
    k = keras.layers
    return keras.Sequential([keras.Input((7,), dtype="int32"), k.Embedding(20, 6, mask_zero=True),
                             k.Bidirectional(k.LSTM(5)), k.Dense(1, activation="sigmoid")])


def _fit_both(ours, theirs, ids, y):
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(ids, verbose=0), theirs.predict(ids, verbose=0),
                               atol=1e-5)
    theirs.compile("adam", "binary_crossentropy")
    ours.compile("adam", "binary_crossentropy")
    want = theirs.fit(ids, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    got = ours.fit(ids, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.slow
def test_text_classifier_with_explicit_mask_trains_like_keras():
    ids, y = _classifier_data()
    inp = thawnet.Input((7,), dtype="int32")
    emb = tl.Embedding(20, 6, mask_zero=True)(inp)
    hidden = tl.Bidirectional(tl.LSTM(5))(emb, mask=thawnet.ops.not_equal(inp, 0))
    ours = thawnet.Model(inp, tl.Dense(1, activation="sigmoid")(hidden))
    _fit_both(ours, _keras_classifier(), ids, y)


@pytest.mark.slow
def test_text_classifier_with_automatic_mask_trains_like_keras():
    ids, y = _classifier_data()
    ours = thawnet.Sequential([thawnet.Input((7,), dtype="int32"),
                               tl.Embedding(20, 6, mask_zero=True),
                               tl.Bidirectional(tl.LSTM(5)), tl.Dense(1, activation="sigmoid")])
    _fit_both(ours, _keras_classifier(), ids, y)
