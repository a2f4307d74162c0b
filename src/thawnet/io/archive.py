"""The container of a native model: a ``.thawnet`` zip or a folder, read defensively.

Members: ``manifest.json`` (format version and the size and SHA-256 of each other member),
``config.json`` and ``model.safetensors``. Reading checks, before any member is used: only
these names occur (no path traversal, no extra or duplicate members, no encryption), declared
sizes are within limits and consistent with the manifest (no zip bombs), the format version is
one this thawnet reads, and each member's SHA-256 matches the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile

from thawnet.io.atomic import interrupted_backups
from thawnet.io.errors import FileFormatError
from thawnet.io.zip_checks import check_member
from thawnet.version import __version__

FORMAT_VERSION = 1
MANIFEST, CONFIG, WEIGHTS = "manifest.json", "config.json", "model.safetensors"
OPTIMIZER = "optimizer.safetensors"  # optional: a compiled model's optimizer state and RNG
MEMBERS = (MANIFEST, CONFIG, WEIGHTS, OPTIMIZER)
LIMITS = {MANIFEST: 2**20, CONFIG: 64 * 2**20, WEIGHTS: 2**40, OPTIMIZER: 2**40}
MAX_DEFLATE_RATIO = 200  # config JSON compresses ~10x; 200x is a bomb, not a config
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so saving the same model gives the same bytes


def check_version(version, source):
    """Raise FileFormatError unless ``version`` is a format version this thawnet reads."""
    if type(version) is not int or version < 1:
        raise FileFormatError(f"{source}: format_version must be a positive int; found "
                              f"{version!r}. The file is corrupted or not a thawnet file.")
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"{source} was written by a newer thawnet (file format version {version}; this "
            f"thawnet reads versions up to {FORMAT_VERSION}). Upgrade thawnet "
            "(pip install -U thawnet) to load it.")


def manifest_for(members):
    """The manifest bytes for ``{name: bytes}``."""
    entries = {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
               for name, data in members.items()}
    return json.dumps({"format": "thawnet", "format_version": FORMAT_VERSION,
                       "thawnet_version": __version__, "members": entries},
                      indent=1, sort_keys=True).encode("utf-8")


def write_zip(f, members):
    """Write ``{name: bytes}`` plus the manifest (first) as a zip into the open file ``f``."""
    with zipfile.ZipFile(f, "w") as zf:
        for name, data in [(MANIFEST, manifest_for(members))] + list(members.items()):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            # Weights are stored (incompressible, and reading needs no inflate); JSON deflated.
            info.compress_type = (zipfile.ZIP_STORED if name in (WEIGHTS, OPTIMIZER)
                                  else zipfile.ZIP_DEFLATED)
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


class Archive:
    """An open ``.thawnet`` zip or native folder; use as a context manager.

    Args:
        path: the file or folder.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self.source = repr(self.path)
        self._zip = None
        if not os.path.exists(self.path):
            backups = interrupted_backups(self.path)
            hint = (f" A save to it was killed midway; the previous model is complete at "
                    f"{backups[-1]!r}, and the next save to {self.path!r} puts it back first."
                    if backups else "")
            raise FileNotFoundError(f"No such file or folder: {self.path!r}. Check the "
                                    f"path.{hint}")
        if os.path.isdir(self.path):
            self._sizes = self._folder_sizes()
        else:
            self._sizes = self._zip_sizes()
        try:
            self._manifest = self._read_manifest()
        except BaseException:
            self.close()
            raise

    def _read_manifest(self):
        raw = self._raw(MANIFEST, LIMITS[MANIFEST])
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise FileFormatError(f"{self.source}: {MANIFEST} is not valid JSON ({e}).") from None
        if not isinstance(manifest, dict) or manifest.get("format") != "thawnet":
            raise FileFormatError(f"{self.source}: {MANIFEST} does not describe a thawnet file.")
        check_version(manifest.get("format_version"), self.source)
        members = manifest.get("members")
        if not isinstance(members, dict) or set(members) - {OPTIMIZER} != {CONFIG, WEIGHTS}:
            raise FileFormatError(f"{self.source}: {MANIFEST} must list exactly {CONFIG} and "
                                  f"{WEIGHTS} (and optionally {OPTIMIZER}); found "
                                  f"{members!r:.120}.")
        return members

    # -- opening -----------------------------------------------------------------------------
    def _zip_sizes(self):
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except Exception as e:  # BadZipFile, struct errors, bad encodings, ...
            self.close()
            raise FileFormatError(f"{self.source} is not a readable .thawnet (zip) file: "
                                  f"{type(e).__name__}: {e}. The file is truncated or "
                                  "corrupted.") from None
        total = os.path.getsize(self.path)
        sizes = {}
        try:
            for info in infos:
                name = info.filename
                if _unsafe(name):
                    raise FileFormatError(f"{self.source}: refusing the member name {name!r}: "
                                          "it points outside the archive (path traversal).")
                if name not in MEMBERS:
                    raise FileFormatError(f"{self.source}: unexpected member {name!r}; a "
                                          f"thawnet file holds only {list(MEMBERS)}.")
                if name in sizes:
                    raise FileFormatError(f"{self.source}: the member {name!r} occurs twice.")
                if info.flag_bits & 0x1:
                    raise FileFormatError(f"{self.source}: the member {name!r} is encrypted.")
                _check_declared(info, total, self.source)
                sizes[name] = info
        except FileFormatError:
            self.close()
            raise
        return sizes

    def _folder_sizes(self):
        sizes = {}
        root = os.path.realpath(self.path)
        for name in MEMBERS:
            full = os.path.join(self.path, name)
            if os.path.exists(full):
                if os.path.dirname(os.path.realpath(full)) != root or not os.path.isfile(full):
                    raise FileFormatError(f"{self.source}: {name} must be a plain file inside "
                                          "the folder (links leading elsewhere are refused).")
                sizes[name] = os.path.getsize(full)
        return sizes

    # -- reading -----------------------------------------------------------------------------
    def _raw(self, name, limit):
        if name not in self._sizes:
            raise FileFormatError(f"{self.source}: the member {name} is missing; the file is "
                                  "incomplete or not a thawnet model.")
        entry = self._sizes[name]
        size = entry.file_size if self._zip is not None else entry
        if size > limit:
            raise FileFormatError(f"{self.source}: {name} declares {size} bytes, more than "
                                  f"expected ({limit}). The file is corrupted.")
        try:
            if self._zip is not None:
                with self._zip.open(entry) as f:
                    data = f.read(size + 1)
            else:
                with open(os.path.join(self.path, name), "rb") as f:
                    data = f.read(size + 1)
        except Exception as e:  # CRC errors, truncated deflate streams, I/O errors
            raise FileFormatError(f"{self.source}: cannot read {name}: {type(e).__name__}: "
                                  f"{e}. The file is truncated or corrupted.") from None
        if len(data) != size:
            raise FileFormatError(f"{self.source}: {name} should hold {size} bytes; read "
                                  f"{len(data)}. The file is truncated or corrupted.")
        return data

    def read(self, name):
        """The bytes of ``config.json`` or ``model.safetensors``, checked against the
        manifest's size and SHA-256."""
        entry = self._manifest[name]
        if not isinstance(entry, dict) or type(entry.get("size")) is not int \
                or not isinstance(entry.get("sha256"), str):
            raise FileFormatError(f"{self.source}: the manifest entry of {name} is malformed.")
        if entry["size"] > LIMITS[name]:
            raise FileFormatError(f"{self.source}: the manifest declares {entry['size']} bytes "
                                  f"for {name}, over the limit of {LIMITS[name]}.")
        data = self._raw(name, entry["size"])
        found = hashlib.sha256(data).hexdigest()
        if len(data) != entry["size"] or found != entry["sha256"]:
            raise FileFormatError(
                f"{self.source}: checksum mismatch in {name}: the manifest records "
                f"{entry['size']} bytes with SHA-256 {entry['sha256']:.16}..., the member has "
                f"{len(data)} bytes with SHA-256 {found:.16}.... The file is corrupted.")
        return data

    def has(self, name):
        """Whether the manifest lists the (optional) member ``name``."""
        return name in self._manifest

    def read_json(self, name=CONFIG):
        """The checked member parsed as a JSON object."""
        raw = self.read(name)
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise FileFormatError(f"{self.source}: {name} is not valid JSON ({e}).") from None
        if not isinstance(value, dict):
            raise FileFormatError(f"{self.source}: {name} must hold a JSON object.")
        return value

    def close(self):
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _unsafe(name):
    parts = name.replace("\\", "/").split("/")
    return (name.startswith(("/", "\\")) or "\\" in name or "\x00" in name or ":" in name
            or any(p in ("..", ".") for p in parts) or len(parts) > 1)


def _check_declared(info, total, source):
    """Refuse absurd declared sizes before anything is inflated (shared zip checks)."""
    check_member(info, total, LIMITS[info.filename], source, MAX_DEFLATE_RATIO)


__all__ = ["Archive", "FORMAT_VERSION", "MEMBERS", "check_version", "write_zip",
           "manifest_for"]
