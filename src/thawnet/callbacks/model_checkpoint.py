"""ModelCheckpoint: save the model or its weights during training."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from thawnet.callbacks.base import print_msg
from thawnet.callbacks.monitor import MonitorCallback
from thawnet.backend.types import Config, Logs, PathLike, PyTree

# What model.save / model.save_weights write (see thawnet.models.model_files).
MODEL_SUFFIXES = (".keras", ".thawnet")
WEIGHT_SUFFIXES = (".weights.h5", ".safetensors")


class ModelCheckpoint(MonitorCallback):
    """Save the model (``model.save``) or its weights (``model.save_weights``) as training goes.

    ``filepath`` may hold ``str.format`` fields filled from ``epoch`` (1-based), ``batch``
    (1-based, when saving every ``save_freq`` batches) and the logs, e.g.
    ``"ckpt/w.{epoch:02d}-{val_loss:.2f}.weights.h5"``. Missing directories are created.

    Args:
        filepath: path (template) ending in ".keras" (Keras 3 archive) or ".thawnet" for
            whole models (compile state and optimizer included, so a checkpoint resumes
            ``fit``), or with ``save_weights_only=True`` in ".weights.h5" (Keras 3 layout)
            or ".safetensors".
        monitor: logs key compared for ``save_best_only``.
        verbose: 1 prints a line at each save decision.
        save_best_only: only save when ``monitor`` improved on the best so far.
        save_weights_only: save the weights only.
        mode: "auto", "min" or "max".
        save_freq: "epoch" (save at each epoch end) or an int (save every that many batches;
            the batch logs are then the running means of the epoch so far).
        initial_value_threshold: initial ``best``; with ``save_best_only`` nothing is saved
            until the monitored value beats it.
        keep: keep only the last ``keep`` files written (None: keep all).

    State (:meth:`get_state`): ``best`` and the batch counters, for checkpoint resume.
    """

    def __init__(self, filepath: PathLike, monitor: str = "val_loss", verbose: int | str = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: Any = None,
                 keep: Any = None) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if self.save_freq != "epoch" and not (isinstance(self.save_freq, int)
                                               and not isinstance(self.save_freq, bool)):
            raise ValueError(f"Unrecognized save_freq: {self.save_freq}. Expected save_freq are "
                             "'epoch' or integer values")
        if keep is not None and (not isinstance(keep, int) or keep < 1):
            raise ValueError(f"ModelCheckpoint: keep must be a positive number of files or None "
                             f"(keep all); received keep={keep!r}.")
        self.keep = keep
        self._written = []
        if save_weights_only:
            if not self.filepath.endswith(WEIGHT_SUFFIXES):
                raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                                 "filepath must end in `.weights.h5` (Keras 3 weights) or "
                                 "`.safetensors` (thawnet weights), e.g. "
                                 "'ckpt/w.{epoch:02d}.weights.h5'. Received: "
                                 f"filepath={self.filepath}")
        elif not self.filepath.endswith(MODEL_SUFFIXES):
            raise ValueError("The filepath given to `ModelCheckpoint` must end in `.keras` (a "
                             "Keras 3 archive) or `.thawnet` (thawnet's model file), e.g. "
                             "'ckpt/model.{epoch:02d}.keras'; or use save_weights_only=True "
                             "with `.weights.h5` / `.safetensors`. Received: "
                             f"filepath={self.filepath}")

    @property
    def needs_batch_logs(self) -> bool:
        return self.save_freq != "epoch"

    def get_state(self) -> Config:
        return {"best": self.best,
                "batches_seen_since_last_saving": self._batches_seen_since_last_saving,
                "last_batch_seen": self._last_batch_seen}

    def set_state(self, state: PyTree) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self._batches_seen_since_last_saving = int(state.get("batches_seen_since_last_saving", 0))
        self._last_batch_seen = state.get("last_batch_seen")

    # -- hooks --------------------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._ensure_direction()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    # -- internals ----------------------------------------------------------------------------
    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch started; batches are 0-based
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=2)
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. Received: "
                          f"{current}. Falling back to `save_best_only=False`.", stacklevel=2)
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                          f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. Filepath "
                          f"used is an existing directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        method = "save_weights" if self.save_weights_only else "save"
        getattr(self.model, method)(filepath)  # atomic: a crash keeps the previous file
        if filepath in self._written:
            self._written.remove(filepath)
        self._written.append(filepath)
        if self.keep is not None:
            while len(self._written) > self.keep:
                old = self._written.pop(0)
                if os.path.isfile(old):
                    os.remove(old)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as err:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {err}") from err
