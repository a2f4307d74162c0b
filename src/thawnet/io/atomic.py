"""Atomic file writes: a file is either its old self or completely the new one.

The data goes to a temporary file in the target's folder (same file system, so the final
rename is atomic), which is flushed and fsync'ed, then renamed over the target with
:func:`os.replace`; the folder is fsync'ed so the rename itself survives a crash. If anything
fails on the way, the temporary file is removed and the previous file is untouched.
"""

from __future__ import annotations

import os
import secrets
import stat


def atomic_write(path, write, overwrite=True):
    """Write a file atomically.

    Args:
        path: the target file.
        write: a function called with a binary file object open for writing; it writes the
            whole content (any exception it raises aborts the write).
        overwrite: when False, an existing ``path`` raises :class:`FileExistsError`.

    Returns:
        The absolute path written.
    """
    path = os.path.abspath(os.fspath(path))
    folder, base = os.path.split(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write {path!r}: the folder {folder!r} does not exist. Create it first.")
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Cannot write the file {path!r}: a folder of that name exists. Choose another "
            "name or remove the folder.")
    _refuse_existing(path, overwrite)
    fd, tmp = _create_temp(folder, base)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            _refuse_existing(path, overwrite)
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    fsync_folder(folder)
    return path


def atomic_write_bytes(path, data, overwrite=True):
    """:func:`atomic_write` of a bytes object."""
    return atomic_write(path, lambda f: f.write(data), overwrite=overwrite)


def fsync_folder(folder):
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _refuse_existing(path, overwrite):
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(
            f"{path!r} already exists and overwrite=False. Pass overwrite=True to replace it, "
            "or choose another name.")


def _create_temp(folder, base):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            # 0o666 minus the umask: the permissions an ordinary new file would get.
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not create a temporary file next to {base!r} in {folder!r}.")


def _remove_quietly(tmp):
    try:
        os.unlink(tmp)
    except OSError:
        pass


__all__ = ["atomic_write", "atomic_write_bytes", "fsync_folder"]
