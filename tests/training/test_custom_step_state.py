"""The state a custom Keras-3-style step works with: ``stateless_call`` on Keras's lists,
the metrics' stateless API, ``stateless_apply`` outside ``fit``, and the errors for a step that
returns the wrong state. (The steps themselves, against Keras 3: test_custom_train_step.py.)"""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 8)).astype("f4")
Y = RNG.normal(size=(64, 1)).astype("f4")


def test_stateless_call_takes_keras_lists_and_returns_lists():
    inputs = tl.Input(shape=(8,))
    bn = tl.BatchNormalization()
    model = thawnet.Model(inputs, tl.Dense(2)(bn(inputs)))
    model(X)  # build
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    out, new_nt = model.stateless_call(trainable, non_trainable, X, training=True)
    assert isinstance(new_nt, list) and len(new_nt) == 2
    t_paths, nt_paths = model.trainable_split()
    out_map, new_map = model.stateless_call(dict(zip(t_paths, trainable)),
                                            dict(zip(nt_paths, non_trainable)), X,
                                            training=True)
    np.testing.assert_array_equal(out, out_map)
    np.testing.assert_array_equal(new_nt[0], new_map[nt_paths[0]])
    _, _, losses = model.stateless_call(trainable, non_trainable, X, return_losses=True)
    assert losses == []  # a list (Keras's form): no add_loss, no penalties here
    with pytest.raises(ValueError, match="trainable_variables has 3 value.*4 trainable"):
        model.stateless_call(trainable[:3], non_trainable, X)


def test_metric_stateless_api_matches_keras():
    y_true, y_pred = Y[:10], Y[:10] + 0.5 * X[:10, :1]
    ours, theirs = thawnet.metrics.MeanAbsoluteError(), keras.metrics.MeanAbsoluteError()
    v_ours = ours.stateless_update_state(ours.stateless_reset_state(), y_true, y_pred)
    v_theirs = theirs.stateless_update_state(theirs.stateless_reset_state(), y_true, y_pred)
    assert len(v_ours) == len(v_theirs) == len(ours.variables) == 2
    np.testing.assert_allclose(ours.stateless_result(v_ours),
                               theirs.stateless_result(v_theirs), rtol=1e-6)
    with pytest.raises(ValueError, match="expected 2 state value"):
        ours.stateless_result(v_ours[:1])


def test_stateless_apply_outside_fit_names_what_is_missing():
    optimizer = thawnet.optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="stateless_apply\\(\\) needs the optimizer state"):
        optimizer.stateless_apply([], [], [])


def test_wrong_state_from_a_custom_step_is_reported():
    class DropsState(thawnet.Model):
        def train_step(self, state, data):
            return {}, state[:3]

    inputs = tl.Input(shape=(8,))
    model = DropsState(inputs, tl.Dense(1)(inputs))
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="train_step must return .*4 lists.*3 parts"):
        model.fit(X, Y, verbose=0)

    class ForgetsLogs(thawnet.Model):
        def train_step(self, state, data):
            return state

    model = ForgetsLogs(inputs, tl.Dense(1)(inputs))
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"must return \(logs, state\).*tuple of length 4"):
        model.fit(X, Y, verbose=0)
