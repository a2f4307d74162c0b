"""Normalization (adapt, constants) and Rescaling: parity with Keras 3 and clear errors."""

import keras
import numpy as np
import pytest

from thawnet import layers as tl
from thawnet.models import Model

RNG = np.random.default_rng(0)
DATA2 = RNG.normal(3.0, 2.0, size=(40, 4)).astype("f4")
DATA3 = RNG.normal(-1.0, 0.5, size=(30, 5, 3)).astype("f4")


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def _structure(ours, theirs):
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)


@pytest.mark.parametrize("axis,data", [(-1, DATA2), (None, DATA2), (-1, DATA3), (1, DATA3),
                                       ((1, 2), DATA3)])
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_adapt_matches_keras(axis, data, invert):
    ours = tl.Normalization(axis=axis, invert=invert)
    theirs = keras.layers.Normalization(axis=axis, invert=invert)
    ours.adapt(data)
    theirs.adapt(data)
    _structure(ours, theirs)
    for o, t in zip(ours.get_weights()[:2], theirs.get_weights()[:2]):  # mean, variance
        _close(o, t)
    x = data[:2]
    _close(ours(x), theirs(x))
    _close(ours(x, training=True), theirs(x, training=True))
    # Weights copied from Keras (its count stays 0) give the same outputs.
    copy = tl.Normalization(axis=axis, invert=invert)
    copy._maybe_build((None,) + data.shape[1:])
    copy.set_weights(theirs.get_weights())
    _close(copy(x), theirs(x))


def test_normalization_weights_are_statistics_with_count():
    norm = tl.Normalization()
    norm.adapt(DATA2)
    assert [w.role for w in norm.weights] == ["statistic"] * 3
    assert norm.trainable_weights == []
    assert int(norm.count.numpy()) == 40
    assert norm.count.dtype == np.int32
    assert norm.count_params() == 4 + 4 + 1
    per_axis = tl.Normalization(axis=1)
    per_axis.adapt(DATA3)
    assert int(per_axis.count.numpy()) == 30 * 3


def test_normalization_adapt_in_batches_equals_full_adapt():
    full = tl.Normalization()
    full.adapt(DATA2)
    chunked = tl.Normalization()
    chunked.adapt(DATA2, batch_size=7)  # uneven last batch
    generator = tl.Normalization()
    generator.adapt(DATA2[i:i + 9] for i in range(0, 40, 9))
    pairs = tl.Normalization()
    pairs.adapt([(DATA2[:25], None), (DATA2[25:], None)])
    for layer in (chunked, generator, pairs):
        for a, b in zip(layer.get_weights(), full.get_weights()):
            _close(a, b)
    _close(full.adapt_mean.numpy(), DATA2.mean(0))
    _close(full.adapt_variance.numpy(), DATA2.var(0))


def test_normalization_adapt_steps_limits_the_batches():
    norm = tl.Normalization()
    norm.adapt(DATA2, batch_size=10, steps=2)
    _close(norm.adapt_mean.numpy(), DATA2[:20].mean(0))
    assert int(norm.count.numpy()) == 20


def test_normalization_adapt_is_stable_for_large_offsets():
    data = (1e4 + RNG.normal(size=(1000, 2))).astype("f8")
    norm = tl.Normalization()
    norm.adapt(data, batch_size=64)
    _close(norm.adapt_variance.numpy(), data.var(0), tol=1e-4)


def test_normalization_adapt_before_and_after_build():
    built_first = tl.Normalization()
    built_first._maybe_build((None, 4))
    assert built_first.count_params() == 9
    built_first.adapt(DATA2)
    adapted = tl.Normalization()
    adapted.adapt(DATA2)
    assert adapted.built
    _close(built_first(DATA2[:3]), adapted(DATA2[:3]))
    # adapt after a call (the layer already built by its first call)
    called = tl.Normalization()
    _close(called(DATA2[:3]), DATA2[:3])  # unadapted: mean 0, variance 1
    called.adapt(DATA2)
    _close(called(DATA2[:3]), adapted(DATA2[:3]))


def test_normalization_in_functional_model_counts_like_keras():
    x = tl.Input(shape=(5, 3))
    ours = Model(x, tl.Normalization()(x))
    k = keras.Input((5, 3))
    theirs = keras.Model(k, keras.layers.Normalization()(k))
    assert ours.count_params() == theirs.count_params() == 7
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights) == 3
    assert ours.trainable_weights == []


