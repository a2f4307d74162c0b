"""How a training step on the CPU backend receives its batch, chosen by timing both ways.

On the CPU backend ``fit`` hands each step its rows from the NumPy arrays (no copy of the
whole data set per call). The rows can reach the compiled step in two ways: as NumPy
arguments, which the jitted call converts itself, or put first with ``jax.device_put``.
Neither is faster everywhere. Measured on a 2-core machine (2026-12-02, `bench/bench_train.py`
models, the same compiled step):

* MLP 784-512-512-10, batch 128: NumPy arguments 2.25 ms a step, ``device_put`` 2.42 ms;
* MLP 784-128-128-10, batch 32: NumPy arguments 0.35 ms a step, ``device_put`` 0.30 ms.

The same program gets the same values either way, so the choice changes the speed only,
never a result: ``fit`` times a few steps of each way in its first long-enough epoch and keeps
the faster one for the rest of that model's training at this batch size.
"""

from __future__ import annotations

import time
from typing import Any

import jax

# The warm-up calls before timing (compiles and first-touch costs), and the calls timed each
# way. An epoch shorter than the probe keeps the default way.
WARMUP_CALLS = 10
PROBE_CALLS = 16
DEFAULT_MODE = "device_put"
MODES = ("device_put", "numpy")


class HostTransfer:
    """The chosen way (``mode``) and, until it is chosen, the probe's progress."""

    def __init__(self) -> None:
        self.mode: str = DEFAULT_MODE
        self.chosen = False
        self.seconds: dict[str, float] = {}
        self._calls = 0
        self._started: float | None = None
        self._waiting = False  # this epoch is too short to time: wait for the next

    def prepare(self, rows: Any) -> Any:
        """``rows`` (a tree of NumPy arrays) as the next call will receive them."""
        mode = self._probing_mode() or self.mode
        return jax.device_put(rows) if mode == "device_put" else rows

    def _probing_mode(self) -> str | None:
        if self.chosen or self._waiting:
            return None
        index = (self._calls - WARMUP_CALLS) // PROBE_CALLS
        return MODES[index] if 0 <= index < len(MODES) else None

    def after_call(self, result: Any, calls_left: int) -> None:
        """Account one call whose output is ``result``; ``calls_left`` in this epoch."""
        if self.chosen or self._waiting:
            return
        self._calls += 1
        offset = self._calls - WARMUP_CALLS
        if offset < 0 or offset % PROBE_CALLS:
            return
        if offset == 0 and calls_left < len(MODES) * PROBE_CALLS:
            self._waiting = True  # too short to time: try again in the next epoch
            return
        jax.block_until_ready(result)
        now = time.perf_counter()
        if self._started is not None:
            self.seconds[MODES[offset // PROBE_CALLS - 1]] = now - self._started
        self._started = now
        if len(self.seconds) == len(MODES):
            self.mode = min(MODES, key=self.seconds.__getitem__)
            self.chosen = True

    def restart_epoch(self) -> None:
        """A new epoch: an unfinished probe starts over (its timing spanned an epoch end)."""
        if not self.chosen:
            self._calls, self._started, self._waiting = 0, None, False
            self.seconds.clear()
