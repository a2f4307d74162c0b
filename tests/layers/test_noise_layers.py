"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout: identity at inference
(bit for bit, as Keras), the right distribution in training (mean/variance for a fixed seed),
masks shared over the spatial axes, fresh noise per step under jit, configs and errors."""

import jax
import keras
import numpy as np
import pytest

from thawnet import layers as tl
from thawnet.models import Sequential

X = np.random.default_rng(0).normal(size=(64, 8, 32)).astype("f4")
ONES = np.ones((256, 64), "f4")

LAYERS = [("SpatialDropout1D", {"rate": 0.3}, X),
          ("SpatialDropout2D", {"rate": 0.3}, X.reshape(64, 4, 2, 32)),
          ("SpatialDropout3D", {"rate": 0.3}, X.reshape(64, 2, 2, 2, 32)),
          ("GaussianNoise", {"stddev": 0.5}, X), ("GaussianDropout", {"rate": 0.4}, X),
          ("AlphaDropout", {"rate": 0.2}, X)]


@pytest.mark.parametrize("cls,kwargs,x", LAYERS)
def test_inference_is_the_identity_and_counts_match_keras(cls, kwargs, x):
    ours, theirs = getattr(tl, cls)(**kwargs), getattr(keras.layers, cls)(**kwargs)
    np.testing.assert_array_equal(np.asarray(ours(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(ours(x)), np.asarray(theirs(x)))
    assert ours.count_params() == theirs.count_params() == 0
    assert ours.weights == [] and ours.supports_masking
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    clone = type(ours).from_config(config)
    np.testing.assert_array_equal(np.asarray(clone(x)), x)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_spatial_dropout_drops_whole_channels_and_rescales(rank):
    x = np.ones((200,) + (3,) * rank + (16,), "f4")
    y = np.asarray(getattr(tl, f"SpatialDropout{rank}D")(0.25, seed=1)(x, training=True))
    flat = y.reshape(200, -1, 16)
    # One decision per (sample, channel): every position of a channel agrees.
    assert (flat == flat[:, :1, :]).all()
    assert set(np.unique(flat)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((flat[:, 0, :] == 0).mean() - 0.25) < 0.03
    assert abs(flat.mean() - 1.0) < 0.05


def test_spatial_dropout_2d_channels_first_shares_the_mask_over_rows_and_columns():
    x = np.ones((100, 8, 3, 3), "f4")
    y = np.asarray(tl.SpatialDropout2D(0.5, data_format="channels_first")(x, training=True))
    assert (y == y[:, :, :1, :1]).all() and 0 < (y == 0).mean() < 1


def test_gaussian_noise_adds_zero_mean_noise_of_the_given_stddev():
    y = np.asarray(tl.GaussianNoise(0.5, seed=3)(ONES, training=True)) - ONES
    assert abs(y.mean()) < 0.01 and abs(y.std() - 0.5) < 0.01


def test_gaussian_dropout_multiplies_by_mean_one_noise_with_dropout_variance():
    rate = 0.4
    y = np.asarray(tl.GaussianDropout(rate, seed=3)(ONES, training=True))
    assert abs(y.mean() - 1.0) < 0.02
    assert abs(y.std() - np.sqrt(rate / (1 - rate))) < 0.02


def test_alpha_dropout_keeps_zero_mean_unit_variance_and_drops_to_one_value():
    rate = 0.2
    x = np.random.default_rng(1).normal(size=(256, 64)).astype("f4")
    y = np.asarray(tl.AlphaDropout(rate, seed=2)(x, training=True))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    dropped_value = a * alpha_p - a * alpha_p * rate
    dropped = np.isclose(y, dropped_value, atol=1e-6)
    assert abs(dropped.mean() - rate) < 0.01
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] - a * alpha_p * rate, rtol=1e-5)


def test_alpha_dropout_noise_shape_broadcasts_the_mask():
    x = np.ones((64, 8, 32), "f4")
    y = np.asarray(tl.AlphaDropout(0.5, noise_shape=(None, 1, 32), seed=4)(x, training=True))
    # Constant inputs: a kept entry and a dropped one each have a single value.
    assert len(np.unique(y)) == 2
    assert (y == y[:, :1, :]).all()  # one decision per (sample, channel), shared over axis 1


# The draw code is shared (noise.draw_key): one layer of each kind by default, all when slow.
SEEDED = [case if case[0] in ("SpatialDropout2D", "GaussianDropout", "AlphaDropout")
          else pytest.param(*case, marks=pytest.mark.slow) for case in LAYERS]


@pytest.mark.parametrize("cls,kwargs,x", SEEDED)
def test_a_seed_fixes_the_draws_of_eager_calls(cls, kwargs, x):
    first = getattr(tl, cls)(**kwargs, seed=7)
    again = getattr(tl, cls)(**kwargs, seed=7)
    a, b = np.asarray(first(x, training=True)), np.asarray(again(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.asarray(first(x, training=True)), a)  # the next draw differs


def test_a_compiled_step_draws_fresh_noise_each_step_and_none_at_inference():
    model = Sequential([tl.Input((32,)), tl.GaussianNoise(0.3), tl.AlphaDropout(0.1),
                        tl.GaussianDropout(0.2)])
    x = X[:4, 0]
    # No weights; the three seed generators Keras counts are the non-trainable state.
    by_path = model.variables_by_path()
    assert model.weights == [] and len(model.non_trainable_variables) == 3
    frozen = {p: by_path[p].value for p in model.trainable_split()[1]}
    step = jax.jit(lambda key: model.stateless_call({}, frozen, x, training=True, rng=key)[0])
    a, b = np.asarray(step(jax.random.PRNGKey(0))), np.asarray(step(jax.random.PRNGKey(1)))
    assert not np.allclose(a, b) and not np.allclose(a, x)
    np.testing.assert_array_equal(np.asarray(step(jax.random.PRNGKey(0))), a)
    np.testing.assert_array_equal(np.asarray(model.predict(x, verbose=0)), x)


@pytest.mark.parametrize("make,words", [
    (lambda: tl.GaussianNoise(1.5), r'GaussianNoise "gaussian_noise_1": Invalid value received '
                                     r"for argument `stddev`\. Expected a float value between 0 "
                                     r"and 1 .*Received: stddev=1.5"),
    (lambda: tl.GaussianDropout(-0.1), r"Expected a float value between 0 and 1 .*rate=-0.1"),
    (lambda: tl.AlphaDropout("0.5"), r"rate must be a float between 0 and 1"),
    (lambda: tl.AlphaDropout(0.5, noise_shape=3), r"noise_shape must be a tuple or list"),
    (lambda: tl.SpatialDropout2D(0.5, data_format="nhwc"), r"data_format must be "
                                                           r"'channels_last' or 'channels_first'"),
    (lambda: tl.GaussianNoise(0.1, seed="a"), r"seed must be an integer or None"),
])
def test_argument_errors_name_the_layer_and_the_fix(make, words):
    with pytest.raises((ValueError, TypeError), match=words):
        make()


def test_spatial_dropout_checks_the_rank():
    with pytest.raises(ValueError, match="SpatialDropout2D"):
        tl.SpatialDropout2D(0.5)(np.ones((2, 3, 4), "f4"))
