"""Callbacks driven by hand with a fake model and synthetic logs, checked against Keras's own
callbacks driven with the same logs."""

import math
import os
import struct
import sys

import keras
import numpy as np
import pytest

from thawnet import callbacks as tc

# Keras's own variables trip numpy's __array__(copy=) deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


class FakeModel:
    """The model side of the callback contract. The learning rate is stored as float32, like
    Keras's optimizer variable (and the trainer's optax state)."""

    def __init__(self, n_weights=2, lr=0.1, save_error=None):
        self.name = "fake"
        self.stop_training = False
        self._weights = [np.zeros((2, 1), "f4"), np.zeros((1,), "f4")][:n_weights]
        self._lr = float(np.float32(lr))
        self.saved = []
        self.save_error = save_error

    def get_weights(self):
        return [w.copy() for w in self._weights]

    def set_weights(self, weights):
        self._weights = [np.array(w, "f4") for w in weights]

    def get_learning_rate(self):
        return self._lr

    def set_learning_rate(self, value):
        self._lr = float(np.float32(value))

    def save(self, path, overwrite=True):
        if self.save_error:
            raise self.save_error
        self.saved.append(("model", path))
        with open(path, "w") as f:
            f.write("model")

    def save_weights(self, path, overwrite=True):
        if self.save_error:
            raise self.save_error
        self.saved.append(("weights", path))
        with open(path, "w") as f:
            f.write("weights")


def _keras_model(lr=0.1):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=lr), "mse")
    return model


def _epoch_weights(epoch):
    return [np.full((2, 1), epoch, "f4"), np.full((1,), -epoch, "f4")]


def _run_epochs(callback, model, logs_seq, set_weights=True):
    """Drive a callback through a fit: returns the epoch after which training stopped."""
    callback.set_model(model)
    callback.on_train_begin({})
    stopped_after = None
    for epoch, logs in enumerate(logs_seq):
        callback.on_epoch_begin(epoch, {})
        if set_weights:
            model.set_weights(_epoch_weights(epoch))
        callback.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            stopped_after = epoch
            break
    callback.on_train_end({})
    return stopped_after


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

LOSSES = [1.0, 0.8, 0.81, 0.79, 0.795, 0.9, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75]
ACCS = [0.5, 0.6, 0.6, 0.65, 0.64, 0.7, 0.69, 0.68, 0.7, 0.71, 0.6, 0.6]
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


# -- CSVLogger ------------------------------------------------------------------------------

def _csv_run(cls, path, logs_seq, **kwargs):
    cb = cls(str(path), **kwargs)
    cb.on_train_begin()
    for epoch, logs in enumerate(logs_seq):
        cb.on_epoch_end(epoch, dict(logs))
    cb.on_train_end()
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("logs_seq,kwargs", [
    ([{"loss": 0.5, "accuracy": 0.25, "val_loss": 0.75, "val_accuracy": 0.125},
      {"loss": 0.1 + 0.2, "accuracy": 1 / 3, "val_loss": 0.5, "val_accuracy": 0.5}], {}),
    ([{"loss": 0.5, "learning_rate": 0.001}, {"loss": 0.25, "learning_rate": 0.0001}],
     {"separator": ";"}),
    ([{"loss": 0.5, "name": "a,b", "vec": [1, 2]}], {}),
])
def test_csv_logger_writes_the_same_bytes_as_keras(tmp_path, logs_seq, kwargs):
    ours = _csv_run(tc.CSVLogger, tmp_path / "ours.csv", logs_seq, **kwargs)
    theirs = _csv_run(keras.callbacks.CSVLogger, tmp_path / "keras.csv", logs_seq, **kwargs)
    assert ours == theirs


def test_csv_logger_contents_and_append(tmp_path):
    path = tmp_path / "log.csv"
    logs_seq = [{"loss": 0.5, "accuracy": 0.75}, {"loss": 0.25, "accuracy": 0.875}]
    _csv_run(tc.CSVLogger, path, logs_seq)
    text = _csv_run(tc.CSVLogger, path, logs_seq[:1], append=True).decode()
    assert text == ("epoch,accuracy,loss,val_accuracy,val_loss\r\n"
                    "0,0.75,0.5,NA,NA\r\n"
                    "1,0.875,0.25,NA,NA\r\n"
                    "0,0.75,0.5,NA,NA\r\n")
    assert _csv_run(tc.CSVLogger, path, logs_seq[:1]).decode().count("epoch") == 1


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


# -- ModelCheckpoint ------------------------------------------------------------------------

class RecordingKerasSide(FakeModel):
    """Given to Keras's ModelCheckpoint so it records where it would save."""


CHECKPOINT_CASES = [
    ("w.{epoch:02d}-{val_loss:.2f}.weights.h5", dict(save_weights_only=True)),
    ("best.keras", dict(save_best_only=True)),
    ("sub/m.{epoch:03d}.keras", dict(save_best_only=True, monitor="val_accuracy", mode="max")),
    ("m-{epoch}.keras", dict(save_best_only=True, initial_value_threshold=0.79)),
    ("b.{epoch:02d}-{batch:03d}.weights.h5", dict(save_weights_only=True, save_freq=3)),
]


