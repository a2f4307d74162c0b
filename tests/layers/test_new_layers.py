"""Layers added for Keras 3 parity: 3-D reshaping, PReLU, adaptive pooling, TimeDistributed,
Identity and BatchNormalization(renorm=True). Keras 3 is the oracle: same weights in, outputs
within 1e-5, the same weight names/order/counts and the same config keys."""

import keras
import numpy as np
import pytest

from thawnet import constraints, initializers
from thawnet import layers as tl
from thawnet.layers.adaptive_pooling import adaptive_bins
from thawnet.models import Model, Sequential, load_model

TOL = dict(rtol=1e-5, atol=1e-5)


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _plain(value):
    """A Keras config value without Keras's serialisation bookkeeping keys."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _assert_parity(name, kwargs, shape, randomize=False):
    x = _x(shape)
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(tl, name)(**kwargs)
    expected = np.asarray(theirs(x))
    ours(x)
    if randomize:
        theirs.set_weights([_x(w.shape, seed=3) for w in theirs.get_weights()])
        expected = np.asarray(theirs(x))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), expected, **TOL)
    symbolic = ours(tl.Input(batch_shape=(None,) + shape[1:]))
    assert tuple(symbolic.shape) == (None,) + expected.shape[1:]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    ours_config, keras_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(keras_config)
    for key, value in keras_config.items():
        if key not in ("name", "dtype"):
            assert _plain(ours_config[key]) == _plain(value), key
    clone = type(ours).from_config(ours_config)
    clone(x)
    clone.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), expected, **TOL)
    return ours


RESHAPING_3D = [
    ("Cropping3D", {}, (2, 4, 5, 6, 3)),
    ("Cropping3D", {"cropping": (1, 0, 2), "data_format": "channels_first"}, (2, 3, 4, 5, 6)),
    ("Cropping3D", {"cropping": ((0, 1), (2, 0), (1, 1))}, (2, 4, 5, 6, 3)),
    ("ZeroPadding3D", {"padding": 2}, (2, 3, 3, 3, 2)),
    ("ZeroPadding3D", {"padding": ((1, 0), (0, 2), (1, 1)), "data_format": "channels_first"},
     (2, 3, 3, 3, 2)),
    ("UpSampling3D", {}, (2, 2, 3, 2, 2)),
    ("UpSampling3D", {"size": (1, 2, 3), "data_format": "channels_first"}, (2, 2, 3, 2, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", RESHAPING_3D)
def test_3d_reshaping_layers_match_keras(name, kwargs, shape):
    layer = _assert_parity(name, kwargs, shape)
    assert layer.weights == []


def test_cropping3d_refuses_cropping_everything_like_keras():
    x = tl.Input(shape=(4, 5, 6, 2))
    with pytest.raises(ValueError, match=r'Cropping3D ".*" crops 3\+1 from axis 1'):
        tl.Cropping3D(((3, 1), (0, 0), (0, 0)))(x)
    with pytest.raises(ValueError):
        keras.layers.Cropping3D(((3, 1), (0, 0), (0, 0)))(keras.Input((4, 5, 6, 2)))


@pytest.mark.parametrize("kwargs,shape", [
    ({"alpha_initializer": "random_normal"}, (2, 3, 4)),
    ({"shared_axes": [1, 2]}, (2, 3, 4, 5)),
    ({"shared_axes": 1, "alpha_constraint": "non_neg"}, (2, 3, 4)),
])
def test_prelu_matches_keras(kwargs, shape):
    layer = _assert_parity("PReLU", kwargs, shape, randomize=True)
    assert layer.alpha.role == "parameter"
    expected_shape = tuple(1 if i + 1 in (layer.shared_axes or []) else d
                           for i, d in enumerate(shape[1:]))
    assert layer.alpha.shape == expected_shape


def test_prelu_alpha_constraint_holds_after_fit():
    x, y = _x((32, 4)), _x((32, 4), seed=1) * 3.0
    model = Sequential([tl.Input(shape=(4,)), tl.PReLU(alpha_initializer="ones",
                                                      alpha_constraint="non_neg")])
    model.compile("sgd", "mse")
    model.fit(x, -np.abs(y), epochs=3, batch_size=8, verbose=0)
    alpha = model.layers[-1].alpha.numpy()
    assert alpha.min() >= 0.0 and not np.allclose(alpha, 1.0)


ADAPTIVE = [
    ("AdaptiveAveragePooling1D", {"output_size": 3}, (2, 7, 3)),
    ("AdaptiveMaxPooling1D", {"output_size": 4}, (2, 10, 3)),
    ("AdaptiveAveragePooling1D", {"output_size": 5, "data_format": "channels_first"}, (2, 3, 4)),
    ("AdaptiveAveragePooling2D", {"output_size": (3, 2)}, (2, 7, 5, 3)),
    ("AdaptiveMaxPooling2D", {"output_size": 3, "data_format": "channels_first"}, (2, 3, 8, 7)),
    ("AdaptiveAveragePooling3D", {"output_size": (2, 3, 2)}, (2, 5, 7, 4, 2)),
    ("AdaptiveMaxPooling3D", {"output_size": 2}, (2, 5, 6, 3, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", ADAPTIVE)
def test_adaptive_pooling_matches_keras(name, kwargs, shape):
    layer = _assert_parity(name, kwargs, shape)
    assert layer.weights == []


def test_adaptive_pooling_matches_a_numpy_reference_of_the_bins():
    x = _x((1, 7, 5, 2))
    starts_ends = [adaptive_bins(7, 3), adaptive_bins(5, 4)]
    assert starts_ends[0] == [(0, 3), (2, 5), (4, 7)]
    reference = np.array([[[x[0, a:b, c:d].max(axis=(0, 1)) for c, d in starts_ends[1]]
                           for a, b in starts_ends[0]]])
    np.testing.assert_allclose(np.asarray(tl.AdaptiveMaxPooling2D((3, 4))(x)), reference)


def test_time_distributed_dense_shares_the_inner_weights():
    x = _x((2, 5, 3))
    theirs = keras.layers.TimeDistributed(keras.layers.Dense(4))
    ours = tl.TimeDistributed(tl.Dense(4))
    expected = np.asarray(theirs(x))
    ours(x)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights] == ["kernel",
                                                                                 "bias"]
    assert ours.count_params() == theirs.count_params() == 16
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), expected, **TOL)
    assert [w.role for w in ours.weights] == ["parameter", "parameter"]
    ours.trainable = False
    assert ours.trainable_weights == [] and ours.layer.trainable is False


def test_time_distributed_conv2d_matches_keras_in_a_model_and_round_trips_its_config():
    x = _x((2, 3, 6, 6, 2))
    k_in = keras.Input((3, 6, 6, 2))
    theirs = keras.Model(k_in, keras.layers.TimeDistributed(
        keras.layers.Conv2D(4, 3, padding="same"))(k_in))
    t_in = tl.Input(shape=(3, 6, 6, 2))
    ours = Model(t_in, tl.TimeDistributed(tl.Conv2D(4, 3, padding="same"))(t_in))
    assert ours.output_shape == tuple(theirs.output_shape) == (None, 3, 6, 6, 4)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), **TOL)
    layer = ours.layers[-1]
    config = layer.get_config()
    assert config["layer"]["class_name"] == "Conv2D"
    assert config["layer"]["config"]["filters"] == 4
    clone = tl.TimeDistributed.from_config(config)
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(theirs(x)), **TOL)


def test_time_distributed_trains_its_inner_dense_under_fit():
    x, y = _x((16, 4, 3)), _x((16, 4, 2), seed=1)
    model = Sequential([tl.Input(shape=(4, 3)), tl.TimeDistributed(tl.Dense(2))])
    before = model.get_weights()
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_time_distributed_refuses_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match=r'TimeDistributed ".*": layer must be a Layer'):
        tl.TimeDistributed("dense")
    with pytest.raises(ValueError, match=r"at least 3 axes \(batch, time"):
        tl.TimeDistributed(tl.Dense(2))(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"the mask has shape \(2, 4\)"):
        tl.TimeDistributed(tl.Dense(2))(np.ones((2, 3, 5), "float32"), mask=np.ones((2, 4)))


def test_identity_returns_its_inputs_and_keeps_dtypes():
    layer = tl.Identity()
    assert layer.built and layer.weights == []
    x = np.arange(6, dtype="int32").reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    assert layer(tl.Input(shape=(3,), dtype="int32")).dtype == np.dtype("int32")
    assert set(layer.get_config()) == set(keras.layers.Identity().get_config())


# -- BatchNormalization(renorm=True) ---------------------------------------------------------

def _bn_pair(kwargs, shape):
    theirs, ours = keras.layers.BatchNormalization(**kwargs), tl.BatchNormalization(**kwargs)
    theirs.build(shape)
    ours.build(shape)
    rng = np.random.default_rng(2)
    theirs.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("f4") for w in theirs.weights])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("kwargs", [
    {"renorm": True},
    {"renorm": True, "renorm_clipping": {"rmin": 0.9, "rmax": 1.1, "dmax": 0.1},
     "renorm_momentum": 0.5, "momentum": 0.8},
    {"renorm": True, "center": False, "scale": False},
])
def test_batch_renorm_matches_keras_over_several_training_steps(kwargs):
    ours, theirs = _bn_pair(kwargs, (8, 3))
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.role for w in ours.weights[-5:]] == ["statistic"] * 5
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    for step in range(3):
        x = _x((8, 3), seed=10 + step) * 2.0 + 1.0
        np.testing.assert_allclose(np.asarray(ours(x, training=True)),
                                   np.asarray(theirs(x, training=True)), **TOL)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, **TOL)
    x = _x((8, 3), seed=20)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), **TOL)
    config = ours.get_config()
    assert config["renorm"] is True
    assert config["renorm_clipping"] == theirs.get_config()["renorm_clipping"]


def test_batch_renorm_initial_stddevs_are_sqrt_of_the_variance_initializer():
    layer = tl.BatchNormalization(renorm=True,
                                  moving_variance_initializer=initializers.Constant(4.0))
    layer.build((None, 2))
    keras_layer = keras.layers.BatchNormalization(
        renorm=True, moving_variance_initializer=keras.initializers.Constant(4.0))
    keras_layer.build((None, 2))
    for a, b in zip(layer.get_weights(), keras_layer.get_weights()):
        np.testing.assert_allclose(a, b, **TOL)
    assert layer.moving_stddev.numpy().tolist() == [2.0, 2.0]


def test_batch_renorm_fit_matches_keras():
    x, y = _x((32, 4)), _x((32, 1), seed=1)
    keras.utils.set_random_seed(0)
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                               keras.layers.BatchNormalization(renorm=True),
                               keras.layers.Dense(1)])
    ours = Sequential([tl.Input(shape=(4,)), tl.Dense(3), tl.BatchNormalization(renorm=True),
                       tl.Dense(1)])
    ours.set_weights(theirs.get_weights())
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse")
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_new_layers_and_constraints_survive_a_native_save_and_load(tmp_path):
    model = Sequential([
        tl.Input(shape=(4, 6)),
        tl.TimeDistributed(tl.Dense(3, kernel_constraint="non_neg")),
        tl.PReLU(alpha_constraint=constraints.MaxNorm(0.5), alpha_initializer="ones"),
        tl.BatchNormalization(renorm=True, renorm_clipping={"rmax": 2.0}),
        tl.ZeroPadding1D(1), tl.AdaptiveAveragePooling1D(3), tl.Identity()])
    x = _x((5, 4, 6))
    model(x, training=True)  # moves the renorm statistics away from their initial values
    path = str(tmp_path / "m.thawnet")
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), **TOL)
    assert [v.path for v in loaded.weights] == [v.path for v in model.weights]
    inner = loaded.layers[0].layer
    assert isinstance(inner.kernel.constraint, constraints.NonNeg)
    assert loaded.layers[1].alpha.constraint.get_config() == {"max_value": 0.5, "axis": 0}
    assert loaded.layers[2].renorm_clipping == {"rmax": 2.0}
