"""The names of the temporaries that saves create beside their target, and how to find the
ones killed saves left behind (see :mod:`thawnet.io.atomic` for the saves themselves).

A temporary is ``.<name>.thawnet-tmp-<pid>-<12 hex>`` (a file or folder being written, or an old
folder being removed) or ``.<name>.thawnet-old-<pid>-<12 hex>`` (the backup of the fallback
folder swap). The pid says which process made it: one that is no longer running left it
behind. Within this process, the names of saves still running are kept in a registry, so a
save never removes another thread's temporaries.
"""

from __future__ import annotations

import os
import re
import secrets
import threading

TMP, OLD = "tmp", "old"
_in_flight: set[str] = set()  # temporary paths of saves running in this process right now
_in_flight_lock = threading.Lock()


def new_temp_path(path: str, kind: str) -> str:
    """A fresh temporary name beside ``path`` (``kind``: TMP or OLD), registered as in flight."""
    folder, base = os.path.split(path)
    tmp = os.path.join(folder, f".{base}.thawnet-{kind}-{os.getpid()}-{secrets.token_hex(6)}")
    with _in_flight_lock:
        _in_flight.add(tmp)
    return tmp


def forget_temp(tmp: str) -> None:
    """The save that created ``tmp`` is over: ``tmp`` is no longer in flight."""
    with _in_flight_lock:
        _in_flight.discard(tmp)


def leftover_pattern(base: str) -> re.Pattern:
    """The names of the temporaries of saves to a path whose last part is ``base``."""
    return re.compile(rf"\.{re.escape(base)}\.thawnet-(tmp|old)-(\d+)-[0-9a-f]{{12}}")


def leftovers(path: str | os.PathLike) -> list[str]:
    """Temporary files and folders that saves to ``path`` left behind (killed or running).

    Args:
        path: the saved file or folder.

    Returns:
        Their full paths, sorted.
    """
    folder, base = os.path.split(os.path.abspath(os.fspath(path)))
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    pattern = leftover_pattern(base)
    return sorted(os.path.join(folder, n) for n in names if pattern.fullmatch(n))


def interrupted_backups(path: str | os.PathLike) -> list[str]:
    """Complete old folders that killed fallback swaps left beside ``path``.

    Args:
        path: the saved folder.

    Returns:
        Their full paths, oldest first (empty unless a save was killed between the two
        renames of the fallback swap).
    """
    base = os.path.basename(os.path.abspath(os.fspath(path)))
    found = [p for p in leftovers(path)
             if leftover_pattern(base).fullmatch(os.path.basename(p)).group(1) == OLD
             and is_abandoned(p)]
    return sorted(found, key=os.path.getmtime)


def is_abandoned(tmp: str) -> bool:
    """True when the save that created ``tmp`` is no longer running."""
    pid = int(os.path.basename(tmp).rsplit("-", 2)[1])
    if pid == os.getpid():
        with _in_flight_lock:
            return tmp not in _in_flight
    if os.name == "nt":  # os.kill(pid, 0) would signal the process there; keep it
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, another user's
        return False
    return False

__all__ = ["OLD", "TMP", "forget_temp", "interrupted_backups", "is_abandoned", "leftover_pattern",
           "leftovers", "new_temp_path"]
