"""GroupNormalization, RMSNormalization, UnitNormalization and SpectralNormalization: parity
with Keras 3 (same weights, training and inference), counts, roles, configs, clear errors, and
SpectralNormalization's statistic (updated in training only, held bit for bit when frozen)."""

import jax
import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.models import Sequential

RNG = np.random.default_rng(0)
X3 = RNG.normal(0.5, 2.0, size=(3, 4, 6)).astype("f4")
X4 = RNG.normal(-0.5, 1.5, size=(2, 5, 5, 4)).astype("f4")


def _pair(ours, theirs, x, randomize=True):
    theirs.build(x.shape)
    if randomize:
        rng = np.random.default_rng(1)
        theirs.set_weights([rng.normal(1.0, 0.5, w.shape).astype("f4") for w in theirs.weights])
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


_SLOW = pytest.mark.slow  # the same code paths as a default case, other shapes/options
CASES = [
    ("GroupNormalization", {"groups": 3}, X3),
    pytest.param("GroupNormalization", {"groups": -1}, X3, marks=_SLOW),
    pytest.param("GroupNormalization", {"groups": 1, "center": False}, X3, marks=_SLOW),
    ("GroupNormalization", {"groups": 2, "axis": 1, "scale": False}, X3),
    pytest.param("GroupNormalization", {"groups": 2, "epsilon": 0.1}, X4, marks=_SLOW),
    pytest.param("GroupNormalization", {"groups": 5, "axis": 1}, X4, marks=_SLOW),
    pytest.param("RMSNormalization", {}, X3, marks=_SLOW),
    ("RMSNormalization", {"axis": [1, 2], "epsilon": 1e-3}, X3),
    pytest.param("RMSNormalization", {"axis": (3, 2)}, X4, marks=_SLOW),
    pytest.param("UnitNormalization", {}, X3, marks=_SLOW),
    ("UnitNormalization", {"axis": [1, 2]}, X4),
]


@pytest.mark.parametrize("cls,kwargs,x", CASES)
def test_outputs_match_keras_in_training_and_inference(cls, kwargs, x):
    ours, theirs = getattr(tl, cls)(**kwargs), getattr(keras.layers, cls)(**kwargs)
    _pair(ours, theirs, x)
    for training in (False, True):
        _close(ours(x, training=training), theirs(x, training=training))
    config, keras_config = ours.get_config(), theirs.get_config()
    assert set(config) - {"dtype"} == set(keras_config) - {"dtype"}
    assert all(config[k] == keras_config[k] for k in config
               if k not in ("name", "dtype") and not isinstance(config[k], dict))
    clone = type(ours).from_config(config)
    clone.build(x.shape)
    clone.set_weights(ours.get_weights())
    _close(clone(x), ours(x), 0)


@pytest.mark.slow
def test_group_normalization_is_instance_norm_with_one_channel_per_group():
    y = np.asarray(tl.GroupNormalization(groups=-1, epsilon=0.0)(X4))
    ref = (X4 - X4.mean(axis=(1, 2), keepdims=True)) / X4.std(axis=(1, 2), keepdims=True)
    _close(y, ref, 1e-4)


@pytest.mark.parametrize("kwargs,shape,words", [
    ({"groups": 4}, (2, 6), r"groups=4 must divide the number of channels \(6\)"),
    ({"groups": 8}, (2, 6), r"groups=8 cannot be more than the number of channels \(6"),
    ({"groups": 2}, (2, None), r"axis -1 of the inputs must have a known size"),
])
def test_group_normalization_build_errors_name_the_layer_and_fix(kwargs, shape, words):
    with pytest.raises(ValueError, match=r'GroupNormalization "group_normalization_1": ' + words):
        tl.GroupNormalization(**kwargs).build(shape)


