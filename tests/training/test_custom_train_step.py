"""Custom train/test/predict steps with Keras 3's JAX signatures, against Keras 3.

The model classes below follow the guide "Customizing what happens in fit() with JAX"
(keras.io/guides/custom_train_step_in_jax): each is written once, as a function of the
library (``keras`` or ``thawnet``), so the very same step code runs on both.
"""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 8)).astype("f4")
Y = RNG.normal(size=(64, 1)).astype("f4")


def guide_model_class(lib):
    """The guide's first example: compute_loss_and_updates + stateless_apply + a loop over
    self.metrics with stateless updates."""

    class CustomModel(lib.Model):
        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x,
                                     y, training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss = self.compute_loss(x, y, y_pred)
            return loss, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_variables, metrics_variables = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable)), grads = grad_fn(
                trainable, non_trainable, x, y, training=True)
            trainable, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                start = len(new_metrics_vars)
                this_vars = metrics_variables[start:start + len(metric.variables)]
                if metric.name == "loss":
                    this_vars = metric.stateless_update_state(this_vars, loss)
                else:
                    this_vars = metric.stateless_update_state(this_vars, y, y_pred)
                logs[metric.name] = metric.stateless_result(this_vars)
                new_metrics_vars += this_vars
            return logs, (trainable, non_trainable, optimizer_variables, new_metrics_vars)

        def test_step(self, state, data):
            trainable, non_trainable, metrics_variables = state
            x, y = data
            y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x,
                                                        training=False)
            loss = self.compute_loss(x, y, y_pred)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                start = len(new_metrics_vars)
                this_vars = metrics_variables[start:start + len(metric.variables)]
                if metric.name == "loss":
                    this_vars = metric.stateless_update_state(this_vars, loss)
                else:
                    this_vars = metric.stateless_update_state(this_vars, y, y_pred)
                logs[metric.name] = metric.stateless_result(this_vars)
                new_metrics_vars += this_vars
            return logs, (trainable, non_trainable, new_metrics_vars)

    return CustomModel


def lower_level_model_class(lib):
    """The guide's "going lower-level" example: no compiled loss, own trackers listed by a
    ``metrics`` property, ``compile(optimizer=...)`` only."""

    class CustomModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.mae_metric = lib.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = lib.losses.MeanSquaredError()

        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x,
                                     y, training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            return self.loss_fn(y, y_pred), (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_variables, metrics_variables = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable)), grads = grad_fn(
                trainable, non_trainable, x, y, training=True)
            trainable, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable)
            n = len(self.loss_tracker.variables)
            loss_vars = self.loss_tracker.stateless_update_state(metrics_variables[:n], loss)
            mae_vars = self.mae_metric.stateless_update_state(metrics_variables[n:], y, y_pred)
            logs = {self.loss_tracker.name: self.loss_tracker.stateless_result(loss_vars),
                    self.mae_metric.name: self.mae_metric.stateless_result(mae_vars)}
            return logs, (trainable, non_trainable, optimizer_variables, loss_vars + mae_vars)

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    return CustomModel


def keras_signature_model_class(lib):
    """A step on Keras 3's own ``compute_loss_and_updates`` (metrics_variables in, the
    unscaled loss out) and ``self.metrics`` of a compiled model: the compiled loss plus
    ``add_loss`` (ActivityRegularization) and weight penalties."""

    class CustomModel(lib.Model):
        def train_step(self, state, data):
            trainable, non_trainable, optimizer_variables, metrics_variables = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (_, (loss, _, non_trainable, metrics_variables)), grads = grad_fn(
                trainable, non_trainable, metrics_variables, x, y, None, training=True,
                optimizer_variables=optimizer_variables)
            trainable, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable)
            n = len(self.metrics[0].variables)
            loss_vars = self.metrics[0].stateless_update_state(metrics_variables[:n], loss)
            logs = {"loss": self.metrics[0].stateless_result(loss_vars)}
            return logs, (trainable, non_trainable, optimizer_variables,
                          loss_vars + list(metrics_variables[n:]))

    return CustomModel


def _functional(lib, cls, frozen_first=False):
    inputs = lib.Input(shape=(8,))
    hidden = lib.layers.Dense(6, activation="relu", trainable=not frozen_first)(inputs)
    return cls(inputs, lib.layers.Dense(1)(hidden))


def _pair(factory, frozen_first=False):
    keras.utils.set_random_seed(0)
    theirs = _functional(keras, factory(keras), frozen_first)
    ours = _functional(thawnet, factory(thawnet), frozen_first)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def _assert_history_close(ours, theirs, tol=1e-5):
    assert sorted(ours.history) == sorted(theirs.history)
    for key, values in theirs.history.items():
        np.testing.assert_allclose(ours.history[key], values, rtol=tol, atol=tol, err_msg=key)


