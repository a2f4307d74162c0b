"""Safetensors encoding, decoding and header reading, with strict validation.

A safetensors file is an 8-byte little-endian header length, a JSON header mapping each tensor
name to ``{"dtype", "shape", "data_offsets"}`` (plus an optional ``"__metadata__"`` map of
strings), then the raw little-endian tensor bytes. The :mod:`safetensors` package writes and
deserialises the data; this module validates every field of the header itself first, so a
damaged file raises :class:`~thawnet.io.errors.FileFormatError` naming the problem.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct

import ml_dtypes
import numpy as np

from thawnet.io.errors import FileFormatError

# Safetensors dtype codes <-> NumPy dtype names.
CODES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
}
NAMES = {name: code for code, name in CODES.items()}
MAX_HEADER_BYTES = 100 * 2**20  # the safetensors package's own limit
METADATA_KEY = "__metadata__"


def numpy_dtype(name):
    """The NumPy dtype for a dtype name (``"bfloat16"`` included)."""
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


class Header:
    """A validated safetensors header.

    Attributes:
        entries: ``{name: (dtype_name, shape, begin, end)}`` in file order; offsets relative
            to ``data_start``.
        metadata: the ``__metadata__`` strings (``{}`` when absent).
        data_start: byte offset of the tensor data in the file.
    """

    def __init__(self, entries, metadata, data_start):
        self.entries = entries
        self.metadata = metadata
        self.data_start = data_start


def encode(arrays, metadata=None):
    """Serialise ``{name: array}`` (and string ``metadata``) to safetensors bytes.

    Args:
        arrays: name -> NumPy array of a dtype listed in :data:`NAMES`.
        metadata: optional ``{str: str}``.

    Returns:
        The file content as bytes.
    """
    from safetensors.numpy import save

    plain = {}
    for name, arr in arrays.items():
        arr = _contiguous(arr)
        if arr.dtype.name not in NAMES:
            raise ValueError(f'Weight "{name}" has dtype {arr.dtype.name}, which safetensors '
                             f"cannot store; supported: {sorted(NAMES)}.")
        plain[name] = arr
    return save(plain, metadata=metadata)


def content_digest(arrays):
    """SHA-256 over the names, dtypes, shapes and bytes of ``arrays`` (order independent)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        arr = _contiguous(arrays[name])
        h.update(json.dumps([name, arr.dtype.name, list(arr.shape)]).encode("utf-8"))
        h.update(arr.reshape(-1).view(np.uint8) if arr.size else b"")  # no copy of the bytes
    return h.hexdigest()


def _contiguous(arr):
    # np.ascontiguousarray would turn a scalar (shape ()) into shape (1,).
    arr = np.asarray(arr)
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def parse_header(prefix, total_size, source):
    """Validate the header at the start of a safetensors file.

    Args:
        prefix: at least the first ``8 + header length`` bytes of the file (or all of it).
        total_size: the size of the whole file in bytes.
        source: how to name the file in errors.

    Returns:
        A :class:`Header`.
    """
    if total_size < 8 or len(prefix) < 8:
        raise FileFormatError(f"{source}: not a safetensors file: {total_size} byte(s), fewer "
                              "than the 8-byte header length. The file is truncated.")
    (n,) = struct.unpack("<Q", bytes(prefix[:8]))
    if n > MAX_HEADER_BYTES or 8 + n > total_size:
        raise FileFormatError(
            f"{source}: the safetensors header declares {n} bytes, but the file has "
            f"{total_size} bytes in all (limit {MAX_HEADER_BYTES}). The file is truncated or "
            "corrupted.")
    if len(prefix) < 8 + n:
        raise FileFormatError(f"{source}: the file ends inside its safetensors header.")
    try:
        header = json.loads(bytes(prefix[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FileFormatError(f"{source}: the safetensors header is not valid JSON ({e}). The "
                              "file is corrupted.") from None
    if not isinstance(header, dict):
        raise FileFormatError(f"{source}: the safetensors header must be a JSON object; found "
                              f"{type(header).__name__}.")
    metadata = header.pop(METADATA_KEY, None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise FileFormatError(f"{source}: the safetensors __metadata__ must map strings to "
                              "strings.")
    data_size = total_size - 8 - n
    entries = {}
    for name, info in header.items():
        entries[name] = _entry(name, info, data_size, source)
    return Header(entries, metadata, 8 + n)


def _entry(name, info, data_size, source):
    where = f'{source}: tensor "{name}"'
    if not isinstance(info, dict):
        raise FileFormatError(f"{where}: its header entry must be an object; found {info!r}.")
    code, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(code, str) or code not in CODES:
        raise FileFormatError(f"{where}: unknown dtype {code!r}; expected one of "
                              f"{sorted(CODES)}.")
    if not isinstance(shape, list) or not all(
            type(d) is int and 0 <= d < 2**53 for d in shape):
        raise FileFormatError(f"{where}: shape must be a list of non-negative ints; found "
                              f"{shape!r}.")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size):
        raise FileFormatError(f"{where}: data_offsets {offsets!r} do not lie within the "
                              f"{data_size} data bytes. The file is truncated or corrupted.")
    dtype = CODES[code]
    expected = math.prod(shape) * numpy_dtype(dtype).itemsize
    if offsets[1] - offsets[0] != expected:
        raise FileFormatError(f"{where}: shape {shape} of {dtype} needs {expected} bytes; its "
                              f"data_offsets cover {offsets[1] - offsets[0]}.")
    return dtype, tuple(shape), offsets[0], offsets[1]


def read_header_file(path, source=None):
    """Read and validate only the header of a safetensors file (no tensor data is read)."""
    source = source or repr(str(path))
    with open(path, "rb") as f:
        f.seek(0, 2)
        total = f.tell()
        f.seek(0)
        first = f.read(8)
        n = struct.unpack("<Q", first)[0] if len(first) == 8 else 0
        rest = f.read(min(n, MAX_HEADER_BYTES, max(total - 8, 0))) if n else b""
    return parse_header(first + rest, total, source)


def decode(data, source):
    """Decode safetensors bytes into ``({name: np.ndarray}, Header)``.

    The arrays are read-only views into ``data`` (no copy). Every failure (bad header,
    truncated data, tensors that overlap or leave gaps) raises FileFormatError.
    """
    header = parse_header(data, len(data), source)
    _check_layout(header, len(data) - header.data_start, source)
    buffer = memoryview(data)
    arrays = {}
    for name, (dtype, shape, start, _) in header.entries.items():
        dt = numpy_dtype(dtype)
        arrays[name] = np.frombuffer(buffer, dt, count=math.prod(shape),
                                     offset=header.data_start + start).reshape(shape)
    return arrays, header


def _check_layout(header, data_size, source):
    """The safetensors rule: the tensors' byte ranges follow each other without gap or
    overlap and cover the data exactly (so no byte is read twice or left unexplained)."""
    end = 0
    for name, (_, _, start, stop) in sorted(header.entries.items(),
                                            key=lambda item: (item[1][2], item[1][3])):
        if start != end:
            raise FileFormatError(
                f'{source}: tensor "{name}" starts at byte {start} of the data, but the one '
                f"before it ends at byte {end}: tensors overlap or leave a gap. The file is "
                "corrupted.")
        end = stop
    if end != data_size:
        raise FileFormatError(f"{source}: the tensors cover {end} of the {data_size} data "
                              "bytes. The file is truncated or corrupted.")


__all__ = ["CODES", "NAMES", "Header", "encode", "decode", "parse_header", "read_header_file",
           "content_digest", "numpy_dtype"]
