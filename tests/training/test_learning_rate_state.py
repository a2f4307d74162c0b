"""The learning rate (and beta_1, weight_decay, momentum) is optimizer state: assignments
between steps take effect at the next step, without recompiling, as in Keras 3."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl
from thawnet import optimizers

RNG = np.random.default_rng(7)
X = RNG.normal(size=(32, 4)).astype("f4")
Y = (X @ np.array([1.0, -2.0, 0.5, 3.0], "f4"))[:, None] + 1.0


def _twins(make_keras_opt, make_opt, metrics=None):
    """A Keras model and a thawnet model with the same architecture and initial weights."""
    k = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                          keras.layers.Dense(1)])
    k.compile(optimizer=make_keras_opt(), loss="mse", metrics=metrics)
    t = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(3, activation="tanh"), tl.Dense(1)])
    t.compile(optimizer=make_opt(), loss="mse", metrics=metrics)
    t.set_weights(k.get_weights())
    return k, t


def _keras_cb(fn):
    class KerasHook(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            fn(self.model, epoch)
    return KerasHook()


def _thawnet_cb(fn):
    class Hook(cb.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            fn(self.model, epoch)
    return Hook()


def _train_cache_sizes(model):
    return {k: fn._cache_size() for k, fn in model._fn_cache.items() if k[0] == "train"}


def test_assignment_in_on_epoch_begin_matches_keras_loss_history_without_recompiling():
    rates = [0.05, 0.2, 0.0, 0.01, 0.1]

    def set_rate(model, epoch):
        model.optimizer.learning_rate = rates[epoch]

    k, t = _twins(lambda: keras.optimizers.SGD(0.3), lambda: optimizers.SGD(0.3))
    expected = k.fit(X, Y, batch_size=8, epochs=5, shuffle=False, verbose=0,
                     callbacks=[_keras_cb(set_rate)]).history["loss"]
    seen_cache = []
    probe = cb.LambdaCallback(on_epoch_end=lambda e, logs: seen_cache.append(
        (len(t._fn_cache), _train_cache_sizes(t))))
    got = t.fit(X, Y, batch_size=8, epochs=5, shuffle=False, verbose=0,
                callbacks=[_thawnet_cb(set_rate), probe]).history["loss"]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert len({repr(c) for c in seen_cache}) == 1  # no new function, no retrace
    assert all(size == 1 for size in seen_cache[0][1].values())
    assert float(t.optimizer.learning_rate) == pytest.approx(0.1)
    np.testing.assert_allclose(k.predict(X, verbose=0), t.predict(X, verbose=0), atol=1e-4)


def test_a_rate_of_zero_leaves_the_weights_unchanged():
    model = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(2), tl.Dense(1)])
    model.compile(optimizer=optimizers.Adam(0.1), loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)  # Adam's moments are non-zero from here on
    before = [w.copy() for w in model.get_weights()]
    model.optimizer.learning_rate.assign(0.0)
    assert float(model.optimizer.learning_rate) == 0.0
    model.fit(X, Y, epochs=2, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.optimizer.learning_rate = 0.1
    model.fit(X, Y, epochs=1, verbose=0)
    assert not np.array_equal(before[0], model.get_weights()[0])


def test_keras_callbacks_guide_custom_scheduler_matches_keras():
    """The guide's CustomLearningRateScheduler (own code, same logic) on both libraries."""
    schedule_points = [(3, 0.05), (6, 0.01), (9, 0.005), (12, 0.001)]

    def lr_schedule(epoch, lr):
        if epoch < schedule_points[0][0] or epoch > schedule_points[-1][0]:
            return lr
        for point, rate in schedule_points:
            if epoch == point:
                return rate
        return lr

    def make(base):
        class Scheduler(base):
            def on_epoch_begin(self, epoch, logs=None):
                lr = self.model.optimizer.learning_rate  # a variable-like value
                scheduled = lr_schedule(epoch, lr)
                self.model.optimizer.learning_rate = scheduled
                self.rates.append(float(np.array(scheduled)))
        scheduler = Scheduler()
        scheduler.rates = []
        return scheduler

    k, t = _twins(lambda: keras.optimizers.SGD(0.1), lambda: optimizers.SGD(0.1),
                  metrics=["mean_absolute_error"])
    ks, ts = make(keras.callbacks.Callback), make(cb.Callback)
    expected = k.fit(X, Y, batch_size=8, epochs=14, shuffle=False, verbose=0, callbacks=[ks])
    got = t.fit(X, Y, batch_size=8, epochs=14, shuffle=False, verbose=0, callbacks=[ts])
    np.testing.assert_allclose(ts.rates, ks.rates, rtol=1e-6)
    assert ts.rates[3] == pytest.approx(0.05) and ts.rates[-1] == pytest.approx(0.001)
    for key in ("loss", "mean_absolute_error"):
        np.testing.assert_allclose(got.history[key], expected.history[key], atol=1e-4,
                                   rtol=1e-4)
    assert got.history["loss"][-1] < 0.5 * got.history["loss"][0]


