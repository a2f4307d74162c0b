"""thawnet.random: Keras 3's signatures, seeds, and a SeedGenerator that advances inside fit and
under jit."""

from __future__ import annotations

import inspect

import jax
import keras
import numpy as np
import pytest

import thawnet
from thawnet import ops
from thawnet import random as trandom

NAMES = ["SeedGenerator", "normal", "uniform", "truncated_normal", "dropout", "shuffle",
         "randint", "categorical", "beta", "gamma", "binomial"]


def test_signatures_match_keras_random():
    for name in NAMES:
        ours = inspect.signature(getattr(trandom, name))
        theirs = inspect.signature(getattr(keras.random, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        assert [p.default for p in ours.parameters.values()] == \
            [p.default for p in theirs.parameters.values()], name


def test_draws_have_the_requested_shape_dtype_and_distribution():
    x = np.asarray(trandom.normal((4000,), mean=2.0, stddev=0.5, seed=1))
    assert x.dtype == np.float32 and abs(x.mean() - 2.0) < 0.05 and abs(x.std() - 0.5) < 0.05
    u = np.asarray(trandom.uniform((1000,), minval=-1.0, maxval=3.0, seed=2))
    assert u.min() >= -1.0 and u.max() < 3.0
    t = np.asarray(trandom.truncated_normal((1000,), stddev=1.0, seed=3))
    assert np.abs(t).max() <= 2.0
    r = np.asarray(trandom.randint((500,), 3, 7, seed=4))
    assert r.dtype == np.int32 and set(np.unique(r)) == {3, 4, 5, 6}
    c = np.asarray(trandom.categorical(np.log([[0.001, 0.999], [0.999, 0.001]]), 50, seed=5))
    assert c.shape == (2, 50) and c[0].mean() > 0.9 and c[1].mean() < 0.1
    s = np.asarray(trandom.shuffle(np.arange(10), seed=6))
    assert sorted(s.tolist()) == list(range(10)) and s.tolist() != list(range(10))
    d = np.asarray(trandom.dropout(np.ones((1000,), "float32"), 0.25, seed=7))
    np.testing.assert_allclose(np.unique(d), [0.0, 4 / 3], rtol=1e-6)
    assert 0.2 < (d == 0).mean() < 0.3


@pytest.mark.slow  # JAX's gamma/beta samplers take tens of seconds to compile on the CPU
def test_gamma_and_beta_draws():
    g = np.asarray(trandom.gamma((2000,), 3.0, seed=8))
    assert abs(g.mean() - 3.0) < 0.2
    b = np.asarray(trandom.beta((2000,), 2.0, 2.0, seed=9))
    assert 0 <= b.min() and b.max() <= 1 and abs(b.mean() - 0.5) < 0.03
    n = np.asarray(trandom.binomial((2000,), 10.0, 0.3, seed=10))
    assert abs(n.mean() - 3.0) < 0.15 and n.min() >= 0 and n.max() <= 10


def test_int_seed_repeats_and_generator_advances():
    np.testing.assert_array_equal(trandom.normal((3,), seed=11), trandom.normal((3,), seed=11))
    gen = trandom.SeedGenerator(42)
    first, second = trandom.normal((3,), seed=gen), trandom.normal((3,), seed=gen)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(gen.state.numpy(), [42, 2])
    assert gen.state.role == thawnet.STATISTIC and gen.state.dtype == np.uint32
    again = trandom.SeedGenerator(42)
    np.testing.assert_array_equal(trandom.normal((3,), seed=again), first)


def test_unseeded_generators_follow_the_global_seed():
    thawnet.utils.set_random_seed(5)
    a = [trandom.SeedGenerator().seed for _ in range(2)]
    thawnet.utils.set_random_seed(5)
    b = [trandom.SeedGenerator().seed for _ in range(2)]
    assert a == b and a[0] != a[1]


class Noise(thawnet.Layer):
    """Adds fresh normal noise in training and remembers the sum of the last draw."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = trandom.SeedGenerator(1337)

    def build(self, input_shape):
        self.last = self.add_weight(name="last", shape=(1,), initializer="zeros",
                                    role=thawnet.STATISTIC)

    def call(self, x, training=False):
        if not training:
            return x
        noise = trandom.normal(ops.shape(x)[1:], seed=self.seed_generator)
        self.last.assign(ops.reshape(ops.sum(noise), (1,)))
        return x + noise


def _noise_model():
    noise = Noise()
    model = thawnet.Sequential([thawnet.Input(shape=(3,)), noise, thawnet.layers.Dense(1)])
    return model, noise


def test_seed_generator_in_a_layer_draws_anew_at_every_fit_step():
    model, noise = _noise_model()
    model.compile(optimizer="sgd", loss="mse")
    draws = []
    record = thawnet.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: draws.append(float(noise.last.numpy()[0])))
    x = np.ones((8, 3), "float32")
    model.fit(x, np.zeros((8, 1), "float32"), epochs=3, batch_size=4, verbose=0,
              callbacks=[record])
    assert len(set(draws)) == 3
    np.testing.assert_array_equal(noise.seed_generator.state.numpy(), [1337, 6])  # 2 steps x 3
    np.testing.assert_array_equal(model.predict(x, verbose=0), model(x))  # inference: no noise


def test_seed_generator_state_is_returned_by_a_jitted_stateless_call():
    model, noise = _noise_model()
    x = np.zeros((2, 3), "float32")
    model(x)
    by_path = model.variables_by_path()
    train_paths, frozen_paths = model.trainable_split()
    trainable = {p: by_path[p].value for p in train_paths}
    non_trainable = {p: by_path[p].value for p in frozen_paths}
    state_path = [p for p in frozen_paths if p.endswith("seed_generator_state")]
    assert len(state_path) == 1

    step = jax.jit(lambda t, n, v: model.stateless_call(t, n, v, training=True))
    out1, nt1 = step(trainable, non_trainable, x)
    out2, nt2 = step(trainable, nt1, x)
    assert not np.allclose(out1, out2)
    np.testing.assert_array_equal(nt2[state_path[0]], [1337, 2])
    np.testing.assert_array_equal(noise.seed_generator.state.numpy(), [1337, 0])  # untouched


def test_generator_used_under_jit_without_its_state_says_how_to_fix():
    gen = trandom.SeedGenerator(3)
    with pytest.raises(ValueError, match=r"does not pass its state.*stateless_call"):
        jax.jit(lambda: trandom.normal((2,), seed=gen))()


def test_bad_seed_is_named():
    with pytest.raises(ValueError, match=r"seed must be an int, a SeedGenerator.*seed='x'"):
        trandom.normal((2,), seed="x")
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\); received rate=1.5"):
        trandom.dropout(np.ones(3), 1.5)


class Drop(thawnet.Layer):
    def call(self, x, training=False):
        return trandom.dropout(x, 0.5) if training else x


def test_unseeded_draw_in_a_compiled_call_uses_the_step_key():
    model = thawnet.Sequential([thawnet.Input(shape=(64,)), Drop()])
    x = np.ones((2, 64), "float32")
    step = jax.jit(lambda v, key: model.stateless_call({}, {}, v, training=True, rng=key)[0])
    a, b = step(x, jax.random.PRNGKey(0)), step(x, jax.random.PRNGKey(1))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, step(x, jax.random.PRNGKey(0)))
    with pytest.raises(ValueError, match=r"seed=None ran in a compiled call without a key"):
        jax.jit(lambda v: model.stateless_call({}, {}, v, training=True)[0])(x)
