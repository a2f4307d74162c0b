"""LearningRateScheduler: set the learning rate at the start of every epoch from a function."""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from thawnet.callbacks.base import Callback, print_msg
from thawnet.backend.types import Logs


def _takes_two_arguments(fn):
    try:
        inspect.signature(fn).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:  # no signature available (some builtins): try the two-argument form
        return True
    return True


class LearningRateScheduler(Callback):
    """At the start of each epoch, set the learning rate to ``schedule(epoch, lr)``.

    Args:
        schedule: ``schedule(epoch, lr) -> new_lr`` with ``epoch`` 0-based and ``lr`` the current
            rate (a one-argument ``schedule(epoch)`` is also accepted). Must return a float.
        verbose: 1 prints the rate set at each epoch.

    The rate is also written to the epoch logs as "learning_rate". It is set through
    ``model.set_learning_rate``, the same path as ``model.optimizer.learning_rate = lr``: the
    value in the optimizer state changes, and the next step uses it without recompiling.
    """

    def __init__(self, schedule: Callable[[int], float], verbose: int | str = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        lr = float(self.model.get_learning_rate())
        if _takes_two_arguments(self.schedule):
            lr = self.schedule(epoch, lr)
        else:
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        self.model.set_learning_rate(float(lr))
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                      f"{lr}.")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.get_learning_rate())
