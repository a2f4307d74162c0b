"""Exchange two paths in one atomic step: Linux's ``renameat2(RENAME_EXCHANGE)``.

This is what lets :mod:`thawnet.io.atomic` replace a whole folder with no moment at which
the path is missing or half-written. Where the call does not exist (other systems, glibc
without the wrapper on an unknown architecture) or the file system refuses it,
:func:`exchange` raises :class:`ExchangeUnavailable` and the caller falls back.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys


class ExchangeUnavailable(Exception):
    """This system or file system cannot exchange two paths atomically."""


_RENAME_EXCHANGE, _AT_FDCWD = 2, -100
_SYSCALL_RENAMEAT2 = {"x86_64": 316, "aarch64": 276}
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP),
                errno.EOPNOTSUPP}
_renameat2_cache: list = []


def _renameat2():
    """A ctypes callable ``(olddirfd, old, newdirfd, new, flags)``, or None."""
    if not _renameat2_cache:
        call = None
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                call = getattr(libc, "renameat2", None)
                number = _SYSCALL_RENAMEAT2.get(platform.machine())
                if call is None and number is not None:  # glibc older than 2.28
                    def call(*args, _syscall=libc.syscall, _number=number):
                        return _syscall(_number, *args)
            except OSError:
                call = None
        _renameat2_cache.append(call)
    return _renameat2_cache[0]


def exchange(a: str | os.PathLike, b: str | os.PathLike) -> None:
    """Swap the paths ``a`` and ``b`` (both must exist) in one atomic step.

    Args:
        a: a file or folder.
        b: another one, on the same file system.

    Raises:
        ExchangeUnavailable: the system or file system cannot do it; nothing changed.
        OSError: any other failure (permissions, a busy mount point); nothing changed.
    """
    call = _renameat2()
    if call is None:
        raise ExchangeUnavailable()
    if call(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        if code in _UNSUPPORTED:
            raise ExchangeUnavailable()
        raise OSError(code, os.strerror(code), os.fspath(b))


__all__ = ["ExchangeUnavailable", "exchange"]