def test_guide_train_step_reports_its_metrics_as_keras_does():
    ours, theirs = _pair(guide_model_class)
    for m, lib in ((ours, thawnet), (theirs, keras)):
        m.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    h_ours = ours.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert sorted(h_ours.history) == ["loss", "mae"]
    _assert_history_close(h_ours, h_theirs)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The audit ran: every weight trainable, each moved.
    assert [e.verdict for e in h_ours.audit.entries] == ["parameter trained"] * 4


def test_lower_level_step_trains_with_compile_optimizer_alone():
    ours, theirs = _pair(lower_level_model_class)
    ours.compile(optimizer=thawnet.optimizers.SGD(0.05))
    theirs.compile(optimizer=keras.optimizers.SGD(0.05))
    h_ours = ours.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h_theirs = theirs.fit(X, Y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    _assert_history_close(h_ours, h_theirs)
    # The trackers hold the last epoch's state after fit, as in Keras.
    assert float(ours.loss_tracker.result()) == pytest.approx(h_ours.history["loss"][-1],
                                                              rel=1e-6)
    assert float(ours.mae_metric.result()) == pytest.approx(
        float(theirs.mae_metric.result()), rel=1e-5)
    assert [m.name for m in ours.metrics] == ["loss", "mae"]
    assert len(ours.metrics_variables) == len(ours.loss_tracker.variables) + len(
        ours.mae_metric.variables) == 4


def test_keras_compute_loss_and_updates_adds_add_loss_and_penalties_as_keras():
    def build(lib):
        inputs = lib.Input(shape=(8,))
        hidden = lib.layers.Dense(6, activation="relu", kernel_regularizer="l2")(inputs)
        hidden = lib.layers.ActivityRegularization(l1=0.01)(hidden)
        return keras_signature_model_class(lib)(inputs, lib.layers.Dense(1)(hidden))

    keras.utils.set_random_seed(0)
    theirs, ours = build(keras), build(thawnet)
    ours.set_weights(theirs.get_weights())
    for m, lib in ((ours, thawnet), (theirs, keras)):
        m.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
    h_ours = ours.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    _assert_history_close(h_ours, h_theirs)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def doubled_loss_model_class(lib):
    """Only ``compute_loss`` overridden: Keras's default train_step calls it."""

    class CustomModel(lib.Model):
        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         training=True):
            return 2.0 * super().compute_loss(x=x, y=y, y_pred=y_pred,
                                              sample_weight=sample_weight, training=training)

    return CustomModel


def test_a_compute_loss_override_is_used_by_fit_and_evaluate_as_in_keras():
    ours, theirs = _pair(doubled_loss_model_class)
    for m, lib in ((ours, thawnet), (theirs, keras)):
        m.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    h_ours = ours.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    _assert_history_close(h_ours, h_theirs)
    np.testing.assert_allclose(ours.evaluate(X, Y, verbose=0),
                               theirs.evaluate(X, Y, verbose=0), rtol=1e-5)


def test_custom_test_step_runs_in_evaluate_and_validation():
    ours, theirs = _pair(guide_model_class)
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    ev_ours = ours.evaluate(X, Y, batch_size=16, verbose=0)
    ev_theirs = theirs.evaluate(X, Y, batch_size=16, verbose=0)
    np.testing.assert_allclose(ev_ours, ev_theirs, rtol=1e-5)
    assert ours.evaluate(X, Y, batch_size=16, verbose=0, return_dict=True).keys() == {
        "loss", "mae"}
    h_ours = ours.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0,
                      validation_data=(X[:32], Y[:32]))
    h_theirs = theirs.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0,
                          validation_data=(X[:32], Y[:32]))
    _assert_history_close(h_ours, h_theirs)


def test_frozen_layer_stays_bit_identical_under_a_custom_step():
    ours, theirs = _pair(guide_model_class, frozen_first=True)
    before = [np.array(w) for w in ours.get_weights()]
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse")
    # The frozen kernel and bias are not in the list a custom step can update.
    assert [v.path for v in ours.trainable_variables] == ["dense_2/kernel", "dense_2/bias"]
    h_ours = ours.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    after = ours.get_weights()
    assert after[0].tobytes() == before[0].tobytes()
    assert after[1].tobytes() == before[1].tobytes()
    assert not np.array_equal(after[2], before[2])
    verdicts = {e.path: e.verdict for e in h_ours.audit.entries}
    assert verdicts["dense_1/kernel"] == verdicts["dense_1/bias"] == "unchanged"
    _assert_history_close(h_ours, h_theirs)


class _WritesFrozen(thawnet.Model):
    """A step that tries to change every non-trainable weight through its state."""

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_variables, metrics_variables = state
        non_trainable = [v + 1.0 for v in non_trainable]
        return {"loss": jnp.zeros(())}, (trainable, non_trainable, optimizer_variables,
                                         metrics_variables)


