"""Callbacks driven by hand with a fake model and synthetic logs, checked against Keras's own
callbacks driven with the same logs."""

import math

import keras
import numpy as np
import pytest

from thawnet import callbacks as tc

# Keras's own variables trip numpy's __array__(copy=) deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


from callback_fakes import ACCS, LOSSES, FakeModel, _epoch_weights, _keras_model, _run_epochs


# -- Callback / CallbackList / History ------------------------------------------------------

def test_needs_batch_logs_follows_the_overridden_hooks():
    class EpochOnly(tc.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    class BatchUser(tc.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    class OldStyle(tc.Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    class Opted(BatchUser):
        needs_batch_logs = False

    assert not tc.Callback().needs_batch_logs and not EpochOnly().needs_batch_logs
    assert BatchUser().needs_batch_logs and OldStyle().needs_batch_logs
    assert not Opted().needs_batch_logs
    assert not tc.History().needs_batch_logs and tc.TerminateOnNaN().needs_batch_logs
    assert not tc.LambdaCallback(on_epoch_end=print).needs_batch_logs
    assert tc.LambdaCallback(on_train_batch_end=print).needs_batch_logs
    assert not tc.EarlyStopping().needs_batch_logs and not tc.ReduceLROnPlateau().needs_batch_logs
    assert not tc.ModelCheckpoint("m.thawnet").needs_batch_logs
    assert tc.ModelCheckpoint("m.thawnet", save_freq=3).needs_batch_logs
    assert not tc.TensorBoard("logs").needs_batch_logs
    assert tc.TensorBoard("logs", update_freq="batch").needs_batch_logs
    assert not tc.CallbackList([EpochOnly()], add_history=True).needs_batch_logs
    assert tc.CallbackList([EpochOnly(), OldStyle()]).needs_batch_logs


def test_callback_list_defaults_params_model_and_shared_logs():
    seen = []

    class AddsKey(tc.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = 1.5

    class Reads(tc.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs)

    model = FakeModel()
    user = [AddsKey(), [Reads()]]
    callbacks = tc.CallbackList(user, add_history=True, add_progbar=True, model=model,
                                verbose=0, epochs=3, steps=7)
    assert [type(cb).__name__ for cb in callbacks] == ["AddsKey", "Reads", "History",
                                                       "ProgbarLogger"]
    assert all(cb.model is model for cb in callbacks)
    assert all(cb.params == {"verbose": 0, "epochs": 3, "steps": 7} for cb in callbacks)
    assert model.history is callbacks.history
    trainer_logs = {"loss": np.float32(0.5), "val_loss": np.array(0.25)}
    callbacks.on_train_begin()
    callbacks.on_epoch_begin(0)
    callbacks.on_train_batch_end(0, None)
    callbacks.on_epoch_end(0, trainer_logs)
    callbacks.on_train_end()
    assert seen[0] == {}
    assert seen[1] == {"loss": 0.5, "val_loss": 0.25, "extra": 1.5}
    assert all(type(v) is float for v in seen[1].values())
    assert "extra" not in trainer_logs  # the trainer's dict is not modified
    assert callbacks.history.history == {"loss": [0.5], "val_loss": [0.25], "extra": [1.5]}

    history = tc.History()
    again = tc.CallbackList([history], add_history=True, add_progbar=True, model=model)
    assert again.history is history and len(again) == 2


def test_callback_list_rejects_keras_callbacks():
    with pytest.raises(TypeError, match="thawnet.callbacks.EarlyStopping"):
        tc.CallbackList([keras.callbacks.EarlyStopping()])


def test_history_records_like_keras():
    model = FakeModel()
    ours = tc.History()
    ours.set_params({"epochs": 2, "steps": 4, "verbose": 1})
    theirs = keras.callbacks.History()
    logs_seq = [{"loss": 0.9, "accuracy": 0.5}, {"loss": 0.7, "accuracy": 0.625}]
    _run_epochs(ours, model, logs_seq)
    _run_epochs(theirs, _keras_model(), logs_seq)
    assert ours.history == theirs.history and ours.epoch == theirs.epoch == [0, 1]
    assert ours.params["epochs"] == 2 and ours.audit is None and model.history is ours


def test_base_hooks_are_no_ops_and_batch_aliases_forward():
    calls = []

    class Old(tc.Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch, logs))

    cb = Old()
    cb.on_train_batch_begin(3)
    cb.on_train_batch_end(3, {"loss": 1.0})
    assert calls == [("begin", 3), ("end", 3, {"loss": 1.0})]
    base = tc.Callback()
    for name in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                 "on_predict_begin", "on_predict_end"):
        assert getattr(base, name)({}) is None
    assert base.get_state() == {}


# -- EarlyStopping --------------------------------------------------------------------------

EARLY_STOPPING_CASES = [
    ("val_loss", LOSSES, dict(patience=0)),
    ("val_loss", LOSSES, dict(patience=2, restore_best_weights=True)),
    ("val_loss", LOSSES, dict(patience=2, min_delta=0.02, restore_best_weights=True)),
    ("val_loss", LOSSES, dict(patience=3, baseline=0.75, restore_best_weights=True)),
    ("val_loss", LOSSES, dict(patience=1, start_from_epoch=4, restore_best_weights=True)),
    ("val_loss", LOSSES, dict(patience=20, restore_best_weights=True)),  # never stops
    ("val_loss", [2.0, 3.0, 4.0, 5.0], dict(patience=1, baseline=1.0,
                                           restore_best_weights=True)),
    ("val_accuracy", ACCS, dict(patience=2, restore_best_weights=True)),
    ("val_accuracy", ACCS, dict(patience=3, min_delta=0.01)),
    ("loss", LOSSES, dict(patience=1, mode="max")),
]


@pytest.mark.parametrize("monitor,values,kwargs", EARLY_STOPPING_CASES)
def test_early_stopping_matches_keras(monitor, values, kwargs):
    logs_seq = [{monitor: v, "other": 1.0} for v in values]
    keras_kwargs = dict(kwargs)
    if monitor == "val_accuracy":
        keras_kwargs.setdefault("mode", "max")  # Keras needs built metrics to infer it
    theirs = keras.callbacks.EarlyStopping(monitor=monitor, **keras_kwargs)
    ours = tc.EarlyStopping(monitor=monitor, **kwargs)  # "auto" infers max for accuracy
    keras_model, model = _keras_model(), FakeModel()
    keras_stop = _run_epochs(theirs, keras_model, logs_seq)
    our_stop = _run_epochs(ours, model, logs_seq)
    assert our_stop == keras_stop
    assert (ours.stopped_epoch, ours.wait, ours.best, ours.best_epoch) == (
        theirs.stopped_epoch, theirs.wait, theirs.best, theirs.best_epoch)
    for mine, keras_w in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_array_equal(mine, keras_w)


def test_early_stopping_expected_values_and_messages(capsys):
    model = FakeModel()
    cb = tc.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    assert _run_epochs(cb, model, [{"val_loss": v} for v in LOSSES]) == 5
    assert (cb.best, cb.best_epoch, cb.stopped_epoch) == (0.79, 3, 5)
    np.testing.assert_array_equal(model.get_weights()[0], np.full((2, 1), 3.0))
    assert capsys.readouterr().out == ("Epoch 6: early stopping\n"
                                       "Restoring model weights from the end of the best "
                                       "epoch: 4.\n")
    with pytest.warns(UserWarning, match="not available"):
        tc.EarlyStopping(monitor="val_auc", mode="max").on_epoch_end(0, {"loss": 1.0})


def test_early_stopping_state_resumes_like_an_uninterrupted_run():
    logs_seq = [{"val_loss": v} for v in LOSSES]
    full_model = FakeModel()
    full = tc.EarlyStopping(patience=3, restore_best_weights=True)
    full_stop = _run_epochs(full, full_model, logs_seq)

    model = FakeModel()
    first = tc.EarlyStopping(patience=3, restore_best_weights=True)
    first.set_model(model)
    first.on_train_begin()
    for epoch in range(4):
        model.set_weights(_epoch_weights(epoch))
        first.on_epoch_end(epoch, dict(logs_seq[epoch]))
    state = first.get_state()
    assert set(state) == {"wait", "best", "stopped_epoch", "best_weights", "best_epoch"}

    second = tc.EarlyStopping(patience=3, restore_best_weights=True)
    second.set_state(state)
    second.set_model(model)
    second.on_train_begin()  # resuming: the restored state survives
    stopped = None
    for epoch in range(4, len(logs_seq)):
        model.set_weights(_epoch_weights(epoch))
        second.on_epoch_end(epoch, dict(logs_seq[epoch]))
        if model.stop_training:
            stopped = epoch
            break
    second.on_train_end()
    assert stopped == full_stop
    assert second.get_state()["best"] == full.best
    np.testing.assert_array_equal(model.get_weights()[0], full_model.get_weights()[0])
    second.on_train_begin()  # a later fit starts afresh
    assert second.best is None and second.wait == 0


def test_monitor_direction_inference():
    class Metric:
        def __init__(self, name, direction):
            self.name, self.direction = name, direction

    model = FakeModel()
    model.metrics = [Metric("score", "up")]
    for monitor, expected in [("val_loss", "down"), ("loss", "down"), ("val_accuracy", "up"),
                              ("auc", "up"), ("val_mae", "down"), ("val_score", "up"),
                              ("output_1_loss", "down")]:
        cb = tc.EarlyStopping(monitor=monitor)
        cb.set_model(model)
        cb._ensure_direction()
        assert cb._direction == expected, monitor
    cb = tc.EarlyStopping(monitor="val_mystery")
    cb.set_model(model)
    with pytest.raises(ValueError, match="mode='max'"):
        cb.on_epoch_end(0, {"val_mystery": 1.0})
    with pytest.warns(UserWarning, match="unknown"):
        assert tc.EarlyStopping(mode="bogus").mode == "auto"


# -- ReduceLROnPlateau / LearningRateScheduler -------------------------------------------------

REDUCE_CASES = [
    dict(patience=2),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=1, factor=0.2, min_lr=0.003),
    dict(patience=0, min_delta=0.05),
    dict(patience=2, monitor="val_accuracy", mode="max"),
]


@pytest.mark.parametrize("kwargs", REDUCE_CASES)
def test_reduce_lr_on_plateau_matches_keras(kwargs):
    kwargs = dict(kwargs)
    monitor = kwargs.pop("monitor", "val_loss")
    values = ACCS if monitor == "val_accuracy" else LOSSES
    logs_seq = [{monitor: v} for v in values] + [{monitor: values[-1]}] * 6

    def drive(callback, get_lr):
        lrs, logged = [], []
        callback.on_train_begin({})
        for epoch, logs in enumerate(logs_seq):
            logs = dict(logs)
            callback.on_epoch_end(epoch, logs)
            logged.append(logs["learning_rate"])
            lrs.append(get_lr())
        return lrs, logged

    keras_model = _keras_model(lr=0.1)
    theirs = keras.callbacks.ReduceLROnPlateau(monitor=monitor, **kwargs)
    theirs.set_model(keras_model)
    keras_lrs = drive(theirs, lambda: float(keras_model.optimizer.learning_rate))
    model = FakeModel(lr=0.1)
    ours = tc.ReduceLROnPlateau(monitor=monitor, **kwargs)
    ours.set_model(model)
    our_lrs = drive(ours, model.get_learning_rate)
    assert our_lrs == keras_lrs
    assert len(set(our_lrs[0])) > 1  # the cases do reduce the rate
    assert (ours.wait, ours.cooldown_counter, ours.best) == (
        theirs.wait, theirs.cooldown_counter, theirs.best)


def test_reduce_lr_state_verbose_and_errors(capsys):
    with pytest.raises(ValueError, match="factor"):
        tc.ReduceLROnPlateau(factor=1.0)
    model = FakeModel(lr=0.1)
    cb = tc.ReduceLROnPlateau(patience=1, factor=0.5, cooldown=2, verbose=1)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate([1.0, 1.0, 1.0]):
        cb.on_epoch_end(epoch, {"val_loss": value})
    assert model.get_learning_rate() == pytest.approx(0.05)
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05000000074505806." in (
        capsys.readouterr().out)
    state = cb.get_state()
    assert state == {"best": 1.0, "wait": 0, "cooldown_counter": 1}
    other = tc.ReduceLROnPlateau(patience=1, factor=0.5, cooldown=2)
    other.set_state(state)
    other.set_model(model)
    other.on_train_begin()
    for epoch in (3, 4):
        other.on_epoch_end(epoch, {"val_loss": 1.0})
        cb.on_epoch_end(epoch, {"val_loss": 1.0})
        assert other.get_state() == cb.get_state()
    assert model.get_learning_rate() == pytest.approx(0.0125)


