"""Reading an untrusted HDF5 file through h5py so that only that file's own bytes are touched.

HDF5 can make a file read *other* files: external links, external raw storage
(``external=[(path, offset, size)]``), virtual datasets, and user-defined filters (plugins
loaded from disk). A soft link can make one dataset appear under another's name. A corrupted
header can declare huge shapes, attribute arrays or numbers of links. :class:`H5Reader` reads
the few things a weight loader needs and refuses, with :class:`FileFormatError`, anything else:

- links: only hard links are followed; soft, external and user-defined links are refused
  where they are met (never resolved), and so are hard links that give one object two names
  or loop back to a group on the current path;
- datasets: contiguous, chunked or compact storage inside the file only (no external storage,
  no virtual datasets); filters limited to HDF5's and h5py's standard ones (gzip/deflate,
  shuffle, fletcher32, scaleoffset, lzf). SZIP is refused: Keras never writes it and it needs
  an optional library; N-bit and every user-defined filter id are refused too;
- datatypes: integer, float and bool (enum) datasets; string attributes only;
- sizes: links per group, links visited in all, nesting depth, attribute elements and bytes,
  and a dataset's declared bytes against the bytes it stores are all bounded, and every loop
  here runs a bounded number of times, so no file can make the reader loop.

Data is read only by :meth:`H5Reader.read`, which the loaders call after the dataset's shape
and dtype were checked against the model.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from typing import Iterator

import h5py
import ml_dtypes
import numpy as np

from thawnet.io.errors import FileFormatError

MAX_LINKS_PER_GROUP = 100_000
MAX_LINKS_IN_FILE = 500_000
MAX_DEPTH = 64
MAX_ATTR_ELEMENTS = 100_000
MAX_ATTR_BYTES = 16 << 20
MAX_ATTRS_PER_OBJECT = 10_000
# A chunked dataset may store less than it declares (compression, unwritten chunks holding
# the fill value). Deflate cannot exceed ~1032:1, so beyond this the dataset is a shape bomb.
MAX_EXPANSION = 1100
EXPANSION_FLOOR_BYTES = 1 << 20

ALLOWED_FILTERS = {
    h5py.h5z.FILTER_DEFLATE: "gzip/deflate",
    h5py.h5z.FILTER_SHUFFLE: "shuffle",
    h5py.h5z.FILTER_FLETCHER32: "fletcher32",
    h5py.h5z.FILTER_SCALEOFFSET: "scaleoffset",
    h5py.h5z.FILTER_LZF: "lzf",
}
_FILTER_NAMES = {h5py.h5z.FILTER_SZIP: "szip", h5py.h5z.FILTER_NBIT: "nbit"}
_LINK_NAMES = {h5py.h5l.TYPE_SOFT: "a soft link", h5py.h5l.TYPE_EXTERNAL: "an external link"}
_LAYOUTS = (h5py.h5d.COMPACT, h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED)
_NUMERIC_CLASSES = (h5py.h5t.INTEGER, h5py.h5t.FLOAT)
BFLOAT16 = np.dtype(ml_dtypes.bfloat16)

# What h5py and HDF5 raise for damaged files (HDF5 errors arrive as OSError, KeyError,
# RuntimeError, ValueError or TypeError subclasses), turned into FileFormatError.
READ_ERRORS = (OSError, KeyError, RuntimeError, TypeError, ValueError, IndexError,
               AttributeError, UnicodeError, OverflowError, RecursionError, EOFError,
               NotImplementedError, struct.error, zlib.error)


class H5Reader:
    """Bounded, link-checked access to one open HDF5 file.

    Args:
        handle: the open ``h5py.File``.
        source: how the user knows the file, for messages (``"'m.weights.h5'"``, or
            ``"'m.keras' (member model.weights.h5)"``).
    """

    def __init__(self, handle: h5py.File, source: str):
        self.handle = handle
        self.source = source
        self._links_left = MAX_LINKS_IN_FILE

    def error(self, where: str, problem: str) -> FileFormatError:
        """A FileFormatError naming the file and the object ``where`` (``"/"`` for the root)."""
        return FileFormatError(f"{self.source}: {where or '/'}: {problem}")

    # -- links and groups --------------------------------------------------------------------
    def names(self, group: h5py.Group, where: str) -> list[str]:
        """The link names in ``group`` (bounded), without resolving any link."""
        count = group.id.get_num_objs()
        if count > MAX_LINKS_PER_GROUP or count > self._links_left:
            raise self.error(where, f"the group declares {count} members, more than this reader "
                                    f"accepts ({min(MAX_LINKS_PER_GROUP, self._links_left)} "
                                    "left); the file is corrupted or hostile.")
        found: list[str] = []

        def take(name):
            found.append(name)
            return True if len(found) > count else None   # a truthy value stops the iteration

        group.id.links.iterate(take)
        if len(found) > count:
            raise self.error(where, f"the group lists more members than the {count} it declares.")
        self._links_left -= len(found)
        out = []
        for raw in found:
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise self.error(where, f"a member name is not UTF-8 ({raw[:40]!r}).") from exc
        return out

    def child(self, group: h5py.Group, name: str, where: str):
        """The object ``name`` in ``group``, reached only through a hard link.

        Raises:
            FileFormatError: ``name`` is missing, is a path, or is a soft/external/user link.
        """
        path = f"{where.rstrip('/')}/{name}" if where not in ("", "/") else name
        if not name or "/" in name or name in (".", ".."):
            raise self.error(path, f"invalid member name {name!r}.")
        key = name.encode("utf-8")
        if not group.id.links.exists(key):
            raise self.error(path, "no such member.")
        kind = group.id.links.get_info(key).type
        if kind != h5py.h5l.TYPE_HARD:
            what = _LINK_NAMES.get(kind, f"a user-defined link (type {kind})")
            raise self.error(path, f"is {what}. Links are never followed: they can point at "
                                   "another dataset or another file. Keras never writes them.")
        obj = group[name]
        if not isinstance(obj, (h5py.Group, h5py.Dataset)):
            raise self.error(path, f"is a {type(obj).__name__}, not a group or dataset.")
        return obj

    def resolve(self, components: list[str], start: h5py.Group | None = None,
                where: str = "") -> h5py.Group | h5py.Dataset:
        """Walk ``components`` from ``start`` (the root by default), one hard link at a time."""
        obj = self.handle if start is None else start
        if len(components) > MAX_DEPTH:
            raise self.error(where, f"a path of {len(components)} parts is too deep.")
        for part in components:
            if not isinstance(obj, h5py.Group):
                raise self.error(where, "a dataset is used as a group.")
            obj = self.child(obj, part, where)
            where = f"{where}/{part}" if where else part
        return obj

    def walk(self) -> Iterator[tuple[str, h5py.Group | h5py.Dataset]]:
        """Every object reachable from the root by hard links, depth first.

        Every link met is checked (see :meth:`child`) and every dataset's storage too
        (:meth:`check_storage`), whether or not the loader needs it later, so a file that
        refers outside itself anywhere is refused; so is an object reached under two names.

        Yields:
            ``(path, object)``; the root is ``("", file)``.
        """
        stack = [("", self.handle, ())]
        seen = {}
        while stack:
            path, obj, ancestors = stack.pop()
            address = h5py.h5o.get_info(obj.id).addr
            if address in ancestors:
                raise self.error(path, "a hard link loops back to a group that contains it.")
            if address in seen:
                # Two names for one object: a hard-link alias (one weight loaded as another).
                raise self.error(path, f"is the same object as {seen[address] or '/'!r} (a hard "
                                       "link alias). Keras gives every object one name.")
            seen[address] = path
            if isinstance(obj, h5py.Dataset):
                self.check_storage(obj, path)
                yield path, obj
                continue
            if len(ancestors) >= MAX_DEPTH:
                raise self.error(path, f"groups are nested more than {MAX_DEPTH} deep.")
            yield path, obj
            for name in reversed(sorted(self.names(obj, path))):
                stack.append((f"{path}/{name}" if path else name, self.child(obj, name, path),
                              ancestors + (address,)))

    # -- datasets ----------------------------------------------------------------------------
    def check_storage(self, dataset: h5py.Dataset, where: str) -> None:
        """Refuse storage outside the file, unknown filters and non-numeric datatypes."""
        plist = dataset.id.get_create_plist()
        layout = plist.get_layout()
        if layout == h5py.h5d.VIRTUAL or dataset.is_virtual:
            raise self.error(where, "is a virtual dataset: its data lives in other datasets or "
                                    "files. Virtual datasets are refused.")
        if layout not in _LAYOUTS:
            raise self.error(where, f"uses an unknown storage layout ({layout}).")
        external = plist.get_external_count()
        if external > 0:
            raise self.error(where, f"keeps its data in {external} external file(s) "
                                    "(HDF5 external storage). Only data inside the file itself "
                                    "is read; Keras never writes external storage.")
        nfilters = plist.get_nfilters()
        if nfilters > 32:
            raise self.error(where, f"declares {nfilters} filters.")
        for index in range(nfilters):
            code = plist.get_filter(index)[0]
            if code not in ALLOWED_FILTERS:
                name = _FILTER_NAMES.get(code, "a user-defined filter")
                raise self.error(where, f"is compressed with filter id {code} ({name}). Only "
                                        f"the standard filters {sorted(ALLOWED_FILTERS.values())}"
                                        " are accepted: other filters are plugins loaded from "
                                        "disk. Re-save the weights without that filter.")
        kind = dataset.id.get_type().get_class()
        if kind == h5py.h5t.ENUM:
            base = dataset.id.get_type().get_super()
            if base.get_class() != h5py.h5t.INTEGER or base.get_size() > 8:
                raise self.error(where, "holds an enum of a non-integer type.")
        elif kind not in _NUMERIC_CLASSES and not self.is_bfloat16(dataset, where):
            raise self.error(where, f"holds non-numeric data (HDF5 type class {kind}); a weight "
                                    "is an integer, float, bfloat16 or bool array.")
        if dataset.id.get_type().get_size() > 16:
            raise self.error(where, "has elements wider than 16 bytes.")

    def is_bfloat16(self, dataset: h5py.Dataset, where: str) -> bool:
        """Keras 3's bfloat16 weights: 2-byte opaque elements tagged ``dtype="bfloat16"``."""
        kind = dataset.id.get_type()
        return (kind.get_class() == h5py.h5t.OPAQUE and kind.get_size() == 2
                and self.string_attr(dataset, "dtype", where) == "bfloat16")

    def dtype(self, dataset: h5py.Dataset, where: str) -> np.dtype:
        """The dataset's NumPy dtype, bfloat16 for Keras's tagged opaque data."""
        return BFLOAT16 if self.is_bfloat16(dataset, where) else dataset.dtype

    def shape(self, dataset: h5py.Dataset, where: str) -> tuple[int, ...]:
        """The declared shape, from the dataspace only (no data is read)."""
        space = dataset.id.get_space()
        kind = space.get_simple_extent_type()
        if kind == h5py.h5s.SCALAR:
            return ()
        if kind != h5py.h5s.SIMPLE:
            raise self.error(where, "has an empty (null) dataspace.")
        if space.get_simple_extent_ndims() > 32:
            raise self.error(where, "declares more than 32 dimensions.")
        return tuple(int(d) for d in space.get_simple_extent_dims())

    def read(self, dataset: h5py.Dataset, where: str,
             expected_shape: tuple[int, ...]) -> np.ndarray:
        """Read a dataset whose shape the caller checked; refuse a dataset that stores far less
        than it declares (a chunked "shape bomb").

        Args:
            dataset: the dataset.
            where: its path, for messages.
            expected_shape: the shape of the model's weight; the dataset must have exactly it.

        Returns:
            The data as a NumPy array of ``expected_shape``.
        """
        self.check_storage(dataset, where)
        shape = self.shape(dataset, where)
        if shape != tuple(expected_shape):
            raise self.error(where, f"has shape {shape}; the model's weight has "
                                    f"{tuple(expected_shape)}.")
        declared = int(np.prod(shape, dtype=np.int64)) * dataset.id.get_type().get_size()
        stored = dataset.id.get_storage_size()
        if dataset.id.get_create_plist().get_layout() == h5py.h5d.CHUNKED:
            if declared > EXPANSION_FLOOR_BYTES and declared > MAX_EXPANSION * stored:
                raise self.error(where, f"declares {declared} bytes but stores only {stored}: "
                                        "a shape bomb or a corrupted file.")
        elif declared and stored != declared:
            raise self.error(where, f"declares {declared} bytes but stores {stored}; the file "
                                    "is truncated or corrupted.")
        out = np.empty(shape, dtype=dataset.dtype)
        if out.size:
            dataset.read_direct(out)
        return out.view(BFLOAT16) if self.is_bfloat16(dataset, where) else out

    # -- attributes ----------------------------------------------------------------------------
    def has_attr(self, obj, name: str) -> bool:
        """Whether ``obj`` has the attribute ``name`` (only its header is consulted)."""
        return bool(h5py.h5a.exists(obj.id, name.encode("utf-8")))

    def attr_count(self, obj, where: str) -> int:
        """The number of attributes on ``obj``, bounded."""
        count = h5py.h5a.get_num_attrs(obj.id)
        if count > MAX_ATTRS_PER_OBJECT:
            raise self.error(where, f"declares {count} attributes.")
        return count

    def strings_attr(self, obj, name: str, where: str) -> list[str] | None:
        """A string (or 1-D string array) attribute as a list, or None when absent.

        The attribute's datatype, element count and byte size are checked in its header before
        anything is read; a non-string attribute is refused.
        """
        if not self.has_attr(obj, name):
            return None
        label = f"{where or '/'} attribute {name!r}"
        attr = h5py.h5a.open(obj.id, name.encode("utf-8"))
        kind = attr.get_type().get_class()
        space = attr.get_space()
        extent = space.get_simple_extent_type()
        if extent == h5py.h5s.NULL:
            return []
        if extent == h5py.h5s.SIMPLE and space.get_simple_extent_ndims() > 1:
            raise FileFormatError(f"{self.source}: {label} has more than one dimension.")
        count = int(space.get_simple_extent_npoints())
        if kind != h5py.h5t.STRING:
            if kind == h5py.h5t.FLOAT and count == 0:
                return []   # Keras writes an empty list as an empty float array
            raise FileFormatError(f"{self.source}: {label} should hold text; it holds HDF5 type "
                                  f"class {kind}.")
        size = attr.get_type().get_size()
        variable = attr.get_type().is_variable_str()
        if count > MAX_ATTR_ELEMENTS or (not variable and size * count > MAX_ATTR_BYTES):
            raise FileFormatError(f"{self.source}: {label} declares {count} strings of "
                                  f"{size} bytes, beyond this reader's limits.")
        dtype = h5py.string_dtype() if variable else np.dtype(f"S{max(size, 1)}")
        out = np.empty(() if extent == h5py.h5s.SCALAR else (count,), dtype=dtype)
        if count:
            attr.read(out, mtype=None if not variable else h5py.h5t.py_create(dtype))
        values = [_text(v) for v in np.atleast_1d(out)]
        if sum(len(v) for v in values) > MAX_ATTR_BYTES:
            raise FileFormatError(f"{self.source}: {label} holds more than {MAX_ATTR_BYTES} "
                                  "bytes of text.")
        return values

    def string_attr(self, obj, name: str, where: str) -> str | None:
        """A scalar string attribute, or None when absent."""
        values = self.strings_attr(obj, name, where)
        if values is None:
            return None
        if len(values) != 1:
            raise FileFormatError(f"{self.source}: {where or '/'} attribute {name!r} should be "
                                  f"one string; it holds {len(values)}.")
        return values[0]

    def chunked_strings_attr(self, obj, name: str, where: str) -> list[str]:
        """A string list Keras may split into ``name0``, ``name1``, ... (bounded by the number
        of attributes the object has)."""
        values = self.strings_attr(obj, name, where)
        if values is not None:
            return values
        out: list[str] = []
        for index in range(self.attr_count(obj, where)):
            part = self.strings_attr(obj, f"{name}{index}", where)
            if part is None:
                break
            out.extend(part)
            if len(out) > MAX_ATTR_ELEMENTS:
                raise self.error(where, f"attribute {name!r} lists more than "
                                        f"{MAX_ATTR_ELEMENTS} names.")
        return out


