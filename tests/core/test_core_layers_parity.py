"""Dense, activations, ReLU, LeakyReLU, Dropout: parity with Keras 3 and clear errors."""

import keras
import numpy as np
import pytest

from thawnet import layers as tl

X = np.random.default_rng(0).normal(size=(4, 6)).astype("f4")


def _compare(ours, theirs, x=X, training=False):
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.built = True
    ours.set_weights(theirs.get_weights())
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)
    np.testing.assert_allclose(np.asarray(ours(x, training=training)),
                               np.asarray(theirs(x, training=training)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    {"units": 3}, {"units": 5, "activation": "relu", "use_bias": False},
    {"units": 2, "activation": "softmax"}, {"units": 3, "activation": "gelu"},
    {"units": 3, "trainable": False},
])
def test_dense_matches_keras(kwargs):
    _compare(tl.Dense(**kwargs), keras.layers.Dense(**kwargs))


def test_dense_on_rank3_inputs_matches_keras():
    x = np.random.default_rng(1).normal(size=(2, 3, 6)).astype("f4")
    _compare(tl.Dense(4), keras.layers.Dense(4), x=x)


@pytest.mark.parametrize("name", ["relu", "relu6", "sigmoid", "tanh", "softmax", "gelu", "swish",
                                  "silu", "elu", "selu", "softplus", "linear"])
def test_activation_matches_keras(name):
    _compare(tl.Activation(name), keras.layers.Activation(name))


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.0}, {"negative_slope": 0.1},
                                    {"threshold": 0.5}, {"max_value": 6.0, "negative_slope": 0.2,
                                                         "threshold": 0.3}])
def test_relu_matches_keras(kwargs):
    _compare(tl.ReLU(**kwargs), keras.layers.ReLU(**kwargs))


def test_leaky_relu_matches_keras():
    _compare(tl.LeakyReLU(negative_slope=0.2), keras.layers.LeakyReLU(negative_slope=0.2))


@pytest.mark.parametrize("training", [False, True])
def test_dropout_rate_zero_and_inference_are_identity_like_keras(training):
    _compare(tl.Dropout(0.0), keras.layers.Dropout(0.0), training=training)
    _compare(tl.Dropout(0.5), keras.layers.Dropout(0.5), training=False)


def test_dropout_in_training_keeps_the_expected_mean():
    out = np.asarray(tl.Dropout(0.25)(np.ones((200, 50), "f4"), training=True))
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
    assert abs(out.mean() - 1.0) < 0.05


def test_dense_config_round_trip():
    layer = tl.Dense(3, activation="relu", kernel_regularizer="l2", name="d")
    clone = tl.Dense.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_negative_units_is_refused_with_the_value():
    with pytest.raises(ValueError, match=r'Dense "dense_\d+": units must be a positive integer; '
                                         r"received units=-3"):
        tl.Dense(-3)


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown activation 'rellu'; known: .*relu"):
        tl.Dense(3, activation="rellu")


def test_wrong_last_dimension_names_layer_shapes_and_fix():
    layer = tl.Dense(3, name="dense_x")
    layer(np.ones((2, 100), "f4"))
    with pytest.raises(ValueError, match=r'Dense "dense_x" expects inputs with last dimension '
                                         r"100; received shape \(32, 64\). Check the previous "
                                         r"layer's units or the input_shape"):
        layer(np.ones((32, 64), "f4"))


def test_wrong_rank_names_layer_and_fix():
    with pytest.raises(ValueError, match=r'Dense "dense_r" expects inputs of rank >= 2 .*received '
                                         r"shape \(5,\)"):
        tl.Dense(3, name="dense_r")(np.ones((5,), "f4"))


def test_set_weights_with_wrong_count_or_shape_keeps_old_weights():
    layer = tl.Dense(2)
    layer.build((None, 3))
    before = [w.copy() for w in layer.get_weights()]
    with pytest.raises(ValueError, match=r"has 2 weight\(s\).*received 1 array"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r'weight ".*/bias" has shape \(2,\); set_weights received'
                                         r" an array of shape \(3,\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros((3,))])
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
