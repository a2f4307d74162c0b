"""Parity of the pooling layers with Keras 3 (the oracle), plus their input/argument errors."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import thawnet.layers as tl
from thawnet.layers import Input

TOL = dict(rtol=1e-5, atol=1e-5)


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _assert_matches_keras(name, kwargs, input_shape):
    x = _random(input_shape)
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(tl, name)(**kwargs)
    expected = np.asarray(theirs(x))
    assert tuple(ours(Input(batch_shape=input_shape)).shape) == expected.shape
    np.testing.assert_allclose(np.asarray(ours(x)), expected, **TOL)
    np.testing.assert_allclose(np.asarray(ours(x, training=True)),
                               np.asarray(theirs(x, training=True)), **TOL)
    assert ours.weights == [] and len(theirs.weights) == 0
    assert ours.count_params() == theirs.count_params() == 0
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 0
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights) == 0
    config, keras_config = ours.get_config(), theirs.get_config()
    for key in ("pool_size", "strides", "padding", "data_format", "keepdims"):
        assert (key in config) == (key in keras_config), key
        if key == "padding" and key in config:  # Keras keeps the case given; ours lowers it
            assert config[key] == keras_config[key].lower()
        elif key in config:
            assert config[key] == keras_config[key], key
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    np.testing.assert_allclose(np.asarray(clone(x)), expected, **TOL)


WINDOW_CASES = {
    "default": dict(),
    "pool3_valid": dict(pool_size=3),
    "pool3_same": dict(pool_size=3, padding="same"),
    "pool3_stride1_same": dict(pool_size=3, strides=1, padding="same"),
    "pool2_stride1_valid": dict(pool_size=2, strides=1),
    "pool2_stride3_same": dict(pool_size=2, strides=3, padding="SAME"),
    "pool4_stride2_same": dict(pool_size=4, strides=2, padding="same"),
    "channels_first_same": dict(pool_size=3, strides=2, padding="same",
                                data_format="channels_first"),
}


def _window_kwargs(name, case):
    kwargs = dict(WINDOW_CASES[case])
    if name.startswith("Average") and "pool_size" not in kwargs:
        kwargs["pool_size"] = 2  # Keras's AveragePooling has no default pool_size
    return kwargs


@pytest.mark.parametrize("name", ["MaxPooling1D", "AveragePooling1D"])
@pytest.mark.parametrize("case", sorted(WINDOW_CASES))
def test_pooling1d_matches_keras(name, case):
    kwargs = _window_kwargs(name, case)
    shape = (2, 3, 8) if kwargs.get("data_format") == "channels_first" else (2, 8, 3)
    _assert_matches_keras(name, kwargs, shape)


@pytest.mark.parametrize("name", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("case", sorted(WINDOW_CASES))
def test_pooling2d_matches_keras(name, case):
    kwargs = _window_kwargs(name, case)
    shape = (2, 3, 7, 6) if kwargs.get("data_format") == "channels_first" else (2, 7, 6, 3)
    _assert_matches_keras(name, kwargs, shape)


@pytest.mark.parametrize("name, kwargs", [
    ("MaxPooling2D", dict(pool_size=(2, 3), strides=(1, 2), padding="same")),
    ("AveragePooling2D", dict(pool_size=(3, 2), strides=(2, 1), padding="same")),
    ("AveragePooling2D", dict(pool_size=(3, 2), strides=(2, 1))),
])
def test_pooling2d_non_square_windows_match_keras(name, kwargs):
    _assert_matches_keras(name, kwargs, (2, 7, 6, 3))


@pytest.mark.parametrize("name, kwargs", [
    ("MaxPooling3D", dict()), ("MaxPooling3D", dict(pool_size=3, strides=2, padding="same")),
    ("AveragePooling3D", dict(pool_size=2)),
    ("AveragePooling3D", dict(pool_size=3, strides=2, padding="same")),
])
def test_pooling3d_matches_keras(name, kwargs):
    _assert_matches_keras(name, kwargs, (2, 5, 4, 5, 2))


def test_same_average_pooling_excludes_padding_from_the_mean():
    out = tl.AveragePooling1D(3, strides=1, padding="same")(jnp.ones((1, 4, 1)))
    np.testing.assert_allclose(np.asarray(out), np.ones((1, 4, 1)))


def test_max_pooling_same_padding_never_picks_the_padding():
    x = -jnp.arange(1.0, 6.0).reshape(1, 5, 1)  # all negative
    out = tl.MaxPooling1D(2, padding="same")(x)
    np.testing.assert_allclose(np.asarray(out)[0, :, 0], [-1.0, -3.0, -5.0])


def test_max_pooling_keeps_integer_inputs():
    out = tl.MaxPooling2D(padding="same")(jnp.arange(25, dtype=jnp.int32).reshape(1, 5, 5, 1))
    assert out.dtype == jnp.int32
    assert out[0, :, :, 0].tolist() == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]


GLOBAL_NAMES = ["GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling2D",
                "GlobalMaxPooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling3D"]


@pytest.mark.parametrize("name", GLOBAL_NAMES)
@pytest.mark.parametrize("kwargs", [dict(), dict(keepdims=True),
                                    dict(data_format="channels_first", keepdims=True),
                                    dict(data_format="channels_first")],
                         ids=["default", "keepdims", "channels_first_keepdims",
                              "channels_first"])
def test_global_pooling_matches_keras(name, kwargs):
    rank = int(name[-2])
    _assert_matches_keras(name, kwargs, (2,) + (5, 4, 3)[:rank] + (3,))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_average_pooling1d_mask_matches_keras(data_format):
    shape = (2, 6, 3) if data_format == "channels_last" else (2, 3, 6)
    x = _random(shape)
    mask = np.array([[1, 1, 0, 1, 0, 0], [1, 1, 1, 1, 1, 0]], bool)
    theirs = keras.layers.GlobalAveragePooling1D(data_format=data_format)
    ours = tl.GlobalAveragePooling1D(data_format=data_format)
    np.testing.assert_allclose(np.asarray(ours(x, mask=mask)),
                               np.asarray(theirs(x, mask=mask)), **TOL)


def test_pooling_aliases_are_the_keras_names():
    assert tl.MaxPool1D is tl.MaxPooling1D and tl.MaxPool2D is tl.MaxPooling2D
    assert tl.AvgPool1D is tl.AveragePooling1D and tl.AvgPool2D is tl.AveragePooling2D
    assert tl.GlobalAvgPool1D is tl.GlobalAveragePooling1D
    assert tl.GlobalAvgPool2D is tl.GlobalAveragePooling2D
    assert tl.GlobalMaxPool1D is tl.GlobalMaxPooling1D
    assert tl.GlobalMaxPool2D is tl.GlobalMaxPooling2D


def test_pooling_functional_shapes_with_unknown_spatial_dims():
    x = Input(shape=(None, None, 3))
    y = tl.MaxPooling2D(padding="same")(x)
    assert tuple(y.shape) == (None, None, None, 3)
    assert tuple(tl.GlobalAveragePooling2D()(y).shape) == (None, 3)
    assert tuple(tl.AveragePooling1D(2)(Input(shape=(9, 4))).shape) == (None, 4, 4)


def test_average_pooling_same_is_jittable():
    layer = tl.AveragePooling2D(3, strides=2, padding="same")
    x = jnp.asarray(_random((2, 7, 6, 3)))
    np.testing.assert_allclose(np.asarray(jax.jit(layer)(x)), np.asarray(layer(x)), **TOL)


# -- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: tl.MaxPooling2D(pool_size=0), r'MaxPooling2D "[^"]+": pool_size must be a positive'),
    (lambda: tl.MaxPooling2D(pool_size=(2, 2, 2)), "pool_size must be a positive integer or a "
                                                   "tuple of 2"),
    (lambda: tl.AveragePooling1D(2, strides=0), "strides must be a positive integer"),
    (lambda: tl.MaxPooling1D(padding="causal"), r"padding must be one of 'valid', 'same'; "
                                                r"received padding='causal'"),
    (lambda: tl.AveragePooling2D(2, data_format="NCHW"), "data_format must be"),
    (lambda: tl.GlobalMaxPooling2D(data_format="channels_middle"), "data_format must be"),
    (lambda: tl.GlobalAveragePooling2D(keepdims="yes"), "keepdims must be True or False"),
])
def test_pooling_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_pooling2d_rejects_wrong_rank_with_a_hint():
    with pytest.raises(ValueError, match=r"MaxPooling2D .* expects inputs of rank 4 .*received "
                                         r"shape \(6, 6, 3\).*Add the batch axis"):
        tl.MaxPooling2D()(np.ones((6, 6, 3), "float32"))
    with pytest.raises(ValueError, match="GlobalAveragePooling1D .* expects inputs of rank 3"):
        tl.GlobalAveragePooling1D()(Input(shape=(4, 4, 3)))


def test_valid_pooling_rejects_inputs_smaller_than_the_window():
    with pytest.raises(ValueError, match=r"too small for pool_size=\(3, 3\)"):
        tl.MaxPooling2D(3)(Input(shape=(2, 5, 1)))


@pytest.mark.parametrize("layer_cls", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling_is_differentiable_for_training(layer_cls, padding):
    layer = getattr(tl, layer_cls)(pool_size=2, padding=padding)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 5, 5, 2)).astype("f4"))
    grad = jax.grad(lambda v: jnp.sum(layer(v) ** 2))(x)
    assert grad.shape == x.shape and bool(jnp.all(jnp.isfinite(grad)))
    assert float(jnp.abs(grad).sum()) > 0
