"""Parity of the convolution layers with Keras 3 (the oracle), plus their input/argument errors."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import thawnet.layers as tl
from thawnet.layers import Input
from thawnet.models import Model

TOL = dict(rtol=1e-5, atol=1e-5)

_CONV = ("kernel_initializer", "bias_initializer")
_DEPTHWISE = ("depthwise_initializer", "bias_initializer")
_SEPARABLE = ("depthwise_initializer", "pointwise_initializer", "bias_initializer")
_INITIALIZER_ARGS = {
    "Conv1D": _CONV, "Conv2D": _CONV, "Conv3D": _CONV, "Conv1DTranspose": _CONV,
    "Conv2DTranspose": _CONV, "Conv3DTranspose": _CONV, "DepthwiseConv1D": _DEPTHWISE,
    "DepthwiseConv2D": _DEPTHWISE, "SeparableConv1D": _SEPARABLE, "SeparableConv2D": _SEPARABLE,
}


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _assert_matches_keras(name, kwargs, input_shape, keras_name=None):
    """Build both layers on the same input, copy Keras's weights, compare everything."""
    x = _random(input_shape)
    # Keras's random initialisers compile once per shape (slow); build Keras with zeros and
    # give it random weights instead. Ours keeps the requested (default) initialisers.
    cheap = {k: "zeros" for k in _INITIALIZER_ARGS[name] if k not in kwargs}
    theirs = getattr(keras.layers, keras_name or name)(**kwargs, **cheap)
    theirs.build(input_shape)
    theirs.set_weights([_random(w.shape, seed=i + 1) for i, w in enumerate(theirs.weights)])
    expected = np.asarray(theirs(x))
    ours = getattr(tl, name)(**kwargs)
    # Build symbolically: checks the inferred output shape, and leaves our (lazy) random
    # initialisation unmaterialised, so no per-shape init program is compiled.
    assert tuple(ours(Input(batch_shape=input_shape)).shape) == expected.shape
    assert [tuple(v.shape) for v in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [v.name for v in ours.weights] == [w.name for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), expected, **TOL)
    np.testing.assert_allclose(np.asarray(ours(x, training=True)),
                               np.asarray(theirs(x, training=True)), **TOL)
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)

    config, keras_config = ours.get_config(), theirs.get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "output_padding", "data_format",
                "dilation_rate", "groups", "depth_multiplier", "activation", "use_bias"):
        assert (key in config) == (key in keras_config), key
        if key in config:
            assert config[key] == keras_config[key], key
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    clone(Input(batch_shape=input_shape))
    clone.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), expected, **TOL)
    return ours, expected


# -- Conv1D / Conv2D / Conv3D ---------------------------------------------------------------------

CONV2D_CASES = {
    "valid": dict(filters=4, kernel_size=3),
    "same_padding": dict(filters=4, kernel_size=3, padding="same"),
    "strides2_same": dict(filters=3, kernel_size=3, strides=2, padding="same"),
    "strides2_valid_even_kernel": dict(filters=3, kernel_size=2, strides=2),
    "non_square": dict(filters=2, kernel_size=(2, 3), strides=(2, 1), padding="same"),
    "dilation_same": dict(filters=3, kernel_size=3, dilation_rate=2, padding="same"),
    "dilation_valid_mixed": dict(filters=3, kernel_size=2, dilation_rate=(2, 1)),
    "groups": dict(filters=6, kernel_size=3, groups=2, padding="same"),
    "no_bias_relu": dict(filters=4, kernel_size=3, use_bias=False, activation="relu"),
    "channels_first": dict(filters=4, kernel_size=3, padding="same", strides=2,
                           data_format="channels_first"),
}


@pytest.mark.parametrize("case", sorted(CONV2D_CASES))
def test_conv2d_matches_keras(case):
    kwargs = CONV2D_CASES[case]
    shape = (2, 4, 7, 6) if kwargs.get("data_format") == "channels_first" else (2, 7, 6, 4)
    _assert_matches_keras("Conv2D", kwargs, shape)