def test_learning_rate_scheduler_and_reduce_lr_match_keras_logs():
    def sched(epoch, lr):
        return lr * 0.5 if epoch % 2 else lr

    k, t = _twins(lambda: keras.optimizers.SGD(0.2), lambda: optimizers.SGD(0.2))
    kcbs = [keras.callbacks.LearningRateScheduler(sched),
            keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                              min_delta=10.0)]
    tcbs = [cb.LearningRateScheduler(sched),
            cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)]
    expected = k.fit(X, Y, batch_size=8, epochs=4, shuffle=False, verbose=0, callbacks=kcbs)
    got = t.fit(X, Y, batch_size=8, epochs=4, shuffle=False, verbose=0, callbacks=tcbs)
    np.testing.assert_allclose(got.history["learning_rate"],
                               expected.history["learning_rate"], rtol=1e-6)
    np.testing.assert_allclose(got.history["loss"], expected.history["loss"], atol=1e-4,
                               rtol=1e-4)


def test_schedule_reads_its_current_value_and_refuses_assignment():
    opt = optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 4, 0.5))
    model = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(1)])
    model.compile(optimizer=opt, loss="mse")
    assert float(opt.learning_rate) == pytest.approx(0.1)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)  # 4 steps: next step is step 4
    assert float(opt.learning_rate) == pytest.approx(0.05)
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.01


def test_beta_1_weight_decay_and_momentum_are_state_too():
    model = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(1)])
    opt = optimizers.AdamW(0.01, weight_decay=0.1, beta_1=0.9)
    model.compile(optimizer=opt, loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    sizes = _train_cache_sizes(model)
    opt.beta_1 = 0.5
    opt.weight_decay.assign(0.0)
    assert float(opt.beta_1) == 0.5 and float(opt.weight_decay) == 0.0
    assert float(optimizers.get_hyperparameter(model._opt_state, "beta_1")) == 0.5
    assert float(optimizers.get_hyperparameter(model._opt_state, "one_minus_beta_1")) == \
        pytest.approx(0.5)
    model.fit(X, Y, epochs=1, verbose=0)
    assert _train_cache_sizes(model) == sizes
    assert opt.get_config()["beta_1"] == 0.5 and opt.get_config()["weight_decay"] == 0.0
    sgd = optimizers.SGD(0.1)  # no momentum term when compiled: assigning one is refused
    model.compile(optimizer=sgd, loss="mse")
    with pytest.raises(TypeError, match="momentum=0.9 to the constructor"):
        sgd.momentum = 0.9


def test_adam_beta_assignment_before_fit_matches_keras_constructed_with_it():
    k, t = _twins(lambda: keras.optimizers.Adam(0.05, beta_1=0.6, beta_2=0.99),
                  lambda: optimizers.Adam(0.05))
    t.optimizer.beta_1 = 0.6  # compiled, not yet trained: the state starts from these
    t.optimizer.beta_2 = 0.99
    expected = k.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    got = t.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_batch_level_assignment_takes_effect_at_the_next_step_as_in_keras():
    def rate_for(batch):
        return [0.1, 0.0, 0.3, 0.05][batch]

    class KerasBatch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(rate_for(batch))

    class Batch(cb.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(rate_for(batch))

    k, t = _twins(lambda: keras.optimizers.SGD(0.5), lambda: optimizers.SGD(0.5))
    expected = k.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                     callbacks=[KerasBatch()]).history["loss"]
    got = t.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                callbacks=[Batch()]).history["loss"]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert all(size == 1 for size in _train_cache_sizes(t).values())
