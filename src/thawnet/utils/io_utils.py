"""Where the training messages go: the terminal (interactive) or Python's ``logging``.

Keras 3's ``keras.utils.disable_interactive_logging()`` sends the callbacks' verbose lines
(``ModelCheckpoint``, ``EarlyStopping``, ``LearningRateScheduler``...) to the logging system
instead of ``sys.stdout``, for jobs whose output is collected by a log pipeline. thawnet does
the same through the ``"thawnet"`` logger at level INFO.

>>> disable_interactive_logging()
>>> is_interactive_logging_enabled()
False
>>> enable_interactive_logging()
>>> is_interactive_logging_enabled()
True
"""

from __future__ import annotations

import logging
import sys
import threading

LOGGER = logging.getLogger("thawnet")

# One switch per thread, as in Keras (a worker thread keeps its own setting); None: the
# process-wide default, interactive.
_STATE = threading.local()
_LEVELS = {"CRITICAL": logging.CRITICAL, "FATAL": logging.FATAL, "ERROR": logging.ERROR,
           "WARN": logging.WARNING, "WARNING": logging.WARNING, "INFO": logging.INFO,
           "DEBUG": logging.DEBUG}


def enable_interactive_logging() -> None:
    """Write training messages to ``sys.stdout`` (the default)."""
    _STATE.interactive = True


def disable_interactive_logging() -> None:
    """Send training messages to the ``"thawnet"`` logger (level INFO) instead of stdout."""
    _STATE.interactive = False


def is_interactive_logging_enabled() -> bool:
    """Whether training messages go to ``sys.stdout`` (True) or to ``logging`` (False)."""
    return getattr(_STATE, "interactive", True)


def set_logging_verbosity(level: str) -> None:
    """Set the level of the ``"thawnet"`` logger by name (Keras's names).

    Args:
        level: one of ``"FATAL"``, ``"CRITICAL"``, ``"ERROR"``, ``"WARNING"`` / ``"WARN"``,
            ``"INFO"``, ``"DEBUG"`` (any case).

    Raises:
        ValueError: for another name.
    """
    key = str(level).upper()
    if key not in _LEVELS:
        raise ValueError(f"set_logging_verbosity: unknown level {level!r}; expected one of "
                         f"{sorted(_LEVELS)}.")
    LOGGER.setLevel(_LEVELS[key])


def print_msg(message: str, line_break: bool = True) -> None:
    """Write ``message`` to the current ``sys.stdout`` (interactive) or log it at INFO."""
    message = str(message)
    if not is_interactive_logging_enabled():
        LOGGER.info(message)
        return
    stream = sys.stdout
    stream.write(message + ("\n" if line_break else ""))
    stream.flush()


__all__ = ["disable_interactive_logging", "enable_interactive_logging",
           "is_interactive_logging_enabled", "print_msg", "set_logging_verbosity"]
