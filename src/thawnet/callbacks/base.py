"""Callback: the hooks a trainer calls (:mod:`thawnet.callbacks.callback_list` fans them out).

The hooks and their order are Keras 3's. A trainer drives a :class:`CallbackList`::

    callbacks = CallbackList(user_callbacks, add_history=True, add_progbar=True,
                             model=model, verbose=1, epochs=epochs, steps=steps)
    callbacks.on_train_begin()
    for epoch in range(epochs):
        callbacks.on_epoch_begin(epoch)
        for step in range(steps):
            callbacks.on_train_batch_begin(step)
            ...  # one optimizer step
            callbacks.on_train_batch_end(step, batch_logs)
            if model.stop_training: break
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training: break
    callbacks.on_train_end(final_logs)

Per-batch logs cost a device sync, so a trainer only computes them when
``callbacks.needs_batch_logs`` is true; otherwise it passes ``None`` (seen by callbacks as ``{}``).
"""

from __future__ import annotations

from typing import Any

from thawnet.backend.types import Config, Logs, PyTree
from thawnet.utils import io_utils

BATCH_HOOKS = (
    "on_batch_begin", "on_batch_end",
    "on_train_batch_begin", "on_train_batch_end",
    "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)


def print_msg(message, line_break=True):
    """Write ``message`` to the current ``sys.stdout`` and flush (the callbacks' verbose
    output); to the ``"thawnet"`` logger after ``thawnet.utils.disable_interactive_logging()``."""
    io_utils.print_msg(message, line_break)


def _pythonify(value):
    if type(value) in (float, int, str, bool):
        return value
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return value.item()  # numpy / jax scalars become Python numbers
    return value


def _pythonify_logs(logs):
    """A fresh dict (callbacks may add keys) with array scalars turned into Python numbers."""
    if not logs:
        return {}
    return {key: _pythonify(value) for key, value in logs.items()}


class Callback:
    """Base class of callbacks: override the hooks you need; all of them do nothing by default.

    Attributes:
        model: the model being trained (set by :meth:`set_model`). Callbacks may use its
            ``stop_training`` attribute, ``get_weights()``/``set_weights()``,
            ``optimizer.learning_rate`` (read, ``= x`` or ``.assign(x)``: the next step uses
            it, without recompiling; also ``get_learning_rate()``/``set_learning_rate()``),
            ``save()``/``save_weights()`` and ``name``.
        params: ``{"epochs": ..., "steps": ..., "verbose": ...}`` (set by :meth:`set_params`).
        needs_batch_logs: whether this callback reads batch-level logs. By default it is true
            exactly when the callback overrides a batch hook (``on_train_batch_end``,
            ``on_test_batch_begin``, ``on_batch_end``, ...). A trainer computes per-batch logs (a
            device sync per step) only when some callback needs them. Subclasses may override
            it with a class attribute or a property.
    """

    def __init__(self) -> None:
        self.params = None
        self._model = None

    def set_params(self, params: PyTree) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        self._model = model

    @property
    def needs_batch_logs(self) -> bool:
        own = self.__dict__
        cls = type(self)
        for name in BATCH_HOOKS:
            if name in own or getattr(cls, name) is not getattr(Callback, name):
                return True
        return False

    # -- state for checkpoint resume ----------------------------------------------------------
    def get_state(self) -> Config:
        """This callback's resumable state, as a dict (empty for stateless callbacks)."""
        return {}

    def set_state(self, state: PyTree) -> None:
        """Restore what :meth:`get_state` returned."""
        if state:
            raise ValueError(f"{type(self).__name__} has no state to restore; got keys "
                             f"{sorted(state)}.")

    # -- hooks --------------------------------------------------------------------------------
    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Alias of :meth:`on_train_batch_begin` kept for Keras 2 style callbacks."""

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Alias of :meth:`on_train_batch_end` kept for Keras 2 style callbacks."""

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        """Called at the start of epoch ``epoch`` (0-based) during training."""

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        """Called at the end of an epoch with the epoch's logs (training and ``val_`` metrics)."""

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before training step ``batch`` (0-based within the epoch)."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after a training step with the running-mean logs of the epoch so far."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before an evaluation step (in ``evaluate`` and in ``fit``'s validation)."""

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after an evaluation step with the running-mean logs so far."""

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Called before a prediction step."""

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Called after a prediction step."""

    def on_train_begin(self, logs: Logs = None) -> None:
        """Called at the start of training."""

    def on_train_end(self, logs: Logs = None) -> None:
        """Called at the end of training (also after an early stop)."""

    def on_test_begin(self, logs: Logs = None) -> None:
        """Called at the start of an evaluation."""

    def on_test_end(self, logs: Logs = None) -> None:
        """Called at the end of an evaluation with its final logs."""

    def on_predict_begin(self, logs: Logs = None) -> None:
        """Called at the start of a prediction."""

    def on_predict_end(self, logs: Logs = None) -> None:
        """Called at the end of a prediction."""