@pytest.mark.parametrize("template,kwargs", CHECKPOINT_CASES)
def test_model_checkpoint_saves_what_keras_saves(tmp_path, template, kwargs):
    logs_seq = [{"loss": 1.0, "val_loss": v, "val_accuracy": a} for v, a in zip(LOSSES, ACCS)]
    saved = []
    for cls, model in [(keras.callbacks.ModelCheckpoint, RecordingKerasSide()),
                       (tc.ModelCheckpoint, FakeModel())]:
        folder = tmp_path / cls.__module__.split(".")[0]
        folder.mkdir()
        # thawnet writes its own formats: .thawnet models, .safetensors weights.
        ours = template.replace(".weights.h5", ".safetensors").replace(".keras", ".thawnet")
        cb = cls(str(folder / (template if cls is keras.callbacks.ModelCheckpoint else ours)),
                 **kwargs)
        cb.set_model(model)
        cb.on_train_begin({})
        for epoch, logs in enumerate(logs_seq):
            cb.on_epoch_begin(epoch, {})
            for batch in range(4):
                cb.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1)})
            cb.on_epoch_end(epoch, dict(logs))
        saved.append([(kind, os.path.relpath(path, folder).replace(".safetensors", ".weights.h5")
                       .replace(".thawnet", ".keras")) for kind, path in model.saved])
    assert saved[1] == saved[0] and saved[1]
    assert all(os.path.exists(tmp_path / "thawnet" / path.replace(".weights.h5", ".safetensors")
                              .replace(".keras", ".thawnet")) for _, path in saved[1])


def test_model_checkpoint_expected_files_state_and_errors(tmp_path, capsys):
    model = FakeModel()
    cb = tc.ModelCheckpoint(str(tmp_path / "w.{epoch:02d}-{val_loss:.2f}.safetensors"),
                            save_weights_only=True, save_best_only=True, verbose=1)
    _run_epochs(cb, model, [{"val_loss": v} for v in [0.5, 0.6, 0.4]], set_weights=False)
    assert sorted(os.listdir(tmp_path)) == ["w.01-0.50.safetensors", "w.03-0.40.safetensors"]
    out = capsys.readouterr().out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out
    assert "Epoch 3: val_loss improved from 0.50000 to 0.40000, saving model to" in out
    assert cb.get_state()["best"] == 0.4
    resumed = tc.ModelCheckpoint(str(tmp_path / "r.thawnet"), save_best_only=True)
    resumed.set_state(cb.get_state())
    resumed.set_model(model)
    resumed.on_epoch_end(3, {"val_loss": 0.45})
    assert not os.path.exists(tmp_path / "r.thawnet")

    with pytest.raises(ValueError, match=".safetensors"):
        tc.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match=".thawnet"):
        tc.ModelCheckpoint("model.pkl")
    with pytest.raises(ValueError, match="save_freq"):
        tc.ModelCheckpoint("m.thawnet", save_freq="often")
    with pytest.raises(KeyError, match="Failed to format"):
        bad = tc.ModelCheckpoint(str(tmp_path / "{nope}.thawnet"))
        bad.set_model(model)
        bad.on_epoch_end(0, {"val_loss": 1.0})


def test_model_checkpoint_keeps_only_the_last_k_files(tmp_path):
    model = FakeModel()
    cb = tc.ModelCheckpoint(str(tmp_path / "m.{epoch:02d}.thawnet"), keep=2)
    cb.set_model(model)
    for epoch in range(4):
        cb.on_epoch_end(epoch, {"val_loss": 1.0})
    assert sorted(os.listdir(tmp_path)) == ["m.03.thawnet", "m.04.thawnet"]


# -- TensorBoard ----------------------------------------------------------------------------

def _read_events(folder):
    """(tag, step, value) of every scalar, and the histogram tags, in the event files."""
    from tensorboardX.proto import event_pb2

    scalars, histograms = [], set()
    for name in sorted(os.listdir(folder)):
        if "tfevents" not in name:
            continue
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):  # TFRecord: length, crc, payload, crc
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                if value.HasField("histo"):
                    histograms.add((value.tag, event.step))
                else:
                    scalars.append((value.tag, event.step, value.simple_value))
    return scalars, histograms


def test_tensorboard_writes_keras_layout(tmp_path):
    pytest.importorskip("tensorboardX")
    model = FakeModel(lr=0.01)
    callbacks = tc.CallbackList([tc.TensorBoard(str(tmp_path), histogram_freq=2,
                                                update_freq=2)], model=model, epochs=3, steps=3)
    callbacks.on_train_begin()
    for epoch in range(3):
        callbacks.on_epoch_begin(epoch)
        for batch in range(3):
            callbacks.on_train_batch_begin(batch)
            callbacks.on_train_batch_end(batch, {"loss": 1.0 + batch})
        callbacks.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.5,
                                       "val_loss": 2.0 / (epoch + 1)})
    callbacks.on_train_end()
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, histos = _read_events(tmp_path / "train")
    val, _ = _read_events(tmp_path / "validation")
    epoch_loss = [(step, value) for tag, step, value in train if tag == "epoch_loss"]
    assert epoch_loss == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert [(s, v) for t, s, v in train if t == "epoch_learning_rate"] == [
        (e, pytest.approx(0.01)) for e in range(3)]
    assert [(s, v) for t, s, v in train if t == "epoch_accuracy"] == [(e, 0.5) for e in range(3)]
    assert [(s, v) for t, s, v in train if t == "batch_loss"] == [(2, 2.0), (4, 1.0), (6, 3.0),
                                                                  (8, 2.0)]
    assert sorted((t, s, v) for t, s, v in val) == [
        ("epoch_loss", 0, 2.0), ("epoch_loss", 1, 1.0), ("epoch_loss", 2, pytest.approx(2 / 3))]
    assert histos == {(f"weight_{i}/histogram", e) for i in range(2) for e in (0, 2)}


def test_tensorboard_missing_package_and_unsupported_options(monkeypatch):
    with pytest.raises(NotImplementedError, match="profile_batch"):
        tc.TensorBoard(profile_batch=2)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        tc.TensorBoard("logs")