def _text(value) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


@contextlib.contextmanager
def open_h5(path, source: str | None = None) -> Iterator[H5Reader]:
    """Open an HDF5 file for guarded reading; any failure inside becomes FileFormatError.

    Args:
        path: the file on disk.
        source: how to name the file in messages (default: ``repr(path)``).

    Yields:
        An :class:`H5Reader`.

    Raises:
        FileNotFoundError: no such file.
        FileFormatError: not a readable HDF5 file, or anything read from it is damaged (the
            original exception is chained).
    """
    path = os.fspath(path)
    source = source or repr(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {source}. Check the path.")
    try:
        # No file locking (read-only use), and the default sec2 driver only: nothing else opens.
        handle = h5py.File(path, "r", driver="sec2", locking=False)
    except READ_ERRORS as exc:
        raise FileFormatError(f"{source} is not a readable HDF5 file (truncated or "
                              f"corrupted?): {type(exc).__name__}: {exc}") from exc
    try:
        yield H5Reader(handle, source)
    except FileFormatError:
        raise
    except READ_ERRORS as exc:
        raise FileFormatError(f"{source}: could not read the HDF5 file (corrupted, or not "
                              f"written by Keras?): {type(exc).__name__}: {exc}") from exc
    finally:
        with contextlib.suppress(*READ_ERRORS):
            handle.close()


__all__ = ["H5Reader", "open_h5", "ALLOWED_FILTERS", "READ_ERRORS"]
