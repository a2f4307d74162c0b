"""ReduceLROnPlateau: lower the learning rate when a monitored quantity stops improving."""

from __future__ import annotations

import warnings

import numpy as np

from thawnet.callbacks.base import print_msg
from thawnet.callbacks.monitor import MonitorCallback
from thawnet.backend.types import Config, Logs, PyTree


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement.

    Keras 3 semantics: at each epoch end the current learning rate is added to the logs as
    "learning_rate" (so History and the progress bar show it); the rate is never lowered below
    ``min_lr``; after a reduction, ``cooldown`` epochs pass before counting patience again.
    The new rate reaches the model through ``model.set_learning_rate`` (the same path as
    ``model.optimizer.learning_rate = lr``: the optimizer state) and takes effect at the next
    step, without recompiling.

    Args:
        monitor: logs key to watch (default "val_loss").
        factor: multiplier of the learning rate, < 1.
        patience: epochs without improvement before reducing.
        verbose: 1 prints a line at each reduction.
        mode: "auto", "min" or "max".
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before resuming normal operation.
        min_lr: lower bound on the learning rate.

    State (:meth:`get_state`): ``best``, ``wait``, ``cooldown_counter``.
    """

    def __init__(self, monitor: str = "val_loss", factor: float | tuple[float, float] = 0.1,
                 patience: int = 10, verbose: int | str = 0, mode: str = "auto",
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self._state_restored = False

    def get_state(self) -> Config:
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state: PyTree) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self._state_restored = True

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: Logs = None) -> None:
        if self._state_restored:
            self._state_restored = False
            return
        self._reset()

    def _reduce_lr(self, epoch):
        old_lr = float(self.model.get_learning_rate())
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            self.model.set_learning_rate(new_lr)
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{new_lr}.")
            return True
        return False

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._ensure_direction()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.get_learning_rate())
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          "which is not available. Available metrics are: "
                          f"{','.join(list(logs.keys()))}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0