# These models have no trainable weight on purpose; fit's freezing warning is not the subject.
@pytest.mark.filterwarnings("ignore:.*has no trainable weight")
def test_custom_step_changing_a_frozen_parameter_is_an_audit_error():
    inputs = tl.Input(shape=(8,))
    model = _WritesFrozen(inputs, tl.Dense(1, trainable=False)(inputs))
    model.compile(optimizer="sgd")
    with pytest.raises(thawnet.AuditError, match=r"dense_1/kernel.*dense_1/bias|2 non-train"):
        model.fit(X, Y, batch_size=32, epochs=1, verbose=0)


def test_custom_step_updating_a_statistic_passes_the_audit():
    inputs = tl.Input(shape=(8,))
    bn = tl.BatchNormalization()
    model = _WritesFrozen(inputs, tl.Dense(1)(bn(inputs)))
    model.compile(optimizer="sgd")
    history = model.fit(X, Y, batch_size=32, epochs=1, verbose=0)
    verdicts = {e.path: e.verdict for e in history.audit.entries}
    assert verdicts["batch_normalization_1/moving_mean"] == "statistic updated"
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.full(8, 2.0, "f4"))  # 2 steps


class _SuperStep(thawnet.Model):
    def train_step(self, state, data):
        return super().train_step(state, data)

    def test_step(self, state, data):
        return super().test_step(state, data)


def test_default_list_form_steps_equal_the_built_in_step():
    """super().train_step / test_step (Keras's list form) compute what the built-in,
    path-map step computes: same history, validation, weights; steps_per_execution too."""
    def build(cls):
        thawnet.clear_session()
        inputs = tl.Input(shape=(8,))
        hidden = tl.Dropout(0.0)(tl.Dense(6, activation="relu",
                                          kernel_regularizer="l2")(inputs))
        model = cls(inputs, tl.Dense(1)(hidden))
        model.compile(optimizer="adam", loss="mse", metrics=["mae"], steps_per_execution=2)
        return model

    plain, custom = build(thawnet.Model), build(_SuperStep)
    custom.set_weights(plain.get_weights())
    runs = [m.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                  validation_data=(X[:16], Y[:16])) for m in (plain, custom)]
    _assert_history_close(runs[1], runs[0], tol=2e-6)
    assert sorted(runs[1].history) == ["loss", "mae", "val_loss", "val_mae"]
    for a, b in zip(custom.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


class _DropoutStep(thawnet.Model):
    """Draws a Dropout mask through stateless_call without passing any rng."""

    traces = 0

    def train_step(self, state, data):
        type(self).traces += 1  # Python runs only while jax.jit traces the step
        trainable, non_trainable, optimizer_variables, metrics_variables = state
        x, _ = data
        y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x,
                                                    training=True)
        return {"zeros": jnp.mean(y_pred == 0)}, (trainable, non_trainable,
                                                  optimizer_variables, metrics_variables)


# These models have no trainable weight on purpose; fit's freezing warning is not the subject.
@pytest.mark.filterwarnings("ignore:.*has no trainable weight")
def test_dropout_in_a_custom_step_draws_a_fresh_mask_every_step():
    inputs = tl.Input(shape=(8,))
    model = _DropoutStep(inputs, tl.Dropout(0.5)(inputs))
    model.compile(optimizer="sgd")
    history = model.fit(np.ones((256, 8), "f4"), Y.repeat(4, axis=0), batch_size=256,
                        epochs=3, verbose=0)
    zeros = history.history["zeros"]
    assert all(0.4 < z < 0.6 for z in zeros)
    assert len(set(zeros)) == 3  # a different mask each step
    assert _DropoutStep.traces == 1  # compiled once, run three times


class _DoublingPredict(thawnet.Model):
    def predict_step(self, state, data):
        outputs, non_trainable = super().predict_step(state, data)
        return outputs * 2.0, non_trainable


def test_predict_calls_the_predict_step_override():
    inputs = tl.Input(shape=(8,))
    model = _DoublingPredict(inputs, tl.Dense(2)(inputs))
    expected = 2.0 * np.asarray(model(X))
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict(X[:5], verbose=0), expected[:5], rtol=1e-6)


def test_a_learning_rate_set_by_a_callback_reaches_stateless_apply():
    """The learning rate is in optimizer_variables: a callback's change is the next step's."""
    model = _functional(thawnet, guide_model_class(thawnet))
    model.compile(optimizer=thawnet.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, epochs=1, verbose=0, shuffle=False)
    before = model.get_weights()
    to_zero = thawnet.callbacks.LearningRateScheduler(lambda epoch, lr: 0.0)
    model.fit(X, Y, epochs=2, verbose=0, shuffle=False, callbacks=[to_zero])
    assert all(a.tobytes() == b.tobytes() for a, b in zip(before, model.get_weights()))
    assert float(model.optimizer.learning_rate) == 0.0
