"""Reshaping layers against Keras 3: outputs, symbolic shapes, configs, and argument errors."""

import keras
import numpy as np
import pytest

import thawnet.layers as tl
from thawnet.models import Model

RNG = np.random.default_rng(0)


def _rand(*shape):
    return RNG.standard_normal(shape).astype("float32")


def _assert_parity(name, kwargs, shape, tol=1e-5):
    """Same outputs (inference and training), symbolic shape, weights, params, config."""
    x = _rand(*shape)
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(tl, name)(**kwargs)
    expected = np.asarray(theirs(x))
    for training in (False, True):
        got = np.asarray(ours(x, training=training))
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, np.asarray(theirs(x, training=training)),
                                   rtol=tol, atol=tol)
    ours.set_weights(theirs.get_weights())
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights] == []
    assert ours.count_params() == theirs.count_params() == 0
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)
    rebuilt = getattr(tl, name).from_config(ours.get_config())
    assert rebuilt.get_config() == ours.get_config()
    np.testing.assert_allclose(np.asarray(rebuilt(x)), expected, rtol=tol, atol=tol)
    sym_ours = getattr(tl, name)(**kwargs)(tl.Input(shape=shape[1:]))
    sym_theirs = getattr(keras.layers, name)(**kwargs)(keras.Input(shape[1:]))
    assert sym_ours.shape == tuple(sym_theirs.shape)
    return ours


@pytest.mark.parametrize("kwargs,shape", [
    ({}, (2, 3, 4, 2)), ({}, (2, 5)), ({}, (2,)),
    ({"data_format": "channels_first"}, (2, 3, 4, 2)),
])
def test_flatten_matches_keras(kwargs, shape):
    _assert_parity("Flatten", kwargs, shape)


@pytest.mark.parametrize("target,shape", [((3, 4), (2, 12)), ((-1, 2), (2, 3, 4)),
                                          ((2, -1, 3), (2, 12)), ((24,), (2, 2, 3, 4))])
def test_reshape_matches_keras(target, shape):
    _assert_parity("Reshape", {"target_shape": target}, shape)


def test_reshape_keeps_unknown_dimensions_unknown():
    out = tl.Reshape((-1, 2))(tl.Input(shape=(None, 4)))
    assert out.shape == tuple(keras.layers.Reshape((-1, 2))(keras.Input((None, 4))).shape)


@pytest.mark.parametrize("dims,shape", [((2, 1), (2, 3, 4)), ((3, 1, 2), (2, 3, 4, 5)),
                                        ((1,), (2, 3))])
def test_permute_matches_keras(dims, shape):
    _assert_parity("Permute", {"dims": dims}, shape)


@pytest.mark.parametrize("n", [1, 3])
def test_repeat_vector_matches_keras(n):
    _assert_parity("RepeatVector", {"n": n}, (2, 4))