def test_learning_rate_scheduler_matches_keras(capsys):
    def schedule(epoch, lr):
        return lr if epoch < 2 else lr * 0.5

    keras_model, model = _keras_model(lr=0.1), FakeModel(lr=0.1)
    theirs = keras.callbacks.LearningRateScheduler(schedule)
    ours = tc.LearningRateScheduler(schedule, verbose=1)
    results = []
    for cb, mdl, get in [(theirs, keras_model, lambda: float(keras_model.optimizer.learning_rate)),
                         (ours, model, model.get_learning_rate)]:
        cb.set_model(mdl)
        seq = []
        for epoch in range(5):
            cb.on_epoch_begin(epoch)
            logs = {"loss": 1.0}
            cb.on_epoch_end(epoch, logs)
            seq.append((get(), logs["learning_rate"]))
        results.append(seq)
    assert results[0] == results[1]
    assert results[1][-1][0] == pytest.approx(0.0125)
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.05" in capsys.readouterr().out

    one_arg = tc.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    one_arg.set_model(model)
    one_arg.on_epoch_begin(2)
    assert model.get_learning_rate() == pytest.approx(0.03)
    bad = tc.LearningRateScheduler(lambda epoch, lr: 1)
    bad.set_model(model)
    with pytest.raises(ValueError, match="should be a float"):
        bad.on_epoch_begin(0)