CONV1D_CASES = {
    "valid": dict(filters=4, kernel_size=3),
    "same_padding": dict(filters=4, kernel_size=4, padding="same"),
    "causal": dict(filters=3, kernel_size=3, padding="causal"),
    "causal_dilated": dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2),
    "causal_strided": dict(filters=3, kernel_size=2, padding="causal", strides=2),
    "strides2": dict(filters=2, kernel_size=3, strides=2),
    "groups_no_bias": dict(filters=4, kernel_size=2, groups=4, use_bias=False),
    "channels_first": dict(filters=2, kernel_size=3, data_format="channels_first"),
}


@pytest.mark.parametrize("case", sorted(CONV1D_CASES))
def test_conv1d_matches_keras(case):
    kwargs = CONV1D_CASES[case]
    shape = (2, 4, 8) if kwargs.get("data_format") == "channels_first" else (2, 8, 4)
    _assert_matches_keras("Conv1D", kwargs, shape)


@pytest.mark.parametrize("kwargs", [dict(filters=2, kernel_size=2),
                                    dict(filters=2, kernel_size=3, strides=2, padding="same")])
def test_conv3d_matches_keras(kwargs):
    _assert_matches_keras("Conv3D", kwargs, (2, 5, 4, 5, 2))


def test_conv_aliases_are_the_keras_names():
    assert tl.Convolution1D is tl.Conv1D and tl.Convolution2D is tl.Conv2D
    assert tl.Convolution2DTranspose is tl.Conv2DTranspose
    assert tl.SeparableConvolution2D is tl.SeparableConv2D


# -- transposed convolutions ------------------------------------------------------------------

CONV2D_TRANSPOSE_CASES = {
    "valid": dict(filters=3, kernel_size=3),
    "same": dict(filters=3, kernel_size=3, padding="same"),
    "strides2_valid": dict(filters=3, kernel_size=3, strides=2),
    "strides2_same": dict(filters=3, kernel_size=3, strides=2, padding="same"),
    "even_kernel_strides2_same": dict(filters=2, kernel_size=4, strides=2, padding="same"),
    "stride_larger_than_kernel": dict(filters=2, kernel_size=1, strides=3),
    "output_padding_valid": dict(filters=2, kernel_size=3, strides=2, output_padding=1),
    "output_padding_same": dict(filters=2, kernel_size=3, strides=(2, 3), padding="same",
                                output_padding=(1, 2)),
    "output_padding_zero_same_even": dict(filters=2, kernel_size=2, strides=2, padding="same",
                                          output_padding=0),
    "dilation": dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"),
    "dilation_valid": dict(filters=2, kernel_size=2, dilation_rate=(1, 2)),
    "no_bias_tanh": dict(filters=3, kernel_size=2, strides=2, use_bias=False,
                         activation="tanh"),
    "channels_first": dict(filters=3, kernel_size=3, strides=2, padding="same",
                           data_format="channels_first"),
}


@pytest.mark.parametrize("case", sorted(CONV2D_TRANSPOSE_CASES))
def test_conv2d_transpose_matches_keras(case):
    kwargs = CONV2D_TRANSPOSE_CASES[case]
    shape = (2, 4, 5, 4) if kwargs.get("data_format") == "channels_first" else (2, 5, 4, 4)
    _assert_matches_keras("Conv2DTranspose", kwargs, shape)


@pytest.mark.parametrize("kwargs", [dict(filters=2, kernel_size=3, strides=2),
                                    dict(filters=2, kernel_size=3, strides=2, padding="same",
                                         output_padding=1)])
def test_conv1d_transpose_matches_keras(kwargs):
    _assert_matches_keras("Conv1DTranspose", kwargs, (2, 6, 3))


def test_conv3d_transpose_matches_keras():
    _assert_matches_keras("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2,
                                                  padding="same"), (2, 3, 2, 3, 2))


# -- depthwise and separable ------------------------------------------------------------------

DEPTHWISE_CASES = {
    "valid": dict(kernel_size=3),
    "same_multiplier2": dict(kernel_size=3, padding="same", depth_multiplier=2),
    "strides2": dict(kernel_size=3, strides=2, depth_multiplier=3),
    "dilation": dict(kernel_size=2, dilation_rate=2, padding="same"),
    "no_bias_relu6": dict(kernel_size=(3, 2), use_bias=False, activation="relu6"),
    "channels_first": dict(kernel_size=3, depth_multiplier=2, padding="same",
                           data_format="channels_first"),
}


