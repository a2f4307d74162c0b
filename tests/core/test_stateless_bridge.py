"""The stateless bridge: models as pure functions of explicit weights (DESIGN.md section 2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from thawnet.layers import Dense, Dropout, Input, Layer
from thawnet.models import Model, Sequential


class Counter(Layer):
    def build(self, input_shape):
        self.total = self.add_weight("total", (), "zeros", role="statistic")

    def call(self, inputs, training=False):
        if training:
            self.total.assign(self.total.value + jnp.sum(inputs))
        return inputs


@pytest.fixture(scope="module")
def model():
    x = Input(shape=(3,))
    h = Dense(4, activation="relu")(x)
    h = Counter()(h)
    return Model(x, Dense(2)(h))


def _split(model):
    values = {p: v.value for p, v in model.variables_by_path().items()}
    trainable, frozen = model.trainable_split()
    return {p: values[p] for p in trainable}, {p: values[p] for p in frozen}


def test_stateless_call_under_jit_equals_the_eager_call(model):
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    t, n = _split(model)
    out, new_n = jax.jit(lambda t, n, x: model.stateless_call(t, n, x))(t, n, x)
    np.testing.assert_allclose(np.asarray(out), np.asarray(model(x)), rtol=1e-6, atol=1e-6)
    assert set(new_n) == set(n)


def test_gradients_exist_only_for_the_trainable_map(model):
    t, n = _split(model)
    x = jnp.ones((2, 3))
    grads = jax.grad(lambda t: jnp.sum(model.stateless_call(t, n, x)[0]))(t)
    assert set(grads) == set(model.trainable_split()[0])
    assert all(g.shape == t[p].shape for p, g in grads.items())


def test_statistic_updates_are_returned_not_written(model):
    t, n = _split(model)
    path = [p for p in n if p.endswith("total")][0]
    before = float(model.variables_by_path()[path].value)
    x = jnp.ones((2, 3))
    _, new_n = jax.jit(lambda t, n: model.stateless_call(t, n, x, training=True))(t, n)
    assert float(model.variables_by_path()[path].value) == before
    assert float(new_n[path]) != before


def test_missing_or_unknown_paths_are_named(model):
    t, n = _split(model)
    t.pop(next(iter(t)))
    with pytest.raises(ValueError, match="missing"):
        model.stateless_call(t, n, jnp.ones((1, 3)))
    t2, n2 = _split(model)
    n2["nope/kernel"] = jnp.zeros(())
    with pytest.raises(ValueError, match=r"unknown \['nope/kernel'\]"):
        model.stateless_call(t2, n2, jnp.ones((1, 3)))


def test_dropout_under_jit_draws_a_new_mask_for_each_rng():
    model = Sequential([Dropout(0.5, input_shape=(64,))])
    t, n = _split(model)  # Dropout's seed-generator state, as in Keras (no weights)
    assert list(n) == ["dropout_1/seed_generator/seed_generator_state"] and model.weights == []
    f = jax.jit(lambda x, key: model.stateless_call(t, n, x, training=True, rng=key)[0])
    x = jnp.ones((2, 64))
    a, b = f(x, jax.random.PRNGKey(1)), f(x, jax.random.PRNGKey(2))
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    assert set(np.unique(np.asarray(a))) <= {0.0, 2.0}


def test_dropout_under_jit_without_rng_says_what_to_pass():
    model = Sequential([Dropout(0.5, input_shape=(4,))])
    t, n = _split(model)
    with pytest.raises(ValueError, match="no rng was given to stateless_call"):
        jax.jit(lambda x: model.stateless_call(t, n, x, training=True)[0])(jnp.ones((2, 4)))


def test_regularization_losses_are_returned_for_trainable_weights_only():
    layer = Dense(2, kernel_regularizer="l2", kernel_initializer="ones", input_shape=(3,))
    model = Sequential([layer])
    t, n = _split(model)
    _, _, losses = model.stateless_call(t, n, jnp.ones((1, 3)), return_losses=True)
    np.testing.assert_allclose(float(losses), 0.01 * 6, rtol=1e-6)
    layer.trainable = False
    t, n = _split(model)
    _, _, losses = model.stateless_call(t, n, jnp.ones((1, 3)), return_losses=True)
    assert float(losses) == 0.0
