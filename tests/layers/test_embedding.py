"""Embedding: parity with Keras 3, index handling and clear errors."""

import jax
import keras
import numpy as np
import pytest

from thawnet import initializers
from thawnet import layers as tl
from thawnet.models import Model, Sequential

RNG = np.random.default_rng(0)


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def _pair(**kwargs):
    ours, theirs = tl.Embedding(**kwargs), keras.layers.Embedding(**kwargs)
    theirs.build((None, 3))
    ours._maybe_build((None, 3))
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("kwargs,shape", [
    ({"input_dim": 10, "output_dim": 4}, (2, 6)),
    ({"input_dim": 10, "output_dim": 4}, (2,)),
    ({"input_dim": 7, "output_dim": 1, "mask_zero": True}, (2, 3, 4)),
    ({"input_dim": 3, "output_dim": 5, "trainable": False}, (2, 6)),
])
def test_embedding_matches_keras(kwargs, shape):
    ours, theirs = _pair(**kwargs)
    x = RNG.integers(0, kwargs["input_dim"], size=shape).astype("int32")
    _close(ours(x), theirs(x))
    _close(ours(x, training=True), theirs(x, training=True))
    assert ours(x).shape == shape + (kwargs["output_dim"],)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights] == ["embeddings"]
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)
    clone = tl.Embedding.from_config(ours.get_config())
    clone._maybe_build(None)
    clone.set_weights(ours.get_weights())
    _close(clone(x), ours(x))


def test_embedding_casts_float_indices_like_keras():
    ours, theirs = _pair(input_dim=10, output_dim=3)
    x = np.array([[0.0, 2.7, 9.0]], "float32")
    _close(ours(x), theirs(x))


def test_embedding_default_initializer_is_uniform_005():
    emb = tl.Embedding(200, 50)
    emb._maybe_build(None)
    w = emb.get_weights()[0]
    assert w.min() >= -0.05 and w.max() <= 0.05 and w.std() > 0.02
    assert emb.get_config()["embeddings_initializer"] == {
        "class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}}
    other = tl.Embedding(4, 2, embeddings_initializer="ones")
    other._maybe_build(None)
    np.testing.assert_array_equal(other.get_weights()[0], np.ones((4, 2)))
    assert isinstance(tl.Embedding(4, 2).embeddings_initializer, initializers.RandomUniform)


def test_embedding_refuses_out_of_range_indices_in_eager_calls():
    # Issue #10: indices used to be clamped silently (row 3 for index 100); now an eager call
    # names the layer and the range (compiled code: see test_embedding_range.py).
    emb = tl.Embedding(4, 2, weights=[np.arange(8, dtype="f4").reshape(4, 2)])
    with pytest.raises(ValueError, match="input_dim"):
        emb(np.array([[-3, 0, 3, 4, 100]]))
    np.testing.assert_array_equal(np.asarray(emb(np.array([[0, 3]])))[0], [[0, 1], [6, 7]])


def test_embedding_mask_zero_gives_mask_and_input_length_is_accepted():
    emb = tl.Embedding(5, 2, mask_zero=True, input_length=3)
    np.testing.assert_array_equal(np.asarray(emb.compute_mask(np.array([[0, 1, 0]]))),
                                  [[False, True, False]])
    assert tl.Embedding(5, 2).compute_mask(np.array([[0, 1]])) is None
    assert tl.Embedding.from_config(emb.get_config()).input_length == 3


def test_embedding_in_models_counts_like_keras_and_trains_under_jit():
    ours = Sequential([tl.Embedding(20, 4, input_shape=(6,)), tl.Dense(2)])
    theirs = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(20, 4),
                               keras.layers.Dense(2)])
    assert ours.count_params() == theirs.count_params() == 90
    ours.set_weights(theirs.get_weights())
    x = RNG.integers(0, 20, size=(2, 6))
    _close(ours(x), theirs(x))
    inp = tl.Input(shape=(6,), dtype="int32")
    functional = Model(inp, tl.Embedding(20, 4)(inp))
    assert functional.output_shape == (None, 6, 4)
    # The gradient w.r.t. the table flows only into the looked-up rows.
    emb = functional.layers[-1]
    values = functional.variables_by_path()
    path = next(iter(values))

    def loss(table):
        out, _ = functional.stateless_call({path: table}, {}, x)
        return out.sum()

    grad = np.asarray(jax.jit(jax.grad(loss))(values[path].value))
    unused = sorted(set(range(20)) - set(x.ravel().tolist()))
    np.testing.assert_array_equal(grad[unused], 0.0)
    assert emb.embeddings.shape == (20, 4)


def test_embedding_regularizer_matches_keras():
    ours, theirs = _pair(input_dim=6, output_dim=2, embeddings_regularizer="l2")
    _close(ours.regularization_loss(), sum(float(v) for v in theirs.losses))


@pytest.mark.parametrize("kwargs,match", [
    ({"input_dim": 0, "output_dim": 3}, "input_dim must be a positive integer"),
    ({"input_dim": 5.0, "output_dim": 3}, "input_dim must be a positive integer"),
    ({"input_dim": 5, "output_dim": -1}, "output_dim must be a positive integer"),
    ({"input_dim": 5, "output_dim": 2, "weights": np.zeros((2, 5))},
     r"weights must have shape \(input_dim, output_dim\) = \(5, 2\)"),
])
def test_embedding_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=r'Embedding "embedding_\d+": ' + match):
        tl.Embedding(**kwargs)
