"""EinsumDense against Keras 3: shapes, weights, outputs, config, LoRA and errors.

What is proved here: for each equation form (plain, leading and trailing ellipsis, with and
without bias) the kernel and bias shapes, weight names and outputs equal Keras's with the same
weights; the kernel initializer's fans come from the equation's axes; the config round-trips;
``enable_lora`` gives Keras's weights, counts and outputs, and a short fit equals Keras's; the
errors name the equation and the fix.
"""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.layers.einsum_dense import _analyze_einsum_string

RNG = np.random.default_rng(3)

# (equation, output_shape, bias_axes, input shape with batch)
CASES = {
    "dense": ("ab,bc->ac", 4, "c", (3, 5)),
    "heads": ("abc,cde->abde", (None, 2, 3), "de", (2, 4, 5)),
    "no_bias": ("abc,cd->abd", (4, 3), None, (2, 4, 5)),
    "left_ellipsis": ("...b,bc->...c", 3, "c", (2, 4, 5)),
    "right_ellipsis": ("ab...,bc->ac...", 3, "c", (2, 5, 3, 2)),
    "output_heads": ("abcd,cde->abe", (None, 6), "e", (2, 4, 3, 2)),
}


def _pair(case, **kwargs):
    equation, output_shape, bias_axes, shape = CASES[case]
    ours = tl.EinsumDense(equation, output_shape, bias_axes=bias_axes, **kwargs)
    theirs = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, **kwargs)
    ours.build(shape)
    theirs.build(shape)
    return ours, theirs, shape


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow)
                                  if c in ("no_bias", "output_heads") else c
                                  for c in sorted(CASES)])
def test_weights_and_outputs_equal_keras(case):
    ours, theirs, shape = _pair(case, activation="tanh")
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    weights = [RNG.normal(size=w.shape).astype("float32") for w in theirs.weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = RNG.normal(size=shape).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)


@pytest.mark.parametrize("case", ["dense", "heads", "no_bias", "right_ellipsis"])
def test_output_shape_and_analysis_equal_keras(case):
    equation, output_shape, bias_axes, shape = CASES[case]
    batchless = (None,) + shape[1:]
    ours = tl.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    theirs = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes)
    assert ours.compute_output_shape(batchless) == theirs.compute_output_shape(batchless)
    from keras.src.layers.core.einsum_dense import _analyze_einsum_string as keras_analyze
    assert _analyze_einsum_string(equation, bias_axes, batchless, output_shape) == \
        keras_analyze(equation, bias_axes, batchless, output_shape)


def test_kernel_fans_follow_the_equation_axes():
    # (64 inputs) -> (8 heads x 16): glorot's fans are 64 and 128, not a conv's 64*8 / 16*8.
    layer = tl.EinsumDense("abc,cde->abde", (None, 8, 16))
    layer.build((None, 5, 64))
    kernel = np.asarray(layer.kernel.value)
    limit = np.sqrt(6.0 / (64 + 128))
    assert kernel.shape == (64, 8, 16)
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.95 * limit
    assert abs(kernel.std() - limit / np.sqrt(3.0)) < 0.01


def test_config_round_trip_and_symbolic_call():
    layer = tl.EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de", activation="relu",
                           kernel_regularizer="l2", name="proj")
    config = layer.get_config()
    assert config["output_shape"] == (None, 2, 3) and config["equation"] == "abc,cde->abde"
    clone = tl.EinsumDense.from_config(config)
    assert clone.get_config() == config
    x = thawnet.Input((4, 5))
    assert clone(x).shape == (None, None, 2, 3)  # Keras's rule: a None of output_shape stays
    keys = set(keras.layers.EinsumDense("ab,bc->ac", 3).get_config())
    # (thawnet writes activity_regularizer only when one is set, as for every layer)
    assert keys - {"quantization_config", "gptq_unpacked_column_size",
                   "activity_regularizer"} <= set(config)


def test_lora_weights_counts_and_outputs_equal_keras():
    ours, theirs, shape = _pair("heads")
    ours.enable_lora(2, lora_alpha=3.0)
    theirs.enable_lora(2, lora_alpha=3.0)
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == \
        [(w.name, tuple(w.shape)) for w in theirs.weights]
    assert [w.name for w in ours.trainable_weights] == [w.name for w in theirs.trainable_weights]
    assert ours.count_params() == theirs.count_params() == 5 * 6 + 6 + 5 * 2 * 2 + 2 * 3
    weights = [RNG.normal(size=w.shape).astype("float32") for w in theirs.weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = RNG.normal(size=shape).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours.kernel), np.asarray(theirs.kernel), atol=1e-6)
    before = np.asarray(ours(x))
    ours.merge_lora()
    assert [w.name for w in ours.weights] == ["kernel", "bias"]
    np.testing.assert_allclose(np.asarray(ours(x)), before, atol=1e-5)


def test_lora_fit_matches_keras():
    x = RNG.normal(size=(16, 4, 5)).astype("float32")
    y = RNG.normal(size=(16, 4, 2, 3)).astype("float32")
    ours_layer = tl.EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de", lora_rank=2)
    theirs_layer = keras.layers.EinsumDense("abc,cde->abde", (None, 2, 3), bias_axes="de",
                                            lora_rank=2)
    ours = thawnet.models.Sequential([tl.Input((4, 5)), ours_layer])
    theirs = keras.Sequential([keras.Input((4, 5)), theirs_layer])
    weights = [RNG.normal(size=w.shape).astype("float32") for w in theirs.weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    ours.compile(optimizer=thawnet.optimizers.SGD(0.05), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    h_ours = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-5)
    for w_ours, w_theirs in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_ours, np.asarray(w_theirs), atol=1e-5)
    np.testing.assert_array_equal(ours.get_weights()[0], weights[0])  # the frozen kernel


@pytest.mark.parametrize("equation,bias_axes,match", [
    ("ab,bc", None, "Invalid einsum equation 'ab,bc'"),
    ("ab,bc->ad", None, "Dimension 'd' of the output"),
    ("ab,bcd->ac", None, "Weight dimension 'd'"),
    ("ab,bc->ac", "x", "Bias dimension 'x' was requested"),
])
def test_bad_equations_are_refused_with_the_reason(equation, bias_axes, match):
    layer = tl.EinsumDense(equation, 3, bias_axes=bias_axes)
    with pytest.raises(ValueError, match=match):
        layer.build((None, 4))


def test_a_shared_dimension_that_differs_is_refused():
    layer = tl.EinsumDense("abc,cd->abd", (5, 3))
    with pytest.raises(ValueError, match="do not match at shared dimension 'b'"):
        layer.build((None, 4, 2))
    with pytest.raises(ValueError, match='EinsumDense "einsum_dense_2": equation must be'):
        tl.EinsumDense(3, 4)
