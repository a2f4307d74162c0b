"""Progbar: renders training progress the way Keras 3 prints it.

verbose=1 on a terminal, one line rewritten in place with ``\\r`` (at most every ``interval``
seconds, and always at the end)::

    12/32 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - accuracy: 0.5123 - loss: 0.6931

(the count in bold, the done part of the bar green, the rest white; an ETA while running, the
total time once finished). When the stream is not a terminal (a log file, CI) verbose=1 writes
only the finished line, once per epoch, without colours. verbose=2 writes one line at the end::

    32/32 - 1s - 3ms/step - accuracy: 0.9000 - loss: 0.3000

Values are shown as given (a trainer passes running means); ``|v| > 1e-3`` prints as ``%.4f``,
smaller values as ``%.4e``.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Sequence, TextIO

import numpy as np

from thawnet.backend.types import TensorLike

_BOLD = "\x1b[1m"
_GREEN = "\x1b[32m"
_WHITE = "\x1b[37m"
_RESET = "\x1b[0m"
_BAR_CHAR = "\u2501"  # ━


def is_dynamic_stream(stream):
    """Whether ``stream`` can show a line rewritten in place: a terminal, or a notebook's stdout."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return stream is sys.stdout and "ipykernel" in sys.modules


def format_value(value):
    """A metric value as Keras prints it: ``%.4f``, or ``%.4e`` for ``|v| <= 1e-3``."""
    if isinstance(value, str):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        try:
            value = float(np.mean(value))
        except (TypeError, ValueError):
            return str(value)
    if abs(value) > 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