@pytest.mark.parametrize("cls,kwargs,words", [
    ("GroupNormalization", {"groups": 0}, r"groups must be a positive integer \(or -1"),
    ("GroupNormalization", {"groups": 2.5}, r"received groups=2.5"),
    ("RMSNormalization", {"axis": "x"}, r"axis must be an int or a list/tuple of ints"),
    ("UnitNormalization", {"axis": {1: 2}}, r"axis must be an int or a list/tuple of ints"),
])
def test_constructor_errors(cls, kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        getattr(tl, cls)(**kwargs)


def test_rms_normalization_built_on_one_rank_serves_another_like_keras():
    ours, theirs = tl.RMSNormalization(), keras.layers.RMSNormalization()
    _pair(ours, theirs, X3[:, 0, :])
    _close(ours(X3), theirs(X3))


def test_rms_normalization_with_mixed_sign_axes_keeps_each_size_on_its_axis():
    layer = tl.RMSNormalization(axis=[-1, 1])
    layer.build(X4.shape)
    assert layer.axis == [-1, 1] and tuple(layer.scale.shape) == (4, 5)
    scale = np.random.default_rng(2).normal(size=(4, 5)).astype("f4")
    layer.set_weights([scale])
    rms = np.sqrt(np.mean(X4 ** 2, axis=(1, 3), keepdims=True) + 1e-6)
    _close(layer(X4), X4 / rms * scale.T[None, :, None, :])


def test_unit_normalization_keeps_zero_rows_zero_like_keras():
    x = np.zeros((2, 3), "f4")
    np.testing.assert_array_equal(np.asarray(tl.UnitNormalization()(x)), x)
    np.testing.assert_array_equal(np.asarray(keras.layers.UnitNormalization()(x)), x)


# -- SpectralNormalization ----------------------------------------------------------------

SN_CASES = [
    pytest.param(lambda m: m.Dense(5), {"power_iterations": 1}, X3, id="dense"),
    pytest.param(lambda m: m.Dense(3, use_bias=False), {"power_iterations": 4}, X3,
                 id="dense-no-bias-4-iterations", marks=_SLOW),
    pytest.param(lambda m: m.Conv2D(3, 2, padding="same"), {"power_iterations": 2}, X4,
                 id="conv2d", marks=_SLOW),
]


@pytest.mark.parametrize("make,kwargs,x", SN_CASES)
def test_spectral_normalization_matches_keras_over_successive_training_calls(make, kwargs, x):
    ours = tl.SpectralNormalization(make(tl), **kwargs)
    theirs = keras.layers.SpectralNormalization(make(keras.layers), **kwargs)
    _pair(ours, theirs, x, randomize=False)
    assert [w.role for w in ours.weights][:2] == ["parameter", "statistic"]
    _close(ours(x, training=False), theirs(x, training=False))
    for _ in range(2):  # u (and the stored kernel, in eager calls) evolve as in Keras
        _close(ours(x, training=True), theirs(x, training=True))
        for o, t in zip(ours.get_weights(), theirs.get_weights()):
            _close(o, t)
    _close(ours(x), theirs(x))


def test_spectral_normalization_estimates_the_largest_singular_value():
    # Keras's own example: a 2x2 kernel of ones has sigma 2, so the training output halves.
    layer = tl.SpectralNormalization(
        tl.Conv2D(1, 2, kernel_initializer=thawnet.initializers.Constant(1.0)),
        power_iterations=8)
    images = np.ones((1, 2, 2, 1), "f4")
    np.testing.assert_allclose(np.asarray(layer(images, training=False)), [[[[4.0]]]])
    np.testing.assert_allclose(np.asarray(layer(images, training=True)), [[[[2.0]]]], rtol=1e-5)


@pytest.mark.slow
def test_spectral_normalization_of_embedding_matches_keras():
    ours = tl.SpectralNormalization(tl.Embedding(10, 4))
    theirs = keras.layers.SpectralNormalization(keras.layers.Embedding(10, 4))
    idx = np.array([1, 3, 9, 0], "int32")
    _pair(ours, theirs, idx, randomize=False)
    _close(ours(idx, training=True), theirs(idx, training=True))


def _sn_model():
    model = Sequential([tl.Input((6,)), tl.SpectralNormalization(tl.Dense(4), name="sn"),
                        tl.Dense(1)])
    model.build((None, 6))
    return model


def test_spectral_normalization_statistic_moves_only_in_training_through_the_bridge():
    model = _sn_model()
    train, frozen = model.trainable_split()
    assert frozen == ["sn/vector_u"] and "sn/dense_1/kernel" in train
    values = model.variables_by_path()
    t = {p: values[p].value for p in train}
    nt = {p: values[p].value for p in frozen}
    x = X3[:, 0, :]
    _, after_inference = model.stateless_call(t, nt, x, training=False)
    np.testing.assert_array_equal(np.asarray(after_inference["sn/vector_u"]),
                                  np.asarray(nt["sn/vector_u"]))
    step = jax.jit(lambda t, nt: model.stateless_call(t, nt, x, training=True))
    out, after_training = step(t, nt)
    assert not np.allclose(np.asarray(after_training["sn/vector_u"]), np.asarray(nt["sn/vector_u"]))
    # The bridge returns statistics only; the stored kernel is untouched by stateless calls.
    np.testing.assert_array_equal(np.asarray(values["sn/dense_1/kernel"].value),
                                  np.asarray(t["sn/dense_1/kernel"]))
    # Gradients reach the kernel through sigma.
    grads = jax.grad(lambda t: model.stateless_call(t, nt, x, training=True)[0].sum())(t)
    assert np.abs(np.asarray(grads["sn/dense_1/kernel"])).sum() > 0


def test_frozen_spectral_normalization_holds_its_statistic_and_kernel_bit_for_bit():
    model = _sn_model()
    sn = model.layers[0]
    sn.trainable = False
    before = [w.copy() for w in sn.get_weights()]
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X3[:, 0, :], np.ones((3, 1), "f4"), epochs=2, verbose=0)
    for b, a in zip(before, sn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_updates_vector_u_like_a_statistic_and_counts_match_keras():
    model = _sn_model()
    u0 = np.asarray(model.get_layer("sn").vector_u.value).copy()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(X3[:, 0, :], np.ones((3, 1), "f4"), epochs=1, verbose=0)
    assert not np.allclose(np.asarray(model.get_layer("sn").vector_u.value), u0)
    assert history.audit["sn/vector_u"].verdict != "unchanged"
    theirs = keras.Sequential([keras.Input((6,)),
                               keras.layers.SpectralNormalization(keras.layers.Dense(4)),
                               keras.layers.Dense(1)])
    assert model.count_params() == theirs.count_params() == 6 * 4 + 4 + 4 + 5
    assert sum(w.size for w in model.non_trainable_weights) == 4


def test_keras_weights_file_loads_and_predicts_the_same(tmp_path):
    theirs = keras.Sequential([keras.Input((6,)),
                               keras.layers.SpectralNormalization(keras.layers.Dense(4)),
                               keras.layers.Dense(1)])
    x = X3[:, 0, :]
    theirs(x, training=True)  # u and the kernel move away from their initial values
    theirs.save_weights(tmp_path / "sn.weights.h5")
    ours = _sn_model()
    ours.load_weights(tmp_path / "sn.weights.h5")
    for o, t in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(o, np.asarray(t))
    _close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))


def test_spectral_normalization_config_round_trips():
    layer = tl.SpectralNormalization(tl.Dense(3), power_iterations=2)
    clone = tl.SpectralNormalization.from_config(layer.get_config())
    assert clone.power_iterations == 2 and isinstance(clone.layer, tl.Dense)
    assert clone.layer.units == 3


def test_spectral_normalization_errors():
    with pytest.raises(ValueError, match=r"`power_iterations` should be greater than zero"):
        tl.SpectralNormalization(tl.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match=r"ReLU object has no attribute 'kernel' nor "
                                         r"'embeddings'"):
        tl.SpectralNormalization(tl.ReLU())(np.ones((4, 2), "f4"))
    with pytest.raises(ValueError, match=r"layer must be a Layer instance"):
        tl.SpectralNormalization("dense")
