"""thawnet's native files: ``.thawnet`` models and ``.safetensors`` weights.

* ``model.save("m.thawnet")`` writes a zip of ``manifest.json`` (format version, size and
  SHA-256 of each member), ``config.json`` (the architecture and the weight table) and
  ``model.safetensors`` (the weights by path). A folder holds the same three files.
* ``model.save_weights("w.safetensors")`` writes the weights by path; the header's metadata
  holds the weight table (role, trainable) and a SHA-256 of the tensors.

Every write is atomic, folders included (:mod:`thawnet.io.atomic`): a crash at any moment
leaves the path holding the complete old file or folder or the complete new one. Every read
is validated completely before the model is touched, and a file that does not fit raises
:class:`~thawnet.io.errors.FileFormatError`.
"""

from __future__ import annotations

import json
import os
from collections import namedtuple

import numpy as np

from thawnet.backend.types import PathLike
from thawnet.io import archive as archive_lib
from thawnet.io import model_config
from thawnet.io import optimizer_state
from thawnet.io import safetensors_io as st
from thawnet.io.atomic import (atomic_write, atomic_write_bytes, atomic_write_folder,
                               restore_interrupted)
from thawnet.io.errors import FileFormatError
from thawnet.variables import PARAMETER, ROLES, materialize_all
from thawnet.version import __version__

FORMAT_VERSION = archive_lib.FORMAT_VERSION
WeightInfo = namedtuple("WeightInfo", "path role trainable shape dtype size")
WeightInfo.__doc__ = ("One weight as described by a file: path, role, trainable (None when the "
                      "file does not say), shape, dtype name and size (number of elements).")

# All of thawnet's metadata sits under one key (one JSON string), so that the header, whose
# metadata map the safetensors package writes in no fixed order, is the same on every save.
_META_KEY = "thawnet"


# -- saving ------------------------------------------------------------------------------------
def save_model(model, path, overwrite=True):
    """Save architecture and weights to ``path`` (``*.thawnet`` zip, or an existing folder).

    Args:
        model: a Sequential or functional model.
        path: ``"name.thawnet"``, or an existing folder to hold the three files. The
            folder must hold nothing else: it is replaced as a whole (see
            :mod:`thawnet.io.atomic`).
        overwrite: when False, an existing file raises FileExistsError.
    """
    path = os.fspath(path)
    as_zip = path.lower().endswith(".thawnet")
    if not as_zip:
        restore_interrupted(path)  # a killed fallback swap may have left the folder aside
    if not as_zip and not os.path.isdir(path):
        raise ValueError(f"save: {path!r} is neither a .thawnet file name nor an existing "
                         "folder. Use a name ending in .thawnet (a single zip file) or create "
                         "the folder first.")
    targets = [path] if as_zip else [os.path.join(path, n) for n in archive_lib.MEMBERS]
    if not overwrite and any(os.path.lexists(t) for t in targets):
        raise FileExistsError(f"{path!r} already holds a saved model and overwrite=False. Pass "
                              "overwrite=True to replace it, or choose another name.")
    config = {"format": "thawnet", "format_version": FORMAT_VERSION,
              "thawnet_version": _version(), "model": model_config.architecture(model),
              "weights": weight_table(model)}
    compile_config, optimizer_bytes = optimizer_state.native_parts(model)
    if compile_config is not None:
        config["compile_config"] = compile_config
    config_bytes = json.dumps(config, indent=1).encode("utf-8")
    members = {archive_lib.CONFIG: config_bytes, archive_lib.WEIGHTS: _weights_bytes(model)}
    if optimizer_bytes is not None:
        members[archive_lib.OPTIMIZER] = optimizer_bytes
    if as_zip:
        atomic_write(path, lambda f: archive_lib.write_zip(f, members), overwrite=overwrite)
    else:
        # The whole folder is written beside the old one and swapped in at once: a crash
        # leaves either model complete, never the new config with the old weights.
        atomic_write_folder(path, {archive_lib.MANIFEST: archive_lib.manifest_for(members),
                                   **members}, replaceable=archive_lib.MEMBERS)