@pytest.mark.parametrize("mean,variance", [(1.0, 4.0),
                                           ([1.0, 2.0, 3.0, 4.0], [1.0, 4.0, 9.0, 0.0])])
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_constants_create_no_weights_like_keras(mean, variance, invert):
    ours = tl.Normalization(mean=mean, variance=variance, invert=invert)
    theirs = keras.layers.Normalization(mean=mean, variance=variance, invert=invert)
    x = DATA2[:3]
    _close(ours(x), theirs(x))
    _structure(ours, theirs)
    assert ours.weights == [] and ours.count_params() == 0
    clone = tl.Normalization.from_config(ours.get_config())
    _close(clone(x), ours(x))


def test_normalization_integer_inputs_are_cast():
    norm = tl.Normalization(mean=2.0, variance=4.0)
    _close(norm(np.array([[2, 4]], "int32")), [[0.0, 1.0]])


def test_normalization_config_round_trip_after_adapt():
    norm = tl.Normalization(axis=(1, 2), invert=True)
    norm.adapt(DATA3)
    cfg = norm.get_config()
    assert cfg["axis"] == (1, 2) and cfg["mean"] is None and cfg["invert"] is True
    clone = tl.Normalization.from_config(cfg)
    clone._maybe_build((None, 5, 3))
    clone.set_weights(norm.get_weights())
    _close(clone(DATA3[:2]), norm(DATA3[:2]))


@pytest.mark.parametrize("kwargs,match", [
    ({"mean": 1.0}, "pass both mean and variance"),
    ({"mean": [1.0, 2.0], "variance": [1.0]}, "same shape"),
    ({"axis": "features"}, "axis must be an int"),
    ({"axis": None, "mean": [1.0], "variance": [1.0]}, "more than the number of kept axes"),
])
def test_normalization_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tl.Normalization(**kwargs)


def test_normalization_rejects_bad_adapt_and_inputs():
    norm = tl.Normalization(name="norm_err")
    norm.adapt(DATA2)
    with pytest.raises(ValueError, match=r'Normalization "norm_err" was built for inputs of shape '
                                         r"\(None, 4\).*adapt received a batch of shape \(3, 5\)"):
        norm.adapt(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r'Normalization "norm_err" expects inputs with last '
                                         r"dimension 4; received shape \(2, 3\)"):
        norm(np.zeros((2, 3), "f4"))
    with pytest.raises(ValueError, match="received no data"):
        tl.Normalization().adapt([])
    with pytest.raises(ValueError, match="cannot be adapted"):
        tl.Normalization(mean=0.0, variance=1.0).adapt(DATA2)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        tl.Normalization().adapt(DATA2, batch_size=0)
    with pytest.raises(TypeError, match="expects a NumPy array or an iterable"):
        tl.Normalization().adapt(3.5)


# -- Rescaling -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{"scale": 1 / 255.0}, {"scale": 1 / 127.5, "offset": -1.0},
                                    {"scale": [0.5, 2.0, -1.0], "offset": [0.0, 1.0, 2.0]}])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_rescaling_matches_keras(kwargs, dtype):
    x = RNG.integers(0, 255, size=(2, 4, 3)).astype(dtype)
    ours, theirs = tl.Rescaling(**kwargs), keras.layers.Rescaling(**kwargs)
    _close(ours(x), theirs(x))
    _close(ours(x, training=True), theirs(x, training=True))
    assert ours(x).dtype == np.float32
    _structure(ours, theirs)
    clone = tl.Rescaling.from_config(ours.get_config())
    _close(clone(x), ours(x))


def test_rescaling_in_functional_model_keeps_shape():
    x = tl.Input(shape=(4, 4, 3))
    model = Model(x, tl.Rescaling(0.5)(x))
    assert model.output_shape == (None, 4, 4, 3)
    assert model.count_params() == 0


@pytest.mark.parametrize("kwargs,match", [({"scale": "big"}, "scale must be a finite number"),
                                          ({"scale": 1.0, "offset": float("nan")},
                                           "offset must be a finite number")])
def test_rescaling_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tl.Rescaling(**kwargs)
