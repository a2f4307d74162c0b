"""BatchNormalization and LayerNormalization: parity with Keras 3, statistics, clear errors."""

import warnings

import jax
import keras
import numpy as np
import pytest

from thawnet import layers as tl
from thawnet.models import Model, Sequential

RNG = np.random.default_rng(0)
X2 = RNG.normal(1.5, 2.0, size=(4, 6)).astype("f4")
X4 = RNG.normal(-0.5, 1.5, size=(2, 5, 6, 3)).astype("f4")


def _randomize(keras_layer, seed=1):
    """Give the Keras layer non-trivial weights (positive where a variance is expected)."""
    rng = np.random.default_rng(seed)
    keras_layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("f4")
                             if "variance" in w.name or w.name == "gamma"
                             else rng.normal(size=w.shape).astype("f4")
                             for w in keras_layer.weights])


def _build_pair(ours, theirs, x):
    theirs.build(x.shape)
    _randomize(theirs)
    ours._maybe_build((None,) + x.shape[1:])
    ours.set_weights(theirs.get_weights())


def _assert_same_structure(ours, theirs):
    assert [tuple(w.shape) for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


BN_CASES = [
    ({}, X2), ({"center": False}, X2), ({"scale": False}, X2),
    ({"center": False, "scale": False}, X2), ({"momentum": 0.9, "epsilon": 1e-2}, X2),
    ({}, X4), ({"axis": 1}, X4), ({"axis": -2, "momentum": 0.5}, X4),
]


@pytest.mark.parametrize("kwargs,x", BN_CASES)
def test_batch_normalization_matches_keras_in_inference_and_training(kwargs, x):
    ours, theirs = tl.BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    _build_pair(ours, theirs, x)
    _assert_same_structure(ours, theirs)
    _close(ours(x, training=False), theirs(x, training=False))
    _close(ours(x, training=True), theirs(x, training=True))
    # Moving statistics after one training call equal Keras's.
    for o, t in zip(ours.get_weights()[-2:], theirs.get_weights()[-2:]):
        _close(o, t)
    _close(ours(x), theirs(x))


def test_batch_normalization_eager_outputs_are_bit_identical_to_keras():
    # Eager ops are not fused, so 1/sqrt and Keras's rsqrt round differently; deep stacks of
    # batch norms (NASNet has 192) grow that last bit into visible differences.
    x = np.random.default_rng(3).normal(1.0, 3.0, size=(2, 1, 1, 64)).astype("f4")
    kwargs = dict(momentum=0.9997, epsilon=1e-3)
    ours, theirs = tl.BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    _build_pair(ours, theirs, x)
    for training in (False, True):
        np.testing.assert_array_equal(np.asarray(ours(x, training=training)),
                                      np.asarray(theirs(x, training=training)))


def test_batch_normalization_weight_order_and_roles():
    bn = tl.BatchNormalization()
    bn._maybe_build((None, 4))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.role for w in bn.weights] == ["parameter"] * 2 + ["statistic"] * 2
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    bn2 = tl.BatchNormalization(center=False)
    bn2._maybe_build((None, 4))
    assert [w.name for w in bn2.weights] == ["gamma", "moving_mean", "moving_variance"]


def test_batch_normalization_training_uses_biased_batch_variance():
    bn = tl.BatchNormalization(epsilon=0.0, momentum=0.0)
    y = np.asarray(bn(X2, training=True))
    _close(y, (X2 - X2.mean(0)) / X2.std(0))
    _close(bn.moving_variance.numpy(), X2.var(0))  # ddof=0


def test_frozen_batch_normalization_with_training_true_runs_in_inference_mode():
    ours = tl.BatchNormalization(trainable=False)
    theirs = keras.layers.BatchNormalization(trainable=False)
    _build_pair(ours, theirs, X2)
    before = [w.copy() for w in ours.get_weights()]
    y_train = ours(X2, training=True)
    _close(y_train, ours(X2, training=False))
    _close(y_train, theirs(X2, training=True))
    for b, a in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(b, a)
    assert len(ours.trainable_weights) == 0 == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == 4 == len(theirs.non_trainable_weights)


def test_batch_normalization_config_round_trip():
    bn = tl.BatchNormalization(axis=1, momentum=0.8, epsilon=1e-2, center=False,
                               gamma_initializer="zeros", gamma_regularizer="l2")
    bn._maybe_build((None, 5, 6, 3))
    clone = tl.BatchNormalization.from_config(bn.get_config())
    clone._maybe_build((None, 5, 6, 3))
    clone.set_weights(bn.get_weights())
    assert clone.get_config() == {**bn.get_config(), "name": clone.name}
    _close(clone(X4, training=True), bn(X4, training=True))


def test_batch_normalization_regularizer_matches_keras():
    ours = tl.BatchNormalization(gamma_regularizer="l2", beta_regularizer="l1")
    theirs = keras.layers.BatchNormalization(gamma_regularizer="l2", beta_regularizer="l1")
    _build_pair(ours, theirs, X2)
    _close(ours.regularization_loss(), sum(float(v) for v in theirs.losses))


