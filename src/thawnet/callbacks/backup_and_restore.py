"""BackupAndRestore: survive a crash and continue training exactly where it stopped."""

from __future__ import annotations

import os
import shutil

from thawnet.callbacks.base import Callback
from thawnet.callbacks.history import History
from thawnet.training import checkpoint as checkpoint_lib


class BackupAndRestore(Callback):
    """Back up the whole training state regularly; a new ``fit`` with the same callback resumes.

    The backup (see :mod:`thawnet.training.checkpoint`) holds the weights, the optimizer state,
    the training RNG, the epoch and batch to continue from, the metric accumulators of the
    running epoch, the History of the epochs before, and the state of the other callbacks
    (EarlyStopping's best value and wait, ReduceLROnPlateau's, ModelCheckpoint's best).
    Resumed with the same seed and data, the resumed epoch's logs are the uninterrupted run's
    (its "loss" averages all of the epoch's batches), so callbacks monitoring training metrics
    decide the same, the History is the uninterrupted one, and the final weights are
    bit-identical. Writes are atomic: killing the process at any moment, even during a backup,
    leaves the last complete backup in place.

    An epoch's backup is written when the next epoch begins (or when training ends, with
    ``delete_checkpoint=False``), after every callback has seen that epoch's end: callbacks
    listed after this one (a ReduceLROnPlateau that lowers the rate, an EarlyStopping that
    counts) are then saved with that epoch counted.

    Args:
        backup_dir: folder of the backups.
        save_freq: ``"epoch"`` or a number of batches.
        delete_checkpoint: remove the backups when training ends normally (Keras's default).
        keep: number of backups kept.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, keep=2):
        super().__init__()
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' or a positive number "
                             f"of batches; received save_freq={save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint, self.keep = save_freq, delete_checkpoint, keep
        self._epoch = 0
        self._batches_seen = 0
        self._pending_epoch = None  # an epoch boundary not backed up yet

    @property
    def needs_batch_logs(self):
        return self.save_freq != "epoch"

    def _callbacks(self):
        return getattr(self.model, "_active_callbacks", [])

    def _save(self, epoch, step):
        callbacks = self._callbacks()
        history = next((cb for cb in callbacks if isinstance(cb, History)), None)
        records = None if history is None else checkpoint_lib.history_records(history)
        checkpoint_lib.save_checkpoint(
            self.model, self.backup_dir, epoch, step,
            checkpoint_lib.collect_callback_states(callbacks), keep=self.keep, history=records)

    def on_train_begin(self, logs=None):
        self._batches_seen = 0
        self._pending_epoch = None
        if checkpoint_lib.latest_checkpoint(self.backup_dir) is None:
            return
        # The trainer continues from this point, with the running epoch's metrics, and puts
        # the recorded History back once every callback has begun.
        self.model._resume_point = checkpoint_lib.resume_training(
            self.model, self.backup_dir, self._callbacks())

    def on_epoch_begin(self, epoch, logs=None):
        if self._pending_epoch == epoch:
            self._save(epoch, 0)
        self._pending_epoch = None
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch" and not self.model.stop_training:
            self._pending_epoch = epoch + 1

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            if os.path.isdir(self.backup_dir):
                shutil.rmtree(self.backup_dir, ignore_errors=True)
        elif self._pending_epoch is not None:
            self._save(self._pending_epoch, 0)
        self._pending_epoch = None
