"""Checks for zip archives from untrusted sources, shared by the native and the Keras readers.

Everything here looks at the central directory first (names, compression method, encryption
flag, declared and compressed sizes) so that a hostile archive is refused before a byte is
inflated; reading then streams with a hard limit, so a member that lies about its size is
cut off. Failures are :class:`FileFormatError` naming the archive and the member.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib

from thawnet.io.errors import FileFormatError

SAFE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# Errors zipfile and zlib raise for damaged archives (CRC, truncated streams, bad headers).
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
              struct.error, ValueError, KeyError, NotImplementedError, RuntimeError,
              UnicodeDecodeError, OverflowError, IndexError)
_CHUNK = 1 << 20


def open_zip(path: str, source: str) -> zipfile.ZipFile:
    """Open ``path`` as a zip archive, turning every failure into FileFormatError."""
    try:
        archive = zipfile.ZipFile(path)
        archive.infolist()
    except ZIP_ERRORS as exc:
        raise FileFormatError(f"{source} is not a readable zip archive (truncated or "
                              f"corrupted?): {type(exc).__name__}: {exc}") from exc
    return archive


def traversal_name(name: str) -> bool:
    """True for a member name that points outside the archive or is ambiguous on disk."""
    parts = name.replace("\\", "/").split("/")
    return (name.startswith(("/", "\\")) or "\x00" in name or ".." in parts
            or (len(name) > 1 and name[1] == ":"))


def check_member(info: zipfile.ZipInfo, total: int, limit: int, source: str,
                 max_ratio: float, kind: str = "thawnet files") -> None:
    """Refuse a member before inflating it: method, encryption, declared sizes, ratio.

    Args:
        info: the member's central-directory entry.
        total: the archive's size on disk.
        limit: the most bytes this member may hold uncompressed.
        source: the archive, for messages.
        max_ratio: the largest accepted ratio of uncompressed to compressed size (4 KiB of
            slack for tiny members).
        kind: what kind of archive this is, for messages (``"thawnet files"``).

    Raises:
        FileFormatError: naming the member and the problem.
    """
    name = info.filename
    if info.compress_type not in SAFE_METHODS:
        raise FileFormatError(f"{source}: {name} uses compression method {info.compress_type}; "
                              f"{kind} use only stored or deflated members.")
    if info.flag_bits & 0x1:
        raise FileFormatError(f"{source}: the member {name!r} is encrypted.")
    if info.file_size > limit or info.compress_size > total:
        raise FileFormatError(
            f"{source}: {name} declares {info.file_size} bytes ({info.compress_size} "
            f"compressed) in a file of {total} bytes (limit {limit}): a zip bomb or a "
            "corrupted file.")
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise FileFormatError(f"{source}: the stored member {name} declares {info.file_size} "
                              f"bytes but occupies {info.compress_size}.")
    if info.file_size > max_ratio * max(info.compress_size, 1) + 4096:
        raise FileFormatError(
            f"{source}: {name} would inflate {info.compress_size} bytes to {info.file_size} "
            f"(over {max_ratio:g}x): a zip bomb or a corrupted file.")


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str):
    """Yield the member's bytes in chunks, never more than it declares (+1 to detect lies)."""
    try:
        with archive.open(info) as member:
            left = info.file_size + 1
            while left > 0:
                chunk = member.read(min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk
    except ZIP_ERRORS as exc:
        raise FileFormatError(f"{source}: cannot read the member {info.filename}: "
                              f"{type(exc).__name__}: {exc}. The file is truncated or "
                              "corrupted.") from exc


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> bytes:
    """The member's bytes (call :func:`check_member` first); exactly its declared size."""
    data = b"".join(_stream(archive, info, source))
    if len(data) != info.file_size:
        raise FileFormatError(f"{source}: {info.filename} should hold {info.file_size} bytes; "
                              f"read {len(data)}. The file is truncated or corrupted.")
    return data


def copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: str,
                source: str) -> None:
    """Stream the member into the new file ``target`` (call :func:`check_member` first)."""
    written = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in _stream(archive, info, source):
            written += len(chunk)
            out.write(chunk)
    if written != info.file_size:
        raise FileFormatError(f"{source}: {info.filename} should hold {info.file_size} bytes; "
                              f"read {written}. The file is truncated or corrupted.")


__all__ = ["SAFE_METHODS", "ZIP_ERRORS", "open_zip", "traversal_name", "check_member",
           "read_member", "copy_member"]