@pytest.mark.parametrize("case", sorted(DEPTHWISE_CASES))
def test_depthwise_conv2d_matches_keras(case):
    kwargs = DEPTHWISE_CASES[case]
    shape = (2, 3, 7, 6) if kwargs.get("data_format") == "channels_first" else (2, 7, 6, 3)
    ours, _ = _assert_matches_keras("DepthwiseConv2D", kwargs, shape)
    assert ours.depthwise_kernel is ours.kernel


def test_depthwise_conv1d_matches_keras():
    _assert_matches_keras("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2,
                                                  padding="same"), (2, 7, 3))


SEPARABLE_CASES = {
    "valid": dict(filters=4, kernel_size=3),
    "same_multiplier2": dict(filters=5, kernel_size=3, padding="same", depth_multiplier=2),
    "strides2": dict(filters=2, kernel_size=3, strides=2),
    "dilation": dict(filters=3, kernel_size=2, dilation_rate=2, padding="same"),
    "no_bias_sigmoid": dict(filters=3, kernel_size=2, use_bias=False, activation="sigmoid"),
    "channels_first": dict(filters=3, kernel_size=3, data_format="channels_first"),
}


@pytest.mark.parametrize("case", sorted(SEPARABLE_CASES))
def test_separable_conv2d_matches_keras(case):
    kwargs = SEPARABLE_CASES[case]
    shape = (2, 3, 6, 7) if kwargs.get("data_format") == "channels_first" else (2, 6, 7, 3)
    _assert_matches_keras("SeparableConv2D", kwargs, shape)


def test_separable_conv1d_matches_keras():
    _assert_matches_keras("SeparableConv1D", dict(filters=4, kernel_size=3, depth_multiplier=2),
                          (2, 8, 3))


# -- beyond eager calls -----------------------------------------------------------------------

def test_conv2d_regularizer_losses_match_keras():
    kwargs = dict(filters=3, kernel_size=3, kernel_regularizer="l2", bias_regularizer="l1",
                  kernel_initializer="ones", bias_initializer="ones")
    x = _random((2, 5, 5, 2))
    theirs, ours = keras.layers.Conv2D(**kwargs), tl.Conv2D(**kwargs)
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(float(ours.regularization_loss()),
                               float(sum(np.asarray(l) for l in theirs.losses)), rtol=1e-5)
    clone = tl.Conv2D.from_config(ours.get_config())
    clone(x)
    clone.set_weights(ours.get_weights())
    np.testing.assert_allclose(float(clone.regularization_loss()),
                               float(ours.regularization_loss()), rtol=1e-6)


def test_conv_functional_shapes_with_unknown_spatial_dims():
    x = Input(shape=(None, None, 3))
    y = tl.Conv2D(4, 3, strides=2, padding="same")(x)
    y = tl.Conv2DTranspose(2, 3, strides=2, padding="same")(y)
    z = tl.SeparableConv2D(5, 3)(tl.DepthwiseConv2D(3, depth_multiplier=2)(y))
    assert tuple(y.shape) == (None, None, None, 2)
    assert tuple(z.shape) == (None, None, None, 5)
    model = Model(x, z)
    assert model(np.ones((1, 9, 9, 3), "float32")).shape == (1, 6, 6, 5)
    # The default initialisers gave every kernel finite, non-constant values.
    for v in model.weights:
        value = np.asarray(v.value)
        assert np.all(np.isfinite(value))
        if "kernel" in v.name:
            assert value.std() > 0


def test_conv_functional_shapes_with_known_spatial_dims():
    x = Input(shape=(8, 10, 3))
    y = tl.Conv2D(4, 3, strides=2)(x)
    assert tuple(y.shape) == (None, 3, 4, 4)
    t = Input(shape=(12, 2))
    assert tuple(tl.Conv1D(3, 3, padding="causal", dilation_rate=2)(t).shape) == (None, 12, 3)


