"""thawnet.ops against keras.ops (KERAS_BACKEND=jax): coverage of Keras's names, signatures,
and numerical parity on small random inputs."""

from __future__ import annotations

import inspect

import jax
import keras
import numpy as np
import pytest

import thawnet
from thawnet import ops
from tests.core.ops_cases import CASES, IMAGE_OPS, X, Y

KERAS_NAMES = sorted(n for n in dir(keras.ops) if not n.startswith("_"))

# Ops that Keras's own layers and the Keras 3 guides call; all must exist.
REQUIRED = [
    "add", "subtract", "multiply", "divide", "matmul", "dot", "einsum", "mean", "sum", "max",
    "min", "sqrt", "square", "exp", "log", "abs", "maximum", "minimum", "clip", "where",
    "reshape", "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split", "tile",
    "repeat", "pad", "take", "take_along_axis", "argmax", "argmin", "argsort", "sort", "cumsum",
    "arange", "zeros", "ones", "zeros_like", "ones_like", "full", "eye", "equal", "not_equal",
    "greater", "less", "logical_and", "logical_not", "cast", "convert_to_tensor",
    "convert_to_numpy", "shape", "dtype", "cond", "stop_gradient", "scatter", "scatter_update",
    "slice", "slice_update", "while_loop", "fori_loop", "scan", "switch", "vectorized_map",
    "is_tensor", "top_k", "in_top_k", "logsumexp", "segment_sum", "softmax", "log_softmax",
    "relu", "gelu", "silu", "sigmoid", "tanh", "one_hot", "conv", "depthwise_conv",
    "separable_conv", "conv_transpose", "max_pool", "average_pool", "moments",
    "batch_normalization", "layer_normalization", "normalize", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "dot_product_attention",
    "rsqrt", "erf", "var", "std", "prod", "all", "any", "norm", "image", "nn", "numpy",
    "linalg", "unstack", "get_item", "broadcast_to", "flip", "roll", "tril", "triu", "linspace",
    "isnan", "isfinite", "nan_to_num", "floor", "round", "power", "sign", "softplus", "elu",
    "selu", "leaky_relu", "relu6", "hard_sigmoid", "custom_gradient",
]
# Reached by this implementation: all 341 names of Keras 3.15's keras.ops.
MIN_COVERAGE = 1.0


def test_coverage_of_keras_ops_names():
    have = {n: hasattr(ops, n) for n in KERAS_NAMES}
    missing = sorted(n for n, ok in have.items() if not ok)
    assert [n for n in REQUIRED if not have.get(n, False)] == []
    fraction = sum(have.values()) / len(have)
    assert fraction >= MIN_COVERAGE, f"coverage {fraction:.3f}; missing: {missing}"
    assert len(KERAS_NAMES) >= 300  # the listing itself is Keras's, not empty


def test_submodules_match_keras():
    for sub in ("numpy", "nn", "linalg", "image"):
        keras_sub = {n for n in dir(getattr(keras.ops, sub)) if not n.startswith("_")}
        ours = {n for n in keras_sub if hasattr(getattr(ops, sub), n)}
        assert len(ours) / len(keras_sub) >= (0.5 if sub == "image" else 0.9), (
            sub, sorted(keras_sub - ours))


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_signatures_match_keras():
    mismatched = []
    for name in KERAS_NAMES:
        ours, theirs = getattr(ops, name, None), getattr(keras.ops, name)
        if ours is None or inspect.ismodule(theirs):
            continue
        if _params(ours) != _params(theirs):
            mismatched.append((name, str(inspect.signature(ours)),
                               str(inspect.signature(theirs))))
    assert mismatched == []


def _resolve(name):
    base = name.split(":")[0]
    if base in IMAGE_OPS:
        return getattr(ops.image, base), getattr(keras.ops.image, base)
    return getattr(ops, base), getattr(keras.ops, base)


def _leaves(tree):
    return jax.tree_util.tree_leaves(tree)


# The default run checks the ops of REQUIRED plus one of each family below; every other case
# (all implemented ops, variants such as ":axis" or ":same") is marked slow: eager JAX compiles
# each primitive once, so the full table costs about half a minute of CPU.
_FAMILIES = {"arccos", "log1p", "gcd", "bitwise_and", "logical_xor", "nanmean", "quantile",
             "kron", "vander", "hamming", "diagonal", "hsplit", "fft", "det", "solve", "resize",
             "rgb_to_grayscale", "crop_images", "adaptive_max_pool", "unfold", "glu",
             "sparse_plus", "segment_max", "saturate_cast", "rearrange"}
_DEFAULT = set(REQUIRED) | _FAMILIES
PARITY = [n if n in _DEFAULT else pytest.param(n, marks=pytest.mark.slow)
          for n in sorted(CASES)]


@pytest.mark.parametrize("name", PARITY)
def test_parity_with_keras(name):
    ours_fn, keras_fn = _resolve(name)
    args, kwargs = CASES[name]
    ours, theirs = ours_fn(*args, **kwargs), keras_fn(*args, **kwargs)
    if not isinstance(theirs, (list, tuple)) and not hasattr(theirs, "shape"):
        assert ours == theirs
        return
    ours_leaves, their_leaves = _leaves(ours), _leaves(theirs)
    assert len(ours_leaves) == len(their_leaves)
    for a, b in zip(ours_leaves, their_leaves):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


