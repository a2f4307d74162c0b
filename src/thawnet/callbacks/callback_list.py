"""CallbackList: fans each hook out to many callbacks, and adds History / ProgbarLogger.

It sits above :mod:`thawnet.callbacks.base` and the default callbacks it adds, so those import
only the base class (the trainer imports this list).
"""

from __future__ import annotations

from typing import Any

from thawnet.backend.types import Logs, PyTree
from thawnet.callbacks.base import Callback, _pythonify_logs
from thawnet.callbacks.history import History
from thawnet.callbacks.progbar_logger import ProgbarLogger


def _flatten(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        out = []
        for item in callbacks:
            out.extend(_flatten(item))
        return out
    if not isinstance(callbacks, Callback):
        cls = type(callbacks)
        hint = ""
        if cls.__module__.startswith("keras"):
            hint = f" Use thawnet.callbacks.{cls.__name__} instead of the Keras class."
        raise TypeError("callbacks must be thawnet.callbacks.Callback instances; got "
                        f"{cls.__module__}.{cls.__qualname__}.{hint}")
    return [callbacks]


class CallbackList(Callback):
    """Calls every hook on each callback in turn, in list order.

    Args:
        callbacks: a Callback, a list of them (nested lists are flattened) or None.
        add_history: append a :class:`~thawnet.callbacks.History` unless the list has one.
        add_progbar: append a :class:`~thawnet.callbacks.ProgbarLogger` unless the list has one
            (it prints nothing when ``verbose`` is 0).
        model: the model, given to every callback's ``set_model`` (also sets ``model.history``).
        verbose: 0 = silent, 1 = progress bar, 2 = one line per epoch ("auto" means 1).
        epochs: number of epochs, for ``params`` and the "Epoch i/n" lines.
        steps: steps per epoch, or None if unknown.

    Every hook receives one fresh logs dict shared by all callbacks of that call, so a key a
    callback adds (``ReduceLROnPlateau``'s "learning_rate") is seen by the ones after it
    (``History`` and ``ProgbarLogger`` are added last, as in Keras).
    """

    def __init__(self, callbacks: list | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, verbose: int | str = 1,
                 epochs: int = 1, steps: int | None = None) -> None:
        super().__init__()
        self.callbacks = _flatten(callbacks)
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})

    def _add_default_callbacks(self, add_history, add_progbar):
        self._history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    @property
    def history(self) -> Any:
        """The History callback of this list (None if there is none)."""
        return self._history

    @property
    def progbar(self) -> Any:
        """The ProgbarLogger of this list (None if there is none)."""
        return self._progbar

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def set_params(self, params: PyTree) -> None:
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            try:
                model.history = self._history
            except AttributeError:
                pass
        for callback in self.callbacks:
            callback.set_model(model)

    @property
    def needs_batch_logs(self) -> bool:
        return any(callback.needs_batch_logs for callback in self.callbacks)

    # -- fan-out ------------------------------------------------------------------------------
    def _call_batch_hook(self, name, batch, logs):
        logs = _pythonify_logs(logs)
        for callback in self.callbacks:
            getattr(callback, name)(batch, logs)

    def _call_hook(self, name, logs):
        logs = _pythonify_logs(logs)
        for callback in self.callbacks:
            getattr(callback, name)(logs)

    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_batch_begin", batch, logs)

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_batch_end", batch, logs)

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call_batch_hook("on_predict_batch_end", batch, logs)

    def on_train_begin(self, logs: Logs = None) -> None:
        self._call_hook("on_train_begin", logs)

    def on_train_end(self, logs: Logs = None) -> None:
        self._call_hook("on_train_end", logs)

    def on_test_begin(self, logs: Logs = None) -> None:
        self._call_hook("on_test_begin", logs)

    def on_test_end(self, logs: Logs = None) -> None:
        self._call_hook("on_test_end", logs)

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._call_hook("on_predict_begin", logs)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._call_hook("on_predict_end", logs)