# -- TerminateOnNaN / LambdaCallback --------------------------------------------------------

@pytest.mark.parametrize("loss,stops", [(0.5, False), (math.nan, True), (math.inf, True),
                                        (-math.inf, True), (None, False)])
def test_terminate_on_nan(loss, stops, capsys):
    model = FakeModel()
    callbacks = tc.CallbackList([tc.TerminateOnNaN()], model=model)
    callbacks.on_train_batch_end(4, {} if loss is None else {"loss": np.float32(loss)})
    assert model.stop_training is stops
    assert ("Batch 4: Invalid loss, terminating training" in capsys.readouterr().out) is stops
    raising = tc.TerminateOnNaN(raise_error=True)
    raising.set_model(model)
    if stops:
        with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 4"):
            raising.on_train_batch_end(4, {"loss": loss})


def test_lambda_callback_calls_the_given_functions():
    calls = []
    cb = tc.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["loss"])),
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_train_end=lambda logs: calls.append("train_end"),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch)),
        on_test_end=lambda logs: calls.append(("test_end", logs)))
    callbacks = tc.CallbackList([cb], model=FakeModel())
    callbacks.on_train_begin()
    callbacks.on_epoch_begin(0)
    callbacks.on_train_batch_begin(0)
    callbacks.on_train_batch_end(0, {"loss": 1.0})
    callbacks.on_test_begin()
    callbacks.on_test_end({"loss": 2.0})
    callbacks.on_epoch_end(0, {"loss": 0.5})
    callbacks.on_train_end()
    assert calls == ["train_begin", ("epoch_begin", 0), ("batch_end", 0),
                     ("test_end", {"loss": 2.0}), ("epoch_end", 0, 0.5), "train_end"]
    with pytest.raises(TypeError, match="on_epoch_ends"):
        tc.LambdaCallback(on_epoch_ends=print)
