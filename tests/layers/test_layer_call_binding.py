"""Keras 3's layer-call semantics in thawnet's Layer base, checked against Keras itself:
inputs given by keyword, ``build`` arguments bound by name, call-context arguments handed
down, rematerialization, the state lock in ``call``, attribute Variables, autocast dtypes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers, ops


def _pair_layer(lib):
    class Pair(lib.layers.Layer):
        def build(self, x1_shape, x2_shape):
            self.w1 = self.add_weight(shape=(x1_shape[-1], 2), initializer="ones")
            self.w2 = self.add_weight(shape=(x2_shape[-1], 2), initializer="ones")

        def call(self, x1, x2):
            return lib.ops.matmul(x1, self.w1) + 2.0 * lib.ops.matmul(x2, self.w2)

    return Pair()


def test_keyword_inputs_and_build_shapes_by_name_match_keras():
    a, b = np.ones((3, 4), "float32"), np.full((3, 5), 0.5, "float32")
    ours, theirs = _pair_layer(thawnet), _pair_layer(keras)
    out = ours(x1=a, x2=b)
    np.testing.assert_allclose(np.asarray(out), keras.ops.convert_to_numpy(theirs(x1=a, x2=b)))
    assert [w.shape for w in ours.weights] == [(4, 2), (5, 2)]


def test_build_argument_without_shape_suffix_is_refused_with_the_fix():
    class Bad(layers.Layer):
        def build(self, foo_shape, bar):
            pass

        def call(self, foo, bar):
            return foo + bar

    with pytest.raises(ValueError, match=r"`bar`, which does not end in `_shape`.*Rename|_shape"):
        Bad()(np.ones((2, 1)), np.ones((2, 1)))


def _context_layers(lib):
    class Inner(lib.layers.Layer):
        def __init__(self):
            super().__init__()
            self._register_call_context_args("foo_mode")

        def call(self, x, foo_mode=None):
            return x + (1.0 if foo_mode else 0.0)

    class Outer(lib.layers.Layer):
        def __init__(self):
            super().__init__()
            self._register_call_context_args("foo_mode")
            self.inner = Inner()

        def call(self, x):
            return self.inner(x)

    return Outer()


def test_call_context_argument_reaches_the_nested_layer_as_in_keras():
    x = np.zeros((2,), "float32")
    ours, theirs = _context_layers(thawnet), _context_layers(keras)
    for kwargs in ({"foo_mode": True}, {}):
        np.testing.assert_allclose(np.asarray(ours(x, **kwargs)),
                                   keras.ops.convert_to_numpy(theirs(x, **kwargs)))
    assert set(ours._call_context_args) == {"foo_mode", "training"}
    with pytest.raises(RuntimeError, match="after the layer has been called"):
        ours._register_call_context_args("bar_mode")


def test_remat_scope_gives_the_same_gradients():
    x = jnp.ones((4, 3))
    plain = layers.Dense(5, kernel_initializer="ones")
    with layers.RematScope(mode="full"):
        rematted = layers.Dense(5, kernel_initializer="ones")
    for layer in (plain, rematted):
        layer.build((None, 3))

    def grads(layer):
        values = {p: v.value for p, v in layer.variables_by_path().items()}

        def loss(t):
            return jnp.sum(layer.stateless_call(t, {}, x)[0] ** 2)
        program = str(jax.make_jaxpr(jax.grad(loss))(values))
        return jax.jit(jax.grad(loss))(values), "remat" in program or "checkpoint" in program

    (g1, remat1), (g2, remat2) = grads(plain), grads(rematted)
    assert (remat1, remat2) == (False, True)
    for a, b in zip(jax.tree_util.tree_leaves(g1), jax.tree_util.tree_leaves(g2)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    assert rematted.rematerialized_call(rematted.call, x) is not rematted.call
    assert plain.rematerialized_call(plain.call, x) == plain.call


def test_state_lock_and_positional_arguments_name_the_layer():
    class AddsInCall(layers.Layer):
        def call(self, x):
            self.w = self.add_weight(shape=())
            return x

    with pytest.raises(ValueError, match=r'"adds_in_call_1".*cannot add new elements of state'):
        AddsInCall()(np.ones((2, 2)))

    class Flag(layers.Layer):
        def call(self, x, flag):
            return x if flag else x + 1

    with pytest.raises(ValueError, match=r'"flag_1".*Only input tensors.*keyword argument'):
        Flag()(np.ones((2,)), True)
    np.testing.assert_allclose(np.asarray(Flag()(np.ones((2,)), flag=False)), [2.0, 2.0])


def test_variables_assigned_as_attributes_are_weights():
    class Early(layers.Layer):
        def __init__(self):
            self.w = thawnet.Variable(np.arange(3.0, dtype="float32"))
            super().__init__()

    layer = Early()
    assert layer.weights == [layer.w] and layer.w.path == "early_1/variable"
    layer.w = layer._untrack_variable(layer.w)
    assert layer.weights == [] and layer.w is None


def test_weights_read_in_the_compute_dtype_unless_autocast_false():
    seen = {}

    class Mixed(layers.Layer):
        def __init__(self):
            super().__init__(dtype="mixed_float16")
            self.a = self.add_weight(shape=(), initializer="ones")
            self.b = self.add_weight(shape=(), initializer="ones", autocast=False)

        def call(self, x):
            seen["a"], seen["b"] = self.a.dtype, self.b.dtype
            return x + self.a + ops.cast(self.b, x.dtype)

    layer = Mixed()
    layer(np.zeros((2,), "float32"))
    assert (seen["a"], seen["b"]) == (jnp.float16, jnp.float32)
    assert layer.a.dtype == jnp.float32  # outside the call: the storage dtype


def test_layer_normalization_built_for_rank_3_normalises_rank_4_like_keras():
    x = np.random.default_rng(0).normal(size=(5, 2, 2, 3)).astype("float32")
    ours, theirs = layers.LayerNormalization(), keras.layers.LayerNormalization()
    ours.build((None, 2, 3))
    theirs.build((None, 2, 3))
    np.testing.assert_allclose(np.asarray(ours(x)), keras.ops.convert_to_numpy(theirs(x)),
                               rtol=1e-5, atol=1e-5)


def test_reshape_with_unknown_sizes_and_from_config_errors():
    assert layers.Reshape((-1, 3))(thawnet.Input(batch_shape=(4, 6, None, 3))).shape == (4, None, 3)
    assert layers.Reshape((3, 5))(thawnet.Input(batch_shape=(2, None))).shape == (2, 3, 5)
    with pytest.raises(TypeError, match="Embedding.from_config.*output_dim"):
        layers.Embedding.from_config({"input_dim": 10, "output_dim": 3.7})