def save_weights(model, path, overwrite=True):
    """Save the weights by path to a ``.safetensors`` file (atomic write).

    Args:
        model: any built model or layer.
        path: a name ending in ``.safetensors``.
        overwrite: when False, an existing file raises FileExistsError.
    """
    path = os.fspath(path)
    if not path.lower().endswith(".safetensors"):
        raise ValueError(f"save_weights: {path!r} must end in .safetensors (thawnet writes "
                         "weights in the safetensors format). Use e.g. 'model.safetensors'.")
    data = _weights_bytes(model)
    atomic_write_bytes(path, data, overwrite=overwrite)


def weight_table(model):
    """One dict per weight, in the model's weight order: path, shape, dtype, role, trainable
    (effective, as the model stands) and own_trainable (the variable's own flag)."""
    train, _ = model.trainable_split()
    train = set(train)
    return [{"path": p, "shape": list(v.shape), "dtype": v.dtype.name, "role": v.role,
             "trainable": p in train, "own_trainable": v.own_trainable}
            for p, v in model.weights_by_path().items()]


def _weights_bytes(model):
    import jax

    by_path = model.weights_by_path()
    materialize_all(list(by_path.values()))
    values = jax.device_get([v.value for v in by_path.values()])
    arrays = {p: np.asarray(a) for p, a in zip(by_path, values)}
    meta = {"format_version": FORMAT_VERSION, "thawnet_version": _version(),
            "sha256": st.content_digest(arrays), "weights": weight_table(model)}
    return st.encode(arrays, {_META_KEY: json.dumps(meta, sort_keys=True)})


def _version():
    return __version__


# -- loading -----------------------------------------------------------------------------------
def load_weights(model, path):
    """Load weights by path from a ``.safetensors`` file, a ``.thawnet`` file or a folder.

    All or nothing: any mismatch raises FileFormatError naming the weight, what the model
    expects and what the file holds, and the model keeps its weights.
    """
    arrays, table, source = _read_weights(path)
    _assign(model, arrays, table, source)


def load_model(path, custom_objects=None, compile=True):
    """Rebuild a model saved by :func:`save_model` and load its weights.

    Args:
        path: a ``.thawnet`` file or a folder written by ``model.save``.
        custom_objects: ``{class_name: class}`` for your own layer classes.
        compile: compile the model as it was saved (optimizer with its state, loss,
            metrics), so ``fit`` continues where it stopped; False leaves it uncompiled.

    Returns:
        The model, with the saved layer and weight trainable flags.
    """

    config, arrays, table, source = _read_archive(path)
    model = model_config.build_model(config.get("model"), custom_objects, f"{source} config.json")
    table = _assign(model, arrays, table, source)
    by_path = model.weights_by_path()
    for entry in table:
        v = by_path[entry["path"]]
        v.trainable = entry["own_trainable"] and v.role == PARAMETER
    if compile and config.get("compile_config") is not None:
        with archive_lib.Archive(path) as arc:
            optimizer_state.restore_native(model, config["compile_config"], arc, source)
    return model