def test_sparsemax_is_the_projection_onto_the_simplex():
    # Compared with the definition, not keras.ops.sparsemax: Keras 3's JAX version sums the
    # cumulative sums over the support when computing tau, so its rows do not sum to 1.
    z = np.sort(X, axis=-1)[:, ::-1]
    k = np.arange(1, 4)
    support = 1 + k * z > np.cumsum(z, axis=-1)
    size = support.sum(-1, keepdims=True)
    tau = (np.take_along_axis(np.cumsum(z, -1), size - 1, -1) - 1) / size
    expected = np.maximum(X - tau, 0)
    np.testing.assert_allclose(ops.sparsemax(X), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ops.sparsemax(X)).sum(-1), [1.0, 1.0], rtol=1e-6)


@pytest.mark.slow  # the FFT programs take seconds to compile on the CPU
def test_istft_inverts_stft():
    signal = np.random.default_rng(1).normal(size=(2, 40)).astype("float32")
    spectrum = ops.stft(signal, 16, 4, 16)
    np.testing.assert_allclose(ops.istft(spectrum, 16, 4, 16, length=40), signal, atol=1e-5)


def test_control_flow_matches_keras():
    x = np.float32(3.0)
    for lib in (ops, keras.ops):
        assert float(lib.cond(x > 2, lambda: x * 2, lambda: x)) == 6.0
    ours = ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 2), (0, 1.0))
    theirs = keras.ops.while_loop(lambda i, s: i < 4, lambda i, s: (i + 1, s * 2), (0, 1.0))
    assert [float(v) for v in ours] == [float(v) for v in theirs] == [4.0, 16.0]
    assert int(ops.while_loop(lambda i: i < 10, lambda i: i + 3, 0, maximum_iterations=2)) == 6
    assert float(ops.fori_loop(0, 4, lambda i, v: v + i, 0.0)) == 6.0
    carry, ys = ops.scan(lambda c, v: (c + v, c * v), 0.0, np.arange(4.0, dtype="float32"))
    k_carry, k_ys = keras.ops.scan(lambda c, v: (c + v, c * v), 0.0,
                                   np.arange(4.0, dtype="float32"))
    assert float(carry) == float(k_carry)
    np.testing.assert_array_equal(np.asarray(ys), np.asarray(k_ys))
    branches = [lambda v: v + 1, lambda v: v * 10]
    assert float(ops.switch(1, branches, x)) == float(keras.ops.switch(1, branches, x)) == 30.0
    np.testing.assert_allclose(ops.vectorized_map(lambda r: r.sum(), X),
                               keras.ops.vectorized_map(lambda r: r.sum(), X), rtol=1e-6)
    np.testing.assert_allclose(ops.map(lambda r: r * 2, X), keras.ops.map(lambda r: r * 2, X))
    np.testing.assert_allclose(ops.associative_scan(lambda a, b: a + b, Y, axis=1),
                               np.cumsum(Y, axis=1), rtol=1e-5)


def test_ops_compile_and_differentiate():
    def loss(w):
        h = ops.relu(ops.matmul(X, w))
        return ops.mean(ops.logsumexp(h, axis=-1)) + ops.sum(ops.square(w))

    w = np.ones((3, 2), "float32")
    grad = jax.jit(jax.grad(loss))(w)
    assert grad.shape == (3, 2) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(jax.jit(loss)(w), loss(w), rtol=1e-6)


def test_custom_gradient_replaces_the_gradient():
    @ops.custom_gradient
    def clipped(x):
        def grad(upstream):
            return ops.clip(upstream, -0.5, 0.5)
        return x * 3.0, grad

    assert float(jax.grad(lambda v: clipped(v))(np.float32(2.0))) == 0.5


def test_default_data_format_and_epsilon_follow_the_config():
    images = np.moveaxis(np.random.default_rng(2).uniform(size=(1, 6, 6, 2)), -1, 1)
    kernel = np.ones((3, 3, 2, 4), "float32")
    probs = np.array([[0.0, 1.0]], "float32")
    try:
        thawnet.config.set_image_data_format("channels_first")
        thawnet.config.set_epsilon(1e-3)
        ours = ops.conv(images.astype("float32"), kernel)
        clipped = ops.categorical_crossentropy(np.array([[1.0, 0.0]], "float32"), probs)
    finally:
        thawnet.config.set_image_data_format("channels_last")
        thawnet.config.set_epsilon(1e-7)
    theirs = keras.ops.conv(images.astype("float32"), kernel, data_format="channels_first")
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    np.testing.assert_allclose(clipped, [-np.log(1e-3)], rtol=1e-5)


def test_bad_arguments_name_the_op_and_value():
    with pytest.raises(ValueError, match=r"ops.conv: padding must be one of .* padding='full'"):
        ops.conv(np.ones((1, 4, 4, 1)), np.ones((2, 2, 1, 1)), padding="full")
    with pytest.raises(ValueError, match=r"ops.where: pass both x1 and x2"):
        ops.where(X > 0, X)
    with pytest.raises(ValueError, match=r"reduction must be one of .* reduction='sum'"):
        ops.scatter_update(X, np.array([[0, 0]]), np.array([1.0]), reduction="sum")
    with pytest.raises(ValueError, match=r"must have the same shape; received target.shape"):
        ops.binary_crossentropy(X, X[:1])
    with pytest.raises(ValueError, match=r"cannot infer the sizes of \['h', 'w'\]"):
        ops.rearrange(X, "b (h w) -> b h w")
    with pytest.raises(ValueError, match=r"names 2 axes; the tensor has shape \(2, 5, 3\)"):
        ops.rearrange(np.zeros((2, 5, 3)), "a b -> b a")