def test_model_with_batch_normalization_reports_keras_counts():
    ours = Sequential([tl.Dense(10, input_shape=(10,)), tl.BatchNormalization()])
    theirs = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10),
                               keras.layers.BatchNormalization()])
    assert ours.count_params() == theirs.count_params() == 150
    assert sum(w.size for w in ours.trainable_weights) == 130
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)
    x = tl.Input(shape=(10,))
    functional = Model(x, tl.BatchNormalization()(tl.Dense(10)(x)))
    assert functional.count_params() == 150


def test_model_training_call_updates_statistics_like_keras():
    ours = Sequential([tl.Dense(3, input_shape=(6,)), tl.BatchNormalization()])
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3),
                               keras.layers.BatchNormalization()])
    ours.set_weights(theirs.get_weights())
    _close(ours(X2, training=True), theirs(X2, training=True))
    for o, t in zip(ours.get_weights(), theirs.get_weights()):
        _close(o, t)
    _close(ours(X2), theirs(X2))
    # Freezing the model freezes the BN: statistics stay, output is inference mode.
    ours.trainable = False
    before = ours.get_weights()
    _close(ours(X2, training=True), ours(X2, training=False))
    for b, a in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(b, a)


def test_batch_normalization_stateless_call_under_jit_returns_new_statistics():
    bn = tl.BatchNormalization(momentum=0.5)
    bn._maybe_build((None, 6))
    train, frozen = bn.trainable_split()
    values = bn.variables_by_path()
    tv = {p: values[p].value for p in train}
    nv = {p: values[p].value for p in frozen}
    out, new = jax.jit(lambda t, n, x: bn.stateless_call(t, n, x, training=True))(tv, nv, X2)
    _close(new[bn.name + "/moving_mean"], 0.5 * X2.mean(0))
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(6))  # nothing written
    _, same = bn.stateless_call(tv, nv, X2, training=False)
    _close(same[bn.name + "/moving_mean"], np.zeros(6))


@pytest.mark.parametrize("kwargs,match", [
    ({"axis": 1.5}, "axis must be an integer"),
    ({"axis": [1, 2]}, "axis must be an integer"),
    ({"momentum": 1.5}, r"momentum must be a number in \[0, 1\]"),
    ({"epsilon": -1.0}, "epsilon must be a non-negative"),
])
def test_batch_normalization_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tl.BatchNormalization(**kwargs)


def test_batch_normalization_rejects_bad_inputs():
    bn = tl.BatchNormalization(name="bn_err")
    bn(X2)
    with pytest.raises(ValueError, match=r'BatchNormalization "bn_err" expects inputs with last '
                                         r"dimension 6; received shape \(4, 5\)"):
        bn(np.zeros((4, 5), "f4"))
    with pytest.raises(ValueError, match=r"expects inputs of rank 2"):
        bn(np.zeros((4, 3, 6), "f4"))
    with pytest.raises(ValueError, match=r"axis=3 is out of range for inputs of rank 2"):
        tl.BatchNormalization(axis=3)(X2)


# -- LayerNormalization --------------------------------------------------------------------

LN_CASES = [
    ({}, X2), ({"center": False}, X2), ({"scale": False}, X2),
    ({"center": False, "scale": False, "epsilon": 1e-5}, X2),
    ({}, X4), ({"axis": [1, 2]}, X4), ({"axis": (1, -1)}, X4), ({"axis": 2}, X4),
    ({"rms_scaling": True}, X2), ({"rms_scaling": True, "axis": [2, 3]}, X4),
]


@pytest.mark.parametrize("kwargs,x", LN_CASES)
def test_layer_normalization_matches_keras(kwargs, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = keras.layers.LayerNormalization(**kwargs)
    ours = tl.LayerNormalization(**kwargs)
    _build_pair(ours, theirs, x)
    _assert_same_structure(ours, theirs)
    _close(ours(x), theirs(x))
    _close(ours(x, training=True), theirs(x, training=True))
    clone = tl.LayerNormalization.from_config(ours.get_config())
    clone._maybe_build((None,) + x.shape[1:])
    clone.set_weights(ours.get_weights())
    _close(clone(x), ours(x))


def test_layer_normalization_in_functional_model_counts_like_keras():
    x = tl.Input(shape=(5, 6, 3))
    ours = Model(x, tl.LayerNormalization(axis=[1, 2, 3])(x))
    k = keras.Input((5, 6, 3))
    theirs = keras.Model(k, keras.layers.LayerNormalization(axis=[1, 2, 3])(k))
    assert ours.count_params() == theirs.count_params() == 180
    assert ours.output_shape == (None, 5, 6, 3)


@pytest.mark.parametrize("kwargs,match", [
    ({"axis": "last"}, "axis must be an int or a list of ints"),
    ({"axis": []}, "non-empty list"),
    ({"epsilon": "small"}, "epsilon must be a non-negative number"),
])
def test_layer_normalization_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tl.LayerNormalization(**kwargs)


def test_layer_normalization_rejects_bad_inputs():
    ln = tl.LayerNormalization(name="ln_err")
    ln(X2)
    with pytest.raises(ValueError, match=r'LayerNormalization "ln_err" expects inputs with last '
                                         r"dimension 6; received shape \(4, 3\)"):
        ln(np.zeros((4, 3), "f4"))
    with pytest.raises(ValueError, match=r"axis=\[1, 4\] is out of range for inputs of rank 4"):
        tl.LayerNormalization(axis=[1, 4])(X4)
