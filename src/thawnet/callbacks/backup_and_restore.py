"""BackupAndRestore: survive a crash and continue training exactly where it stopped."""

from __future__ import annotations

import os
import shutil

from thawnet.callbacks.base import Callback


class BackupAndRestore(Callback):
    """Back up the whole training state regularly; a new ``fit`` with the same callback resumes.

    The backup (see :mod:`thawnet.training.checkpoint`) holds the weights, the optimizer state,
    the training RNG, the epoch and batch to continue from, and the state of the other
    callbacks (EarlyStopping's best value and wait, ReduceLROnPlateau's, ModelCheckpoint's best).
    Resumed with the same seed and data, the final weights are bit-identical to an
    uninterrupted run. Writes are atomic: killing the process at any moment, even during a
    backup, leaves the last complete backup in place.

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

    @property
    def needs_batch_logs(self):
        return self.save_freq != "epoch"

    def _others(self):
        callbacks = getattr(self.model, "_active_callbacks", [])
        return {f"{i}:{type(cb).__name__}": cb for i, cb in enumerate(callbacks)
                if cb is not self and type(cb).get_state is not Callback.get_state}

    def _save(self, epoch, step):
        from thawnet.training.checkpoint import save_checkpoint
        states = {name: cb.get_state() for name, cb in self._others().items()}
        save_checkpoint(self.model, self.backup_dir, epoch, step, states, keep=self.keep)

    def on_train_begin(self, logs=None):
        from thawnet.training.checkpoint import latest_checkpoint, load_checkpoint
        if latest_checkpoint(self.backup_dir) is None:
            return
        epoch, step, states = load_checkpoint(self.model, self.backup_dir)
        others = self._others()
        for name, state in states.items():
            if name in others:
                others[name].set_state(state)
        self.model._resume_point = (epoch, step)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch" and not self.model.stop_training:
            self._save(epoch + 1, 0)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir, ignore_errors=True)