def describe(path: PathLike) -> list:
    """The weights a file holds, read from its header only (no array is loaded).

    Args:
        path: a ``.safetensors`` file, a ``.thawnet`` file or a native folder.

    Returns:
        A list of :data:`WeightInfo` ``(path, role, trainable, shape, dtype, size)``.
    """
    path = os.fspath(path)
    if path.lower().endswith(".safetensors"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No such file: {path!r}. Check the path.")
        header = st.read_header_file(path)
        meta = _metadata(header, repr(path))
        table = None if meta is None else meta["weights"]
        if table is None:
            return [WeightInfo(p, None, None, shape, dtype, int(np.prod(shape, dtype=np.int64)))
                    for p, (dtype, shape, _, _) in header.entries.items()]
        _check_header_against_table(header, table, repr(path))
    else:
        with archive_lib.Archive(path) as arc:
            table = _parse_table(_checked_config(arc).get("weights"), arc.source)
    return [WeightInfo(e["path"], e["role"], e["trainable"], tuple(e["shape"]), e["dtype"],
                       int(np.prod(e["shape"], dtype=np.int64))) for e in table]


def _read_weights(path):
    """``(arrays, table or None, source)`` from any native file, fully validated."""
    path = os.fspath(path)
    source = repr(path)
    if path.lower().endswith(".safetensors"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No such file: {path!r}. Check the path.")
        with open(path, "rb") as f:
            data = f.read()
        arrays, header = st.decode(data, source)
        meta = _metadata(header, source)
        table = None if meta is None else meta["weights"]
        if table is not None:
            _check_header_against_table(header, table, source)
        if meta is not None and meta["sha256"] != st.content_digest(arrays):
            raise FileFormatError(f"{source}: checksum mismatch: the tensors' SHA-256 differs "
                                  "from the one recorded when the file was written. The file "
                                  "is corrupted.")
        return arrays, table, source
    _, arrays, table, source = _read_archive(path)
    return arrays, table, source


def _read_archive(path):
    """``(config, arrays, table, source)`` of a ``.thawnet`` file or folder, fully checked."""
    with archive_lib.Archive(path) as arc:
        config = _checked_config(arc)
        weights = arc.read(archive_lib.WEIGHTS)
    table = _parse_table(config.get("weights"), arc.source)
    arrays, header = st.decode(weights, f"{arc.source} {archive_lib.WEIGHTS}")
    _check_header_against_table(header, table, arc.source)
    return config, arrays, table, arc.source


def _checked_config(arc):
    config = arc.read_json(archive_lib.CONFIG)
    archive_lib.check_version(config.get("format_version"), arc.source)
    return config


def _metadata(header, source):
    """thawnet's metadata in a safetensors header (validated), or None for foreign files."""
    raw = header.metadata.get(_META_KEY)
    if raw is None:
        return None
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise FileFormatError(f"{source}: the metadata {_META_KEY!r} is not valid JSON "
                              f"({e}). The file is corrupted.") from None
    if not isinstance(meta, dict):
        raise FileFormatError(f"{source}: the metadata {_META_KEY!r} must be a JSON object.")
    archive_lib.check_version(meta.get("format_version"), source)
    if not isinstance(meta.get("sha256"), str):
        raise FileFormatError(f"{source}: the metadata {_META_KEY!r} lacks the tensors' "
                              "sha256. The file is corrupted.")
    meta["weights"] = _parse_table(meta.get("weights"), source)
    return meta


def _parse_table(value, source):
    """Validate a weight table (a list of dicts) read from a file."""

    if not isinstance(value, list):
        raise FileFormatError(f"{source}: the weight table must be a list; found "
                              f"{type(value).__name__}.")
    seen = set()
    for e in value:
        ok = (isinstance(e, dict) and isinstance(e.get("path"), str)
              and isinstance(e.get("shape"), list)
              and all(type(d) is int and d >= 0 for d in e["shape"])
              and isinstance(e.get("dtype"), str) and e["dtype"] in st.NAMES
              and isinstance(e.get("role"), str) and e["role"] in ROLES
              and isinstance(e.get("trainable"), bool)
              and isinstance(e.get("own_trainable"), bool))
        if not ok:
            raise FileFormatError(f"{source}: malformed weight table entry {e!r:.200}; expected "
                                  "path, shape, dtype, role, trainable and own_trainable.")
        if e["path"] in seen:
            raise FileFormatError(f'{source}: the weight "{e["path"]}" is listed twice.')
        seen.add(e["path"])
    return value


def _check_header_against_table(header, table, source):
    """The tensors stored must be exactly those the table declares, with its shapes/dtypes."""
    declared = {e["path"]: e for e in table}
    missing = [p for p in declared if p not in header.entries]
    extra = [p for p in header.entries if p not in declared]
    problems = []
    if missing:
        problems.append(f"declared but not stored: {_few(missing)}")
    if extra:
        problems.append(f"stored but not declared: {_few(extra)}")
    for p, e in declared.items():
        if p in header.entries:
            dtype, shape, _, _ = header.entries[p]
            if (tuple(e["shape"]), e["dtype"]) != (shape, dtype):
                problems.append(f'"{p}" declared {tuple(e["shape"])} {e["dtype"]}, stored '
                                f"{shape} {dtype}")
    if problems:
        raise FileFormatError(f"{source}: the stored weights contradict the weight table: "
                              + "; ".join(problems[:8]) + ". The file is corrupted.")


def _assign(model, arrays, table, source):
    """Check every weight of ``model`` against ``arrays``, then assign them all; returns the
    weight table with the model's paths."""
    import jax.numpy as jnp

    _adopt_inner_layer_names(model, arrays, table)
    by_path = model.weights_by_path()
    roles = {e["path"]: e["role"] for e in table} if table is not None else {}
    problems = []
    missing = [p for p in by_path if p not in arrays]
    extra = [p for p in arrays if p not in by_path]
    if missing:
        problems.append(f"missing weights (in the model, not in the file): {_few(missing)}")
    if extra:
        problems.append(f"extra weights (in the file, not in the model): {_few(extra)}")
    for p, v in by_path.items():
        if p not in arrays:
            continue
        arr = arrays[p]
        if tuple(arr.shape) != v.shape:
            problems.append(f'"{p}": the model expects shape {v.shape}, the file has '
                            f"{tuple(arr.shape)}")
        if arr.dtype.name != v.dtype.name:
            problems.append(f'"{p}": the model expects dtype {v.dtype.name}, the file has '
                            f"{arr.dtype.name}")
        if roles.get(p, v.role) != v.role:
            problems.append(f'"{p}": the model has a {v.role}, the file a {roles[p]}')
    if problems:
        hint = (" Build the model first (call it on data or give it an Input)."
                if not by_path else " Load a file saved from the same architecture.")
        raise FileFormatError(f"{source} does not fit model \"{model.name}\": "
                              + "; ".join(problems[:10]) + "." + hint
                              + " The model's weights were not changed.")
    values = {p: jnp.asarray(arrays[p]) for p in by_path}
    for p, v in by_path.items():
        v.assign(values[p])
    return table


def _adopt_inner_layer_names(model, arrays, table):
    """Give layers *inside* a layer the names the file has for them, when the file holds the
    same weights in the same order under other automatic names (a custom layer's ``Dense``
    rebuilt in the same session is ``dense_3`` where the saving one was ``dense_1``).

    Paired in weight order, each pair must agree on the top-level layer, the weight's own
    name, shape, dtype and role, and each inner layer must get one name: otherwise nothing
    is renamed and the usual mismatch error follows. Returns whether names were adopted.
    """
    walked = list(model._walk())
    if table is None or len(table) != len(walked) or {p for p, _, _ in walked} == set(arrays):
        return False
    renames = {}
    for (model_path, v, owners), entry in zip(walked, table):
        file_path = entry.get("path")
        arr = arrays.get(file_path)
        m_parts, f_parts = model_path.split("/"), str(file_path).split("/")
        if (arr is None or len(m_parts) != len(f_parts) or len(m_parts) != len(owners)
                or m_parts[0] != f_parts[0] or m_parts[-1] != f_parts[-1]
                or tuple(arr.shape) != v.shape or arr.dtype.name != v.dtype.name
                or entry.get("role", v.role) != v.role):
            return False
        for layer, mine, theirs in zip(owners[1:], m_parts[:-1], f_parts[:-1]):
            if mine != theirs and renames.setdefault(id(layer), (layer, theirs))[1] != theirs:
                return False
    for layer, name in renames.values():
        layer.name = name
    return bool(renames)


def _few(items, n=5):
    shown = ", ".join(f'"{p}"' for p in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


__all__ = ["save_model", "save_weights", "load_weights", "load_model", "describe",
           "WeightInfo", "FileFormatError", "FORMAT_VERSION", "weight_table"]
