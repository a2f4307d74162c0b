"""BackupAndRestore: survive a crash and continue training exactly where it stopped."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from typing import Any

from thawnet.backend.types import Logs
from thawnet.callbacks.base import Callback
from thawnet.callbacks.history import History
from thawnet.io.atomic import atomic_write, atomic_write_bytes
from thawnet.io import training_checkpoint as checkpoint_lib

# Keras 3's own backup files, written next to thawnet's checkpoints (see the class docstring).
KERAS_WEIGHTS = "latest.weights.h5"
KERAS_METADATA = "training_metadata.json"
PREVIOUS = ".bkp"


class BackupAndRestore(Callback):
    """Back up the whole training state regularly; a new ``fit`` with the same callback resumes.

    The backup (see :mod:`thawnet.io.training_checkpoint`) holds the weights, the optimizer state,
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

    The folder also holds Keras 3's backup files, written when Keras writes them (at each
    epoch end, or every ``save_freq`` batches): ``latest.weights.h5`` (the weights, Keras 3's
    layout) and ``training_metadata.json`` (``{"epoch": ..., "batch": ...}``), plus their
    previous versions ``*.bkp`` with ``double_checkpoint=True``. So Keras 3's
    ``BackupAndRestore`` can resume from a thawnet backup folder, and thawnet from a Keras 3
    one: without a thawnet checkpoint there, ``fit`` loads ``latest.weights.h5`` (its
    ``.bkp`` when it cannot be read) and continues at the recorded epoch, as Keras does
    (weights only: the optimizer starts afresh).

    Args:
        backup_dir: folder of the backups (not empty).
        save_freq: ``"epoch"`` or a number of batches.
        double_checkpoint: also keep the previous Keras backup files (``*.bkp``), to fall
            back to when the latest cannot be read.
        delete_checkpoint: remove the backups when training ends normally (Keras's default).
        keep: number of thawnet checkpoints kept.
    """

    def __init__(self, backup_dir: Any, save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True, keep: int = 2
            ) -> None:
        super().__init__()
        if backup_dir is None or os.fspath(backup_dir) == "":
            raise ValueError("BackupAndRestore: empty backup_dir argument passed (received "
                             f"{backup_dir!r}); pass the folder to keep the backups in, e.g. "
                             "BackupAndRestore(backup_dir='/tmp/backup').")
        if save_freq != "epoch" and (not isinstance(save_freq, int)
                                     or isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(f"BackupAndRestore: invalid value for save_freq: {save_freq!r}; "
                             "expected 'epoch' or a positive number of batches.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint, self.keep = save_freq, delete_checkpoint, keep
        self.double_checkpoint = bool(double_checkpoint)
        self._weights_path = os.path.join(self.backup_dir, KERAS_WEIGHTS)
        self._training_metadata_path = os.path.join(self.backup_dir, KERAS_METADATA)
        self._prev_weights_path = self._weights_path + PREVIOUS
        self._prev_training_metadata_path = self._training_metadata_path + PREVIOUS
        self._current_epoch = 0      # Keras's: the epoch count after the last epoch end
        self._last_batch_seen = 0    # Keras's: the index of the last batch seen
        self._batches_seen = 0
        self._pending_epoch = None  # an epoch boundary not backed up yet

    @property
    def needs_batch_logs(self) -> bool:
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

    def _save_keras_files(self, epoch, batch):
        """Keras 3's backup: the weights and ``{"epoch", "batch"}``, each written atomically
        (the previous pair first copied to ``*.bkp`` with ``double_checkpoint``)."""
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path in (self._weights_path, self._training_metadata_path):
                if os.path.isfile(path):
                    with open(path, "rb") as src:
                        atomic_write(path + PREVIOUS, lambda dst, s=src: shutil.copyfileobj(s, dst))
        self.model.save_weights(self._weights_path)
        metadata = {"epoch": int(epoch), "batch": int(batch)}
        atomic_write_bytes(self._training_metadata_path, json.dumps(metadata).encode())

    def _restore_keras_files(self):
        """Resume from Keras 3's backup files alone: weights, then the epoch to start at."""
        if not os.path.isfile(self._weights_path):
            return
        try:
            self.model.load_weights(self._weights_path)
            metadata_path = self._training_metadata_path
        except (OSError, ValueError) as err:  # unreadable: fall back to the previous backup
            if not os.path.isfile(self._prev_weights_path):
                raise
            warnings.warn(f"BackupAndRestore: {self._weights_path!r} could not be read "
                          f"({type(err).__name__}: {err}); resuming from the previous backup "
                          f"{self._prev_weights_path!r}.", stacklevel=3)
            # As Keras: the previous pair becomes the latest (a .bkp name has no format).
            for path in (self._weights_path, self._training_metadata_path):
                if os.path.isfile(path + PREVIOUS):
                    with open(path + PREVIOUS, "rb") as src:
                        atomic_write(path, lambda dst, s=src: shutil.copyfileobj(s, dst))
            self.model.load_weights(self._weights_path)
            metadata_path = self._training_metadata_path
        epoch = 0
        if os.path.isfile(metadata_path):
            with open(metadata_path) as f:
                epoch = int(json.load(f).get("epoch", 0))
        self.model._resume_point = checkpoint_lib.Checkpoint(epoch, 0, {}, None, None)

    def on_train_begin(self, logs: Logs = None) -> None:
        self._batches_seen = 0
        self._pending_epoch = None
        if checkpoint_lib.latest_checkpoint(self.backup_dir) is None:
            self._restore_keras_files()
            return
        # The trainer continues from this point, with the running epoch's metrics, and puts
        # the recorded History back once every callback has begun.
        self.model._resume_point = checkpoint_lib.resume_training(
            self.model, self.backup_dir, self._callbacks())

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        if self._pending_epoch == epoch:
            self._save(epoch, 0)
        self._pending_epoch = None
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if self.save_freq == "epoch":
            return
        self._last_batch_seen = batch
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._current_epoch, batch + 1)
            self._save_keras_files(self._current_epoch, batch)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_keras_files(epoch + 1, 0)
            if not self.model.stop_training:
                self._pending_epoch = epoch + 1

    def on_train_end(self, logs: Logs = None) -> None:
        if self.delete_checkpoint:
            if os.path.isdir(self.backup_dir):
                shutil.rmtree(self.backup_dir, ignore_errors=True)
        elif self._pending_epoch is not None:
            self._save(self._pending_epoch, 0)
        self._pending_epoch = None