def test_conv2d_stateless_call_is_jittable_and_differentiable():
    layer = tl.Conv2D(3, 3, padding="same")
    x = jnp.asarray(_random((2, 6, 6, 2)))
    layer(x)
    params = {p: v.value for p, v in layer.variables_by_path().items()}

    @jax.jit
    def loss(params, x):
        out, _ = layer.stateless_call(params, {}, x)
        return jnp.sum(out ** 2)

    grads = jax.grad(loss)(params, x)
    assert set(grads) == set(params)
    assert all(float(jnp.abs(g).sum()) > 0 for g in grads.values())
    np.testing.assert_allclose(float(loss(params, x)), float(jnp.sum(layer(x) ** 2)), rtol=1e-5)


def test_conv2d_casts_integer_inputs_to_layer_dtype():
    layer = tl.Conv2D(2, 2)
    assert layer(np.ones((1, 3, 3, 1), "int32")).dtype == jnp.float32


# -- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: tl.Conv2D(-3, 3), r'Conv2D "[^"]+": filters must be a positive integer; received '
                               r"filters=-3"),
    (lambda: tl.Conv2D(2.5, 3), "filters must be a positive integer"),
    (lambda: tl.Conv2D(4, 0), "kernel_size must be a positive integer or a tuple of 2"),
    (lambda: tl.Conv2D(4, (3, 3, 3)), r"kernel_size=\(3, 3, 3\)"),
    (lambda: tl.Conv2D(4, 3, strides=0), "strides must be a positive integer"),
    (lambda: tl.Conv2D(4, 3, padding="causal"), r"padding must be one of 'valid', 'same'"),
    (lambda: tl.Conv1D(4, 3, padding="full"), r"'valid', 'same', 'causal'; received "
                                              r"padding='full'"),
    (lambda: tl.Conv2D(4, 3, data_format="NHWC"), "data_format must be 'channels_last' or"),
    (lambda: tl.Conv2D(5, 3, groups=2), "filters must be divisible by groups"),
    (lambda: tl.Conv2D(4, 3, groups=0), "groups must be a positive integer"),
    (lambda: tl.Conv2D(4, 3, strides=2, dilation_rate=2), "strides > 1 cannot be combined"),
    (lambda: tl.Conv2D(4, 3, activation="nope"), "unknown activation 'nope'"),
    (lambda: tl.Conv2DTranspose(4, 3, strides=2, output_padding=2),
     "output_padding must be smaller than strides"),
    (lambda: tl.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier must be a positive"),
    (lambda: tl.SeparableConv2D(0, 3), "SeparableConv2D .*filters must be a positive integer"),
])
def test_conv_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_conv2d_rejects_wrong_rank_with_a_hint():
    with pytest.raises(ValueError, match=r"expects inputs of rank 4 .*received shape \(5, 5, 3\)"
                                         r".*add the batch axis|Add the batch axis"):
        tl.Conv2D(2, 3)(np.ones((5, 5, 3), "float32"))


def test_conv1d_rejects_wrong_rank_symbolically():
    with pytest.raises(ValueError, match="Conv1D .* expects inputs of rank 3"):
        tl.Conv1D(2, 3)(Input(shape=(5, 5, 3)))


def test_conv2d_rejects_a_different_channel_count_after_build():
    layer = tl.Conv2D(2, 3)
    layer(Input(shape=(5, 5, 3)))
    with pytest.raises(ValueError, match=r"last dimension 3; received shape \(1, 5, 5, 4\)"
                                         r".*built for inputs with 3 channels"):
        layer(np.ones((1, 5, 5, 4), "float32"))


def test_conv2d_rejects_input_channels_not_divisible_by_groups():
    with pytest.raises(ValueError, match=r"input channels \(3\) must be divisible by groups=2"):
        tl.Conv2D(4, 3, groups=2)(np.ones((1, 5, 5, 3), "float32"))


def test_conv2d_rejects_inputs_smaller_than_the_kernel():
    with pytest.raises(ValueError, match=r"too small for kernel_size=\(5, 5\)"):
        tl.Conv2D(2, 5)(np.ones((1, 3, 6, 1), "float32"))
    with pytest.raises(ValueError, match="too small"):
        tl.Conv2D(2, 5)(Input(shape=(3, 6, 1)))


def test_conv2d_needs_a_known_channel_count():
    with pytest.raises(ValueError, match="needs a known number of input channels"):
        tl.Conv2D(2, 3)(Input(shape=(5, 5, None)))