def format_time_per_unit(seconds, unit_name="step"):
    """``" 3ms/step"``: seconds (>= 1 s or 0), milliseconds or microseconds per unit."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def format_eta(seconds):
    """``"5s"``, ``"1:05"`` or ``"1:01:05"``."""
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


class Progbar:
    """A progress bar for one epoch (or one evaluation / prediction).

    Args:
        target: total number of steps, or None if unknown.
        width: bar width in characters.
        verbose: 0 silent, 1 progress bar, 2 one line at the end.
        interval: minimum seconds between two terminal refreshes (the final one is never
            skipped), so printing never slows a fast training loop down.
        stateful_metrics: Keras's option: names shown as given; every other value is shown
            as its mean over the steps so far (weighted by the steps each update covers).
        stateless_metrics: Keras's other option: only these names are averaged.
            With neither (thawnet's default) values are shown as given: the logs of ``fit``
            already hold running means.
        unit_name: the unit shown in the time per unit ("step").
        stream: where to write (default: ``sys.stdout`` at each write).
        dynamic: rewrite one line in place (terminal mode); default: whether ``stream`` is a
            terminal (or a notebook's stdout).
        clock: a ``time.perf_counter``-like function (injectable for tests).
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int | str = 1,
                 interval: float = 0.05, stateful_metrics: Sequence[str] | None = None,
                 stateless_metrics: Sequence[str] | None = None, unit_name: str = "step",
                 stream: TextIO | None = None, dynamic: bool | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Progbar: pass stateful_metrics (averaged unless listed) or "
                             "stateless_metrics (only these averaged), not both.")
        self.stateful_metrics = None if stateful_metrics is None else set(stateful_metrics)
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self._sums = {}  # name -> [weighted sum, steps] of averaged values
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._stream = stream
        self._clock = clock
        self.dynamic = is_dynamic_stream(self.stream) if dynamic is None else bool(dynamic)
        self._values = {}
        self._seen_so_far = 0
        self._start = clock()
        self._last_update = None
        self._time_after_first_step = None
        self._prev_width = 0

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    # -- public API ---------------------------------------------------------------------------
    def update(self, current: int, values: Sequence[tuple[str, Any]] | None = None,
               finalize: bool | None = None) -> None:
        """Record step ``current`` (1-based count of steps done) and its ``values``.

        Args:
            current: number of steps done.
            values: ``(name, value)`` pairs or a dict; shown as given, in first-seen order.
            finalize: whether this is the last update (default: ``current >= target``).
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values:
            items = values.items() if isinstance(values, dict) else values
            for key, value in items:
                self._values[key] = self._shown(key, value, current, finalize)
        self._seen_so_far = current
        now = self._clock()
        time_per_unit = self._estimate_step_duration(current, now)

        if self.verbose == 1:
            if self.dynamic:
                if (not finalize and self._last_update is not None
                        and now - self._last_update < self.interval):
                    return
                line, width = self._bar_line(current, now, time_per_unit, finalize, color=True)
                message = "\r" + line
                if self._prev_width > width:
                    message += " " * (self._prev_width - width)
                if finalize:
                    message += "\n"
                self._write(message)
                self._prev_width = width
            elif finalize:
                line, _ = self._bar_line(current, now, time_per_unit, finalize, color=False)
                self._write(line + "\n")
        elif self.verbose == 2 and finalize:
            self._write(self._summary_line(current, now, time_per_unit) + "\n")
        self._last_update = now

    def _averaged(self, key) -> bool:
        if self.stateful_metrics is not None:
            return key not in self.stateful_metrics
        return self.stateless_metrics is not None and key in self.stateless_metrics

    def _shown(self, key, value, current, finalize):
        """The value displayed for ``key``: as given, or its step-weighted mean (Keras)."""
        if not self._averaged(key):
            return value
        if finalize:
            self._sums[key] = [value, 1]  # Keras: the final update's value stands
        else:
            steps = max(current - self._seen_so_far, 1)
            total = self._sums.setdefault(key, [0.0, 0])
            total[0] += float(np.mean(value)) * steps
            total[1] += steps
        total = self._sums[key]
        return total[0] / max(1, total[1])

    def mark(self, current: int) -> None:
        """Record that ``current`` steps are done without rendering (keeps the timing exact when
        only the final line is printed)."""
        self._seen_so_far = current
        self._estimate_step_duration(current, self._clock())

    def add(self, n: int, values: TensorLike | None = None) -> None:
        """Advance by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    # -- rendering ----------------------------------------------------------------------------
    def _count(self, current):
        if self.target:
            digits = len(str(int(self.target)))
            return f"{current:{digits}d}/{self.target}"
        return f"{current:7d}/Unknown"

    def _metrics(self):
        return "".join(f" - {key}: {format_value(value)}" for key, value in self._values.items())

    def _bar_line(self, current, now, time_per_unit, finalize, color):
        """The verbose=1 line and its visible width (without the colour codes)."""
        bold, green, white, reset = (_BOLD, _GREEN, _WHITE, _RESET) if color else ("",) * 4
        count = self._count(current)
        plain = [count]
        styled = [f"{bold}{count}{reset}" if self.target else count]
        if self.target:
            done = min(self.width, max(0, int(self.width * current / self.target)))
            bar = ""
            if done:
                bar += f"{green}{_BAR_CHAR * done}{reset}"
            if self.width - done:
                bar += f"{white}{_BAR_CHAR * (self.width - done)}{reset}"
            styled.append(" " + bar)
            plain.append(" " + _BAR_CHAR * self.width)
        if self.target and not finalize:
            timing = format_eta(time_per_unit * (self.target - current))
        else:
            timing = f"{now - self._start:.0f}s"
        info = format_time_per_unit(time_per_unit, self.unit_name) + self._metrics()
        styled.append(f" {bold}{timing}{reset}{info}")
        plain.append(f" {timing}{info}")
        return "".join(styled), len("".join(plain))

    def _summary_line(self, current, now, time_per_unit):
        count = self._count(current) if self.target else f"{current}/Unknown"
        return (f"{count} - {now - self._start:.0f}s -"
                f"{format_time_per_unit(time_per_unit, self.unit_name)}{self._metrics()}")

    def _estimate_step_duration(self, current, now):
        """Seconds per step, leaving out the first (compilation) step once there are others."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit

    def _write(self, message):
        stream = self.stream
        stream.write(message)
        stream.flush()
