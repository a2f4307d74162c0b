"""Compiled metrics weigh the model output by its mask, as Keras 3's mean-metric wrapper does
(padded timesteps of ``Embedding(mask_zero=True)`` do not count)."""

import jax.numpy as jnp
import keras
import numpy as np
import pytest
from keras.src import backend as keras_backend

import thawnet
from thawnet import layers as L
from thawnet.backend.masking import set_keras_mask

TOKENS = np.array([[3, 1, 4, 0, 0], [2, 7, 0, 0, 0], [5, 9, 2, 6, 0], [8, 0, 0, 0, 0]],
                  "int32")
TARGETS = np.random.default_rng(0).normal(size=(4, 5, 2)).astype("float32")
# Per-timestep weights (Keras 3 multiplies them by the (batch, timesteps) mask).
WEIGHTS = np.random.default_rng(2).uniform(0.5, 3.0, size=(4, 5)).astype("float32")


def _model(lib):
    return lib.Sequential([lib.Input(shape=(5,), dtype="int32"),
                           lib.layers.Embedding(10, 3, mask_zero=True), lib.layers.Dense(2)])


@pytest.fixture(scope="module")
def results():
    """``evaluate`` logs of thawnet and of Keras 3, the same weights in both."""
    ours, theirs = _model(thawnet), _model(keras)
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    out = []
    for model in (ours, theirs):
        model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"],
                      weighted_metrics=["mae"])
        out.append(model.evaluate(TOKENS, TARGETS, sample_weight=WEIGHTS, batch_size=4,
                                  verbose=0, return_dict=True))
    return out, np.asarray(ours.predict(TOKENS, verbose=0))


def test_evaluate_metrics_skip_padded_steps_as_in_keras(results):
    (ours, theirs), _ = results
    assert set(ours) == set(theirs) == {"loss", "mae", "mse", "weighted_mae"}
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, err_msg=name)


def test_the_masked_mean_is_over_the_real_steps_only(results):
    (ours, _), predictions = results
    real = TOKENS != 0
    error = np.abs(predictions - TARGETS).mean(-1)
    np.testing.assert_allclose(ours["mae"], error[real].mean(), rtol=1e-5)
    weighted = (error * WEIGHTS * real).sum() / (WEIGHTS * real).sum()
    np.testing.assert_allclose(ours["weighted_mae"], weighted, rtol=1e-5)
    assert abs(error.mean() - error[real].mean()) > 1e-3   # the padding changes the mean


def test_eager_update_state_reads_the_mask_of_y_pred():
    y_pred = jnp.asarray(TARGETS[:, :, ::-1])
    set_keras_mask(y_pred, jnp.asarray(TOKENS != 0))
    ours = thawnet.metrics.MeanAbsoluteError()
    ours.update_state(TARGETS, y_pred, sample_weight=WEIGHTS)
    keras_pred = keras.ops.convert_to_tensor(TARGETS[:, :, ::-1])
    keras_backend.set_keras_mask(keras_pred, keras.ops.convert_to_tensor(TOKENS != 0))
    theirs = keras.metrics.MeanAbsoluteError()
    theirs.update_state(TARGETS, keras_pred, sample_weight=WEIGHTS)
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
    plain = thawnet.metrics.MeanAbsoluteError()
    plain.update_state(TARGETS, TARGETS[:, :, ::-1], sample_weight=WEIGHTS)
    assert abs(float(plain.result()) - float(ours.result())) > 1e-3
