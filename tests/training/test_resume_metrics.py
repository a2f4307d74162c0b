"""Backups hold the running epoch's metric accumulators and the History, so a resumed fit's
logs, callbacks and History equal the uninterrupted run's (in-process crashes; the SIGKILL
trials are in test_checkpoint_resume.py)."""

import json
import os

import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl
from thawnet.io import training_checkpoint as checkpoint

RNG = np.random.default_rng(1)
X = RNG.normal(size=(48, 5)).astype("f4")  # 3 batches of 16 per epoch
Y = RNG.integers(0, 3, 48).astype("i4")


class Crash(Exception):
    pass


class CrashAt(cb.Callback):
    """Raise after the ``at``-th batch of the fit (after the backups listed before it)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise Crash(f"crash after batch {batch}")


class EpochLogs(cb.Callback):
    """The epoch logs every callback sees (with ReduceLROnPlateau's learning_rate)."""

    def __init__(self):
        super().__init__()
        self.logs = {}

    def on_epoch_end(self, epoch, logs=None):
        self.logs[epoch] = dict(logs)


def _model(metrics=("accuracy",)):
    thawnet.set_random_seed(0)
    model = thawnet.Sequential([tl.Input(shape=(5,)), tl.Dense(8, name="h"), tl.ReLU(),
                                tl.Dropout(0.3), tl.Dense(3, name="out")])
    model.compile(optimizer=thawnet.optimizers.Adam(0.02), metrics=list(metrics),
                  loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _monitors():
    return [cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=0.05),
            cb.EarlyStopping(monitor="loss", patience=3)]


def _fit(model, callbacks, epochs=3, **kwargs):
    return model.fit(X, Y, batch_size=16, epochs=epochs, verbose=0, callbacks=callbacks,
                     **kwargs)


@pytest.fixture(scope="module")
def reference():
    model = _model()
    seen = EpochLogs()
    history = _fit(model, _monitors() + [seen])
    return model.get_weights(), history, seen.logs


def _assert_like_reference(model, history, seen, reference):
    weights, ref_history, ref_logs = reference
    assert history.epoch == ref_history.epoch == [0, 1, 2]
    assert history.history == ref_history.history
    assert seen == ref_logs
    for a, b in zip(model.get_weights(), weights):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("crash_at", [3, 5])
def test_backup_and_restore_mid_epoch_gives_the_uninterrupted_logs(tmp_path, reference,
                                                                   crash_at):
    # crash_at=3 is the last batch of epoch 0: the backup continues at (0, 3), the resumed
    # run trains no batch of epoch 0 and its logs come from the saved accumulators alone.
    backup = str(tmp_path / "backup")
    first_logs = EpochLogs()
    with pytest.raises(Crash):
        _fit(_model(), [cb.BackupAndRestore(backup, save_freq=1, delete_checkpoint=False)]
             + _monitors() + [first_logs, CrashAt(crash_at)])
    resumed_logs = EpochLogs()
    model = _model()
    history = _fit(model, [cb.BackupAndRestore(backup, save_freq=1)] + _monitors()
                   + [resumed_logs])
    # The epochs before the crash are in the History from the backup; each epoch's logs were
    # seen once, by the process that finished it.
    assert set(first_logs.logs) & set(resumed_logs.logs) == set()
    _assert_like_reference(model, history, {**first_logs.logs, **resumed_logs.logs}, reference)


def test_a_mid_epoch_checkpoint_holds_the_metric_accumulators(tmp_path):
    folder = str(tmp_path / "ckpt")
    model = _model()
    saved = {}

    class SaveAfterTwo(cb.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1 and not saved:
                checkpoint.save_checkpoint(self.model, folder, 0, 2)
                saved["logs"] = dict(logs)

    _fit(model, [SaveAfterTwo()], epochs=1)
    fresh = _model()
    restored = checkpoint.load_checkpoint(fresh, folder)
    assert (restored.epoch, restored.step) == (0, 2)
    results = fresh._results(restored.metrics)
    # The accumulators give back the running means the callbacks saw after batch 1.
    assert results == saved["logs"]
    assert set(results) == {"loss", "accuracy"}


def test_fit_resume_from_restores_callbacks_metrics_and_history(tmp_path, reference):
    folder = str(tmp_path / "ckpt")
    first_logs = EpochLogs()

    class SaveAt(cb.Callback):  # a user's own checkpointing, mid-epoch 1
        def on_train_batch_end(self, batch, logs=None):
            if self.model.history.epoch == [0] and batch == 0:
                monitors = [c for c in self.model._active_callbacks if c is not self]
                checkpoint.save_checkpoint(
                    self.model, folder, 1, 1, checkpoint.collect_callback_states(monitors),
                    history=checkpoint.history_records(self.model.history))
                raise Crash("after the checkpoint")

    with pytest.raises(Crash):
        _fit(_model(), _monitors() + [first_logs, SaveAt()])
    resumed_logs = EpochLogs()
    model = _model()
    history = _fit(model, _monitors() + [resumed_logs], resume_from=folder)
    _assert_like_reference(model, history, {**first_logs.logs, **resumed_logs.logs}, reference)


def test_epoch_backups_are_written_after_every_callback_saw_the_epoch(tmp_path):
    # ReduceLROnPlateau listed after BackupAndRestore lowers the rate at the end of epoch 1
    # (epoch 0 sets its best; min_delta=10 is out of reach after that). The backup of epoch 1
    # has the lowered rate, the History of epochs 0-1 and the plateau state that counted them.
    backup = str(tmp_path / "backup")
    plateau = cb.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    with pytest.raises(Crash):
        _fit(_model(), [cb.BackupAndRestore(backup), plateau, CrashAt(7)])  # epoch 2, batch 0
    folder = checkpoint.latest_checkpoint(backup)
    with open(os.path.join(folder, "state.json")) as f:
        meta = json.load(f)
    assert (meta["epoch"], meta["step"], meta["has_metrics"]) == (2, 0, False)
    assert meta["callbacks"]["ReduceLROnPlateau:0"]["best"] is not None
    assert meta["history"]["epoch"] == [0, 1] and len(meta["history"]["history"]["loss"]) == 2
    # Logged before the reduction, as in Keras.
    assert meta["history"]["history"]["learning_rate"] == pytest.approx([0.02, 0.02])
    fresh = _model()
    checkpoint.load_checkpoint(fresh, backup)
    assert fresh.get_learning_rate() == pytest.approx(0.01)


def test_resuming_with_other_metrics_names_the_mismatch(tmp_path):
    backup = str(tmp_path / "backup")
    with pytest.raises(Crash):
        _fit(_model(), [cb.BackupAndRestore(backup, save_freq=1), CrashAt(2)])
    with pytest.raises(ValueError, match="does not match this model's metrics"):
        checkpoint.load_checkpoint(_model(metrics=()), backup)
