"""Atomic saves: after a crash at any moment, a path holds its complete old self or the
complete new one, never a mixture.

Files (``.thawnet`` zips, ``.safetensors``): the data goes to a temporary file beside the
target (same folder, so the same file system), which is flushed and fsync'ed, then renamed
over the target with :func:`os.replace`; the folder is fsync'ed so the rename survives too.

Folders (the native folder form): the new folder is written beside the old one, every file
and the folder itself fsync'ed, and then swapped with the old folder in one system call,
``renameat2(RENAME_EXCHANGE)`` (Linux 3.15+, on ext4, xfs, btrfs, tmpfs and most local file
systems). ``path`` stays a real folder that any reader opens as usual; there is no pointer
file and no symlink. The swapped-out old folder is then removed. Where the exchange is not
available (other systems, some network file systems) the swap falls back to two renames,
old folder aside, new one in. A crash between those two leaves ``path`` missing for a moment,
with the complete old model under a backup name; the next save to ``path`` puts it back
before doing anything else.

Temporary names. Everything a save creates besides ``path`` is named
``.<name>.thawnet-tmp-<pid>-<12 hex>`` (the new file or folder while it is written; after a
folder swap, the old folder while it is removed) or ``.<name>.thawnet-old-<pid>-<12 hex>``
(the fallback's backup), in the folder that holds ``path``. A killed save can leave one
behind. The next save to the same ``path`` removes every such leftover whose process is no
longer running (:func:`remove_leftovers`; on Windows, where that cannot be asked safely, only
this process's own); :func:`leftovers` lists them. A failed save (an exception, a full disk)
removes its own temporary files at once, and its error names ``path``, never the temporary
name. Because the folder is replaced as a whole, a folder save needs write permission on the
parent folder and refuses a folder that holds anything besides the model's files.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterable, Mapping
from typing import BinaryIO

from thawnet.io import path_exchange
from thawnet.io.temp_names import (OLD, TMP, forget_temp, interrupted_backups, is_abandoned,
                                    leftovers, new_temp_path)

# -- files -------------------------------------------------------------------------------------
def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object],
                 overwrite: bool = True) -> str:
    """Write a file atomically.

    Args:
        path: the target file.
        write: a function called with a binary file object open for writing; it writes the
            whole content (any exception it raises aborts the write).
        overwrite: when False, an existing ``path`` raises :class:`FileExistsError`.

    Returns:
        The absolute path written.

    Example:
        >>> import tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "x.bin")
        >>> atomic_write(target, lambda f: f.write(b"new")) == target
        True
    """
    shown = os.fspath(path)
    path = os.path.abspath(shown)
    folder, base = os.path.split(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write {path!r}: the folder {folder!r} does not exist. Create it first.")
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Cannot write the file {path!r}: a folder of that name exists. Choose another "
            "name or remove the folder.")
    _refuse_existing(path, overwrite)
    remove_leftovers(path)
    tmp = new_temp_path(path, TMP)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)  # 0o666 minus the umask: what an ordinary new file gets
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            _refuse_existing(path, overwrite)
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except OSError as e:
        _remove_quietly(tmp)
        raise _naming_target(e, shown) from None
    except BaseException:
        _remove_quietly(tmp)
        raise
    finally:
        forget_temp(tmp)
    fsync_folder(folder)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> str:
    """:func:`atomic_write` of a bytes object."""
    return atomic_write(path, lambda f: f.write(data), overwrite=overwrite)


# -- folders -----------------------------------------------------------------------------------
def atomic_write_folder(path: str | os.PathLike, files: Mapping[str, bytes],
                        replaceable: Iterable[str] = ()) -> str:
    """Replace the folder ``path`` by one holding exactly ``files``, atomically.

    Args:
        path: the folder (created when missing). A symlink to a folder is followed: the
            folder it points at is replaced and the link kept.
        files: ``{file name: content}``; plain names, no subfolders.
        replaceable: further names the old folder may hold (files of an earlier save that
            this one does not write, such as an optional member); they are dropped.

    Returns:
        The real (absolute, resolved) path of the folder written.

    Raises:
        ValueError: the folder holds entries not in ``files``; they would be dropped by the
            swap, so nothing is written.
    """
    shown = os.fspath(path)
    real = os.path.realpath(shown)
    parent = os.path.dirname(real)
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"Cannot save the folder {shown!r}: its parent folder "
                                f"{parent!r} does not exist. Create it first.")
    restore_interrupted(real)
    exists = os.path.isdir(real)
    if exists:
        others = sorted(set(os.listdir(real)) - set(files) - set(replaceable))
        if others:
            raise ValueError(
                f"Cannot save into the folder {shown!r}: it holds {others[:5]} besides the "
                "model's files. A folder save replaces the whole folder in one step, so that "
                "a crash never mixes two models, and would drop them. Move them elsewhere, or "
                "save to an empty folder or to a single .thawnet file.")
    elif os.path.lexists(real):
        raise NotADirectoryError(f"Cannot save the folder {shown!r}: a file of that name "
                                 "exists. Choose another name or remove the file.")
    remove_leftovers(real)
    tmp = new_temp_path(real, TMP)
    swapped_out = None
    try:
        os.mkdir(tmp)
        if exists:
            os.chmod(tmp, stat.S_IMODE(os.stat(real).st_mode))
        for name, data in files.items():
            _write_synced(os.path.join(tmp, name), data)
        fsync_folder(tmp)
        if exists:
            in_it = _cwd_is(real)
            swapped_out = _swap(tmp, real)
            if in_it:  # our working folder was swapped out: follow the path to the new one
                os.chdir(real)
        else:
            os.rename(tmp, real)
            swapped_out = tmp  # nothing left to remove there
        fsync_folder(parent)
    except OSError as e:
        if swapped_out is None:
            shutil.rmtree(tmp, ignore_errors=True)
        hint = (f" A folder save writes the new folder beside the old one: it needs write "
                f"permission on {parent!r}." if isinstance(e, PermissionError) else "")
        raise _naming_target(e, shown, hint) from None
    except BaseException:
        if swapped_out is None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        forget_temp(tmp)
    # The old model, now under a temporary name; a crash here leaves it for remove_leftovers.
    shutil.rmtree(swapped_out, ignore_errors=True)
    return real


def replace_folder(new: str | os.PathLike, target: str | os.PathLike) -> None:
    """Move the complete, fsync'ed folder ``new`` to ``target`` in one step, replacing the
    folder there (which is then removed); for callers that write their own folder.

    Args:
        new: the folder to put in place, on the same file system as ``target``.
        target: where it goes; an existing folder there is swapped out, never deleted first.
    """
    new, target = os.path.abspath(os.fspath(new)), os.path.abspath(os.fspath(target))
    if os.path.isdir(target) and not os.path.islink(target):
        old = _swap(new, target)
    else:
        os.replace(new, target)
        old = None
    fsync_folder(os.path.dirname(target))
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_synced(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _swap(new, target):
    """Put the folder ``new`` at ``target``; returns where the old folder now is."""
    try:
        path_exchange.exchange(new, target)
        return new
    except path_exchange.ExchangeUnavailable:
        pass
    backup = new_temp_path(target, OLD)
    os.rename(target, backup)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(backup, target)
        raise
    finally:
        forget_temp(backup)
    return backup


def _cwd_is(real):
    try:
        return os.path.realpath(os.getcwd()) == real
    except OSError:
        return False


# -- recovery from killed saves ---------------------------------------------------------------
def restore_interrupted(path: str | os.PathLike) -> bool:
    """Put back the old folder when a save was killed between the two renames of the
    fallback swap (``path`` missing, its backup complete beside it).

    Args:
        path: the saved folder.

    Returns:
        True when a backup was moved back to ``path``.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.lexists(path):
        return False
    backups = interrupted_backups(path)
    if not backups:
        return False
    newest = backups[-1]
    try:
        os.rename(newest, path)
    except OSError:
        return False
    fsync_folder(os.path.dirname(path))
    return True


