"""Mixed precision against Keras 3 (same engine): the same model with the same weights under
``mixed_bfloat16`` and ``mixed_float16`` computes the same outputs within the half dtype's
tolerance, with the same output, compute and variable dtypes, and one fit step gives the
same loss."""

import keras
import numpy as np
import pytest

import thawnet

POLICIES = ("mixed_bfloat16", "mixed_float16")
# One or two units in the last place of the half dtype, relative to values of order 1-10.
TOLERANCE = {"mixed_bfloat16": 3e-2, "mixed_float16": 4e-3}


def _build(lib):
    layers = lib.layers
    inputs = lib.Input((5,))
    x = layers.Dense(8)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GroupNormalization(groups=2)(x)
    x = layers.Dense(8)(x)
    x = layers.LayerNormalization()(x)
    x = layers.RMSNormalization()(x)
    x = layers.Dense(3, dtype="float32")(x)  # a float32 head, as Keras's guide advises
    outputs = layers.Softmax()(x)
    return lib.Model(inputs, outputs)


@pytest.fixture(scope="module", params=POLICIES)
def pair(request):
    policy = request.param
    keras.mixed_precision.set_global_policy(policy)
    try:
        k_model = _build(keras)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    thawnet.mixed_precision.set_global_policy(policy)
    try:
        t_model = _build(thawnet)
    finally:
        thawnet.mixed_precision.set_global_policy("float32")
    rs = np.random.RandomState(0)
    for kv, tv in zip(k_model.weights, t_model.weights):
        positive = any(k in kv.path for k in ("gamma", "scale", "variance"))
        value = (rs.uniform(0.5, 1.5, kv.shape) if positive
                 else rs.normal(0, 0.3, kv.shape)).astype("float32")
        kv.assign(value)
        tv.assign(value)
    x = rs.randn(8, 5).astype("float32")
    y = np.eye(3, dtype="float32")[rs.randint(0, 3, 8)]
    return policy, k_model, t_model, x, y


def test_dtypes_equal_keras(pair):
    policy, k_model, t_model, _, _ = pair
    assert t_model.dtype_policy.name == k_model.dtype_policy.name == policy
    k_layers = [(l.dtype_policy.name, l.compute_dtype, str(l.output.dtype))
                for l in k_model.layers]
    t_layers = [(l.dtype_policy.name, str(l.compute_dtype), str(t.dtype))
                for l, t in zip(t_model.layers, [l.output for l in t_model.layers])]
    assert t_layers == k_layers
    assert [str(v.dtype) for v in t_model.weights] == [v.dtype for v in k_model.weights]
    assert {str(v.dtype) for v in t_model.weights} == {"float32"}


def test_outputs_match_keras(pair):
    policy, k_model, t_model, x, _ = pair
    expected, got = np.asarray(k_model(x)), np.asarray(t_model(x))
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got.astype("float32"), expected.astype("float32"),
                               atol=TOLERANCE[policy])
    # Not the float32 model's outputs: the half dtype is really used.
    inner = thawnet.Model(t_model.input, t_model.layers[5].output)
    assert str(np.asarray(inner(x)).dtype) == policy.split("_")[1]


def test_one_fit_step_loss_matches_keras(pair):
    policy, k_model, t_model, x, y = pair
    initial = [kv.numpy() for kv in k_model.weights]
    k_model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy")
    t_model.compile(thawnet.optimizers.SGD(0.1), "categorical_crossentropy")
    assert type(t_model.optimizer).__name__ == type(k_model.optimizer).__name__
    k_loss = float(k_model.train_on_batch(x, y))
    t_loss = float(t_model.train_on_batch(x, y))
    assert t_loss == pytest.approx(k_loss, rel=1e-3)
    # The step itself: float32 weights moved by the same (half-precision) gradients, within
    # the half dtype's tolerance relative to the largest move (a bias before a
    # BatchNormalization has a zero gradient up to rounding noise).
    k_moves = [kv.numpy() - before for kv, before in zip(k_model.weights, initial)]
    largest = max(np.abs(m).max() for m in k_moves)
    assert largest > 1e-2  # the step did move the weights
    for k_move, tv, before in zip(k_moves, t_model.weights, initial):
        np.testing.assert_allclose(np.asarray(tv.value) - before, k_move, err_msg=tv.path,
                                   atol=TOLERANCE[policy] * largest)
    assert str(t_model.weights[0].value.dtype) == "float32"


LAYERS = {
    "Conv2D": (lambda L: L.Conv2D(3, 3), (2, 5, 5, 2)),
    "Embedding": (lambda L: L.Embedding(10, 4), (2, 5)),
    "Normalization": (lambda L: L.Normalization(mean=1.0, variance=4.0), (2, 6)),
    "MultiHeadAttention": (lambda L: L.MultiHeadAttention(2, 4), (2, 5, 8)),
    "GRU": (lambda L: L.GRU(4), (2, 5, 3)),
}


# Eager MultiHeadAttention and GRU calls cost ~10 s here: long variants (THAWNET_FULL=1).
SLOW_LAYERS = ("GRU", "MultiHeadAttention")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_LAYERS
                                  else n for n in sorted(LAYERS)])
def test_layer_outputs_under_mixed_float16_match_keras(name):
    make, shape = LAYERS[name]
    keras.mixed_precision.set_global_policy("mixed_float16")
    thawnet.mixed_precision.set_global_policy("mixed_float16")
    try:
        k_layer, t_layer = make(keras.layers), make(thawnet.layers)
    finally:
        keras.mixed_precision.set_global_policy("float32")
        thawnet.mixed_precision.set_global_policy(None)
    rs = np.random.RandomState(0)
    x = (rs.randint(0, 10, shape).astype("int32") if name == "Embedding"
         else rs.randn(*shape).astype("float32"))
    args = (x, x) if name == "MultiHeadAttention" else (x,)
    k_layer(*args)
    t_layer(*args)
    for kv, tv in zip(k_layer.weights, t_layer.weights):
        tv.assign(np.asarray(kv.numpy()))
    expected, got = np.asarray(k_layer(*args)), np.asarray(t_layer(*args))
    assert got.dtype == expected.dtype == np.float16
    assert [str(v.dtype) for v in t_layer.weights] == [v.dtype for v in k_layer.weights]
    np.testing.assert_allclose(got.astype("float32"), expected.astype("float32"), atol=2e-3)