@pytest.mark.parametrize("padding", [1, (2, 0), (0, 3)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_zero_padding1d_matches_keras(padding, data_format):
    _assert_parity("ZeroPadding1D", {"padding": padding, "data_format": data_format}, (2, 5, 3))


@pytest.mark.parametrize("padding", [1, (2, 1), ((1, 0), (0, 2))])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_zero_padding2d_matches_keras(padding, data_format):
    _assert_parity("ZeroPadding2D", {"padding": padding, "data_format": data_format},
                   (2, 5, 6, 3))


@pytest.mark.parametrize("cropping", [1, (2, 0), (0, 3)])
def test_cropping1d_matches_keras(cropping):
    _assert_parity("Cropping1D", {"cropping": cropping}, (2, 6, 3))


@pytest.mark.parametrize("cropping", [0, 1, (2, 1), ((1, 0), (0, 2)), ((0, 2), (1, 0))])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cropping2d_matches_keras(cropping, data_format):
    _assert_parity("Cropping2D", {"cropping": cropping, "data_format": data_format},
                   (2, 6, 7, 5))


@pytest.mark.parametrize("size", [1, 2, 3])
def test_upsampling1d_matches_keras(size):
    _assert_parity("UpSampling1D", {"size": size}, (2, 5, 3))


@pytest.mark.parametrize("size", [2, (2, 3)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_upsampling2d_matches_keras(size, data_format, interpolation):
    _assert_parity("UpSampling2D", {"size": size, "data_format": data_format,
                                    "interpolation": interpolation}, (2, 5, 6, 3))


def test_upsampling2d_bilinear_is_exact_against_keras():
    x = _rand(2, 5, 6, 3)
    expected = np.asarray(keras.layers.UpSampling2D((3, 2), interpolation="bilinear")(x))
    got = np.asarray(tl.UpSampling2D((3, 2), interpolation="bilinear")(x))
    assert np.max(np.abs(got - expected)) <= 1e-6


def test_reshaping_layers_trace_under_jit_inside_a_model():
    x = tl.Input(shape=(6, 4, 2))
    h = tl.Cropping2D(((1, 1), (0, 1)))(tl.ZeroPadding2D(1)(tl.UpSampling2D(2)(x)))
    h = tl.Permute((2, 1, 3))(h)
    h = tl.Reshape((-1, 2))(h)
    out = tl.RepeatVector(2)(tl.Flatten()(tl.UpSampling1D(2)(h)))
    model = Model(x, out)
    kx = keras.Input((6, 4, 2))
    kh = keras.layers.Cropping2D(((1, 1), (0, 1)))(
        keras.layers.ZeroPadding2D(1)(keras.layers.UpSampling2D(2)(kx)))
    kh = keras.layers.Reshape((-1, 2))(keras.layers.Permute((2, 1, 3))(kh))
    kout = keras.layers.RepeatVector(2)(keras.layers.Flatten()(keras.layers.UpSampling1D(2)(kh)))
    data = _rand(2, 6, 4, 2)
    assert model.output_shape == tuple(kout.shape)
    np.testing.assert_allclose(np.asarray(model(data)),
                               np.asarray(keras.Model(kx, kout)(data)), rtol=1e-6, atol=1e-6)


def test_reshape_size_mismatch_fails_at_graph_construction():
    with pytest.raises(ValueError, match=r'Reshape "r" cannot reshape inputs of shape '
                                         r"\(None, 6\) \(6 values per sample\) to target_shape "
                                         r"\(4,\) \(4 values\).*use -1"):
        tl.Reshape((4,), name="r")(tl.Input(shape=(6,)))
    with pytest.raises(ValueError, match=r"7 is not a multiple of 2"):
        tl.Reshape((2, -1))(tl.Input(shape=(7,)))
    layer = tl.Reshape((3, -1))
    layer(_rand(2, 6))
    with pytest.raises(ValueError, match=r"shape \(2, 7\)"):
        layer(_rand(2, 7))


@pytest.mark.parametrize("make,match", [
    (lambda: tl.Reshape((2, -1, -1)), r"at most one -1"),
    (lambda: tl.Reshape((0, 3)), r"target_shape must be a tuple of positive ints"),
    (lambda: tl.Permute((0, 1)), r'Permute ".*": dims must be a permutation of 1..n'),
    (lambda: tl.Permute((1, 3)), r"dims must be a permutation"),
    (lambda: tl.RepeatVector(0), r'RepeatVector ".*": n must be a positive integer'),
    (lambda: tl.ZeroPadding1D(-1), r"padding must be a non-negative int"),
    (lambda: tl.ZeroPadding2D((1, 2, 3)), r"padding must be an int, a pair of ints"),
    (lambda: tl.ZeroPadding2D(((1, 2), (3,))), r"padding\[1\] must be a non-negative int"),
    (lambda: tl.Cropping1D((1, 2, 3)), r'Cropping1D ".*": cropping must be'),
    (lambda: tl.Cropping2D(-1), r"cropping\[0\] must be a non-negative"),
    (lambda: tl.UpSampling1D(0), r"size must be a positive integer"),
    (lambda: tl.UpSampling2D((2, 0)), r"size must be a positive int"),
    (lambda: tl.UpSampling2D(interpolation="area"), r"interpolation must be one of"),
    (lambda: tl.Flatten(data_format="nchw"), r"data_format must be"),
])
def test_reshaping_layers_reject_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_cropping_larger_than_input_fails_at_graph_construction():
    with pytest.raises(ValueError, match=r'Cropping1D "c1" crops 3\+3 from axis 1, which has '
                                         r"size 5 \(received shape \(None, 5, 2\)\)"):
        tl.Cropping1D(3, name="c1")(tl.Input(shape=(5, 2)))
    with pytest.raises(ValueError, match=r'Cropping2D ".*" crops 2\+2 from axis 2, which has '
                                         r"size 4"):
        tl.Cropping2D(((0, 0), (2, 2)))(tl.Input(shape=(6, 4, 1)))


@pytest.mark.parametrize("layer,shape,match", [
    (lambda: tl.Permute((2, 1)), (4,), r"expects inputs of rank 3.*dims=\(2, 1\) permutes 2"),
    (lambda: tl.RepeatVector(2), (3, 4), r"expects inputs of rank 2.*Flatten or Reshape"),
    (lambda: tl.ZeroPadding2D(), (4, 4), r'ZeroPadding2D ".*" expects inputs of rank 4'),
    (lambda: tl.UpSampling1D(), (4,), r"expects inputs of rank 3"),
])
def test_reshaping_layers_reject_inputs_of_wrong_rank(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer()(tl.Input(shape=shape))
