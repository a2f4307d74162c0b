"""ProgbarLogger: prints "Epoch i/n" and a progress bar per epoch (added by fit when verbose)."""

from __future__ import annotations

import sys
from typing import Any

from thawnet.backend.types import Logs, PyTree
from thawnet.callbacks.base import Callback
from thawnet.utils.progbar import Progbar, is_dynamic_stream


class ProgbarLogger(Callback):
    """Print training progress as Keras 3 does.

    verbose (from ``params``): 0 prints nothing; 1 prints "Epoch i/n" (when n > 1) and a bar
    refreshed in place on a terminal, or just the finished line of each epoch when the output is
    not a terminal; 2 prints one line per epoch. Inside ``fit``, validation is silent; on its
    own, ``evaluate``/``predict`` get their own bar.

    Args:
        stream: where to print (default ``sys.stdout`` at each print), e.g. an ``io.StringIO``.
        dynamic: force (True) or forbid (False) the in-place terminal bar; default: whether
            the stream is a terminal.
        interval: minimum seconds between two refreshes of the terminal bar.

    Batch logs are only needed for the live terminal bar (verbose=1 on a terminal), so
    ``needs_batch_logs`` is false otherwise and the trainer can skip the per-step sync.
    """

    def __init__(self, stream: Any = None, dynamic: Any = None, interval: float = 0.05) -> None:
        super().__init__()
        self._stream = stream
        self._dynamic = dynamic
        self.interval = interval
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    @property
    def stream(self) -> Any:
        return self._stream if self._stream is not None else sys.stdout

    @property
    def dynamic(self) -> Any:
        if self._dynamic is not None:
            return bool(self._dynamic)
        return is_dynamic_stream(self.stream)

    @property
    def needs_batch_logs(self) -> bool:
        return self.verbose == 1 and self.dynamic

    def set_params(self, params: PyTree) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    # -- hooks --------------------------------------------------------------------------------
    def on_train_begin(self, logs: Logs = None) -> None:
        self._called_in_fit = True  # validation inside fit is silent

    def on_train_end(self, logs: Logs = None) -> None:
        self._called_in_fit = False

    def on_test_begin(self, logs: Logs = None) -> None:
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            stream = self.stream
            stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            stream.flush()

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._update_progbar(batch, None)  # predictions are not shown

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._finalize_progbar(logs)

    def on_test_end(self, logs: Logs = None) -> None:
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._finalize_progbar(None)

    # -- internals ----------------------------------------------------------------------------
    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self):
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose,
                                   interval=self.interval, unit_name="step",
                                   stream=self._stream, dynamic=self.dynamic)

    def _update_progbar(self, batch, logs):
        self.seen = batch + 1
        if self.verbose == 1:
            self._maybe_init_progbar()
            if self.progbar.dynamic:
                self.progbar.update(self.seen, logs or None, finalize=False)
            elif self.seen == 1:
                self.progbar.mark(1)  # the time per step leaves the first (compiling) step out

    def _finalize_progbar(self, logs):
        if not self.verbose:
            return
        self._maybe_init_progbar()
        if self.target is None and self.seen:
            self.target = self.seen
            self.progbar.target = self.target
        current = self.target if self.target is not None else self.seen
        self.progbar.update(current, logs or None, finalize=True)