def remove_leftovers(path: str | os.PathLike) -> list[str]:
    """Remove what killed saves to ``path`` left behind (see the module docstring).

    Entries of saves still running (in this or another live process) are kept. A backup is
    moved back instead when ``path`` itself is missing.

    Args:
        path: the saved file or folder.

    Returns:
        The paths removed.
    """
    restore_interrupted(path)
    removed = []
    for p in leftovers(path):
        if not is_abandoned(p):
            continue
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            _remove_quietly(p)
        if not os.path.lexists(p):
            removed.append(p)
    return removed


# -- helpers -----------------------------------------------------------------------------------
def fsync_folder(folder: str | os.PathLike) -> None:
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


def _naming_target(error, shown, hint=""):
    """The same kind of OSError, about the user's ``shown`` path, not the temporary one."""
    reason = error.strerror or str(error)
    text = (f"Cannot save {shown!r}: {reason}. The previous content of that path is "
            f"unchanged and the temporary copy was removed.{hint}")
    if error.errno is None:
        return OSError(text)
    try:
        return type(error)(error.errno, text)
    except TypeError:  # a subclass with its own constructor
        return OSError(error.errno, text)


def _refuse_existing(path, overwrite):
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(
            f"{path!r} already exists and overwrite=False. Pass overwrite=True to replace it, "
            "or choose another name.")


def _remove_quietly(tmp):
    try:
        os.unlink(tmp)
    except OSError:
        pass


__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_folder", "fsync_folder",
           "interrupted_backups", "leftovers", "remove_leftovers", "replace_folder",
           "restore_interrupted"]
