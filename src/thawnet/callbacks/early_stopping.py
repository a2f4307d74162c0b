"""EarlyStopping: stop training when a monitored quantity stops improving (Keras 3 semantics)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from thawnet.callbacks.base import print_msg
from thawnet.callbacks.monitor import MonitorCallback
from thawnet.backend.types import Config, Logs, PyTree


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has stopped improving.

    At each epoch end the monitored value is compared to the best seen so far. After
    ``patience`` epochs without an improvement of more than ``min_delta``, the callback sets
    ``model.stop_training``. Epochs before ``start_from_epoch`` are ignored.

    Args:
        monitor: logs key to watch (default "val_loss").
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a line when stopping and when restoring weights.
        mode: "auto", "min" or "max".
        baseline: training stops if the model does not beat this value within ``patience``
            epochs (the wait counter is only reset by values that beat both the baseline and the
            best so far).
        restore_best_weights: at the end of training (stopped early or not) put back the
            weights of the best epoch. When no epoch beat the previous best the weights of the
            first monitored epoch are used, as in Keras.
        start_from_epoch: number of warm-up epochs not monitored.

    State (attributes, also returned by :meth:`get_state`): ``wait``, ``best``,
    ``stopped_epoch``, ``best_weights``, ``best_epoch``. ``on_train_begin`` resets them, except
    right after :meth:`set_state` (so a resumed ``fit`` continues where the checkpoint left off).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int | str = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch
        self._state_restored = False

    def get_state(self) -> Config:
        weights = None
        if self.best_weights is not None:
            weights = [np.array(w, copy=True) for w in self.best_weights]
        return {"wait": self.wait, "best": self.best, "stopped_epoch": self.stopped_epoch,
                "best_weights": weights, "best_epoch": self.best_epoch}

    def set_state(self, state: PyTree) -> None:
        self.wait = int(state["wait"])
        self.best = None if state["best"] is None else float(state["best"])
        self.stopped_epoch = int(state["stopped_epoch"])
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else [np.asarray(w) for w in weights]
        self.best_epoch = int(state["best_epoch"])
        self._state_restored = True

    def on_train_begin(self, logs: Logs = None) -> None:
        if self._state_restored:  # resuming: keep the restored state for this run
            self._state_restored = False
            return
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._ensure_direction()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing better seen yet: the current weights are the best so far.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch

        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Only restart the wait when beating both the baseline and the previous best.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return

        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg("Restoring model weights from the end of the best epoch: "
                          f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: Logs) -> Any:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}",
                          stacklevel=2)
        return value
