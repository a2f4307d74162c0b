"""Reading Keras's files into thawnet: Keras 3 ``.weights.h5``, legacy ``.h5``, ``.keras``.

Entry points (called by :mod:`thawnet.models.model_files`):

- :func:`load_keras3_weights` — ``model.load_weights("x.weights.h5")``;
- :func:`load_legacy_h5_weights` — ``model.load_weights("x.h5", by_name=..., skip_mismatch=...)``;
- :func:`load_keras_archive` — ``thawnet.models.load_model("x.keras")``.

All weight loading is all or nothing, and nothing in a file is ever executed. Every failure
to read a file is a :class:`~thawnet.io.errors.FileFormatError` naming the user's file (never a
temporary copy), the member or weight, and the problem, with the original exception chained.

A ``.keras`` archive is read in an order that bounds the work by the model it declares: the
central directory is checked (names, compression method, encryption, sizes and ratios) before
anything is inflated; ``config.json`` is bounded in size and nesting before it is parsed; the
model is rebuilt from it (weights stay unmaterialised); the size ``model.weights.h5`` may have
is derived from the rebuilt model's weight shapes, and only then is that member streamed, with
that limit, into a private temporary folder that is always removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
import zipfile

from thawnet import optimizers
from thawnet.io.errors import FileFormatError, MissingFileError
from thawnet.io.h5_guard import MAX_EXPANSION
from thawnet.io.keras_config import (MAX_CONFIG_BYTES, KerasConfigError, build_from_config,
                                     count_layers, parse_config_json)
from thawnet.io.keras_weights import load_keras3_weights, load_legacy_h5_weights
from thawnet.io.model_classes import is_model
from thawnet.io.zip_checks import check_member, copy_member, open_zip, read_member, traversal_name

CONFIG, WEIGHTS = "config.json", "model.weights.h5"
MAX_CONFIG_RATIO = 200        # JSON deflates ~10x; 200x is a bomb, not a config
MAX_WEIGHTS_RATIO = MAX_EXPANSION   # deflate's own ceiling; fresh optimizer slots are zeros
# model.weights.h5 also holds optimizer state: up to 5 arrays per weight (Adam with amsgrad
# and EMA: m, v, v_hat, ema, plus a loss-scale copy), each at least float32, and HDF5 spends
# a few KiB of headers per array and group.
STATE_COPIES = 6
HEADER_BYTES_PER_ARRAY = 16 << 10
BASE_BYTES = 4 << 20
_UNREAD_SUFFIXES = (".pkl", ".pickle", ".npy", ".joblib")
_KIND = "Keras archives"


def _members(archive: zipfile.ZipFile, source: str) -> dict:
    """``{name: ZipInfo}``, refusing traversal, pickles and duplicated members."""
    infos = {}
    for info in archive.infolist():
        name = info.filename
        if traversal_name(name):
            raise FileFormatError(f"{source}: refusing archive member {name!r}: its path points "
                                  "outside the archive (path traversal).")
        if name.lower().endswith(_UNREAD_SUFFIXES):
            raise FileFormatError(f"{source}: refusing archive member {name!r}: pickled content "
                                  "is never loaded (it could execute code).")
        if name in infos:
            raise FileFormatError(f"{source}: the member {name!r} occurs twice; readers would "
                                  "disagree on which one counts.")
        infos[name] = info
    missing = [m for m in (CONFIG, WEIGHTS) if m not in infos]
    if missing:
        raise FileFormatError(f"{source} is not a Keras 3 archive: it lacks {missing} (found "
                              f"{sorted(infos)[:8]}). Keras 3 writes config.json, metadata.json "
                              "and model.weights.h5.")
    return infos


def _check_unread(infos: dict, total: int, source: str) -> None:
    """Members thawnet never reads (metadata.json, assets/...) still may not be zip bombs."""
    for name, info in infos.items():
        if name not in (CONFIG, WEIGHTS) and not name.endswith("/"):
            check_member(info, total, MAX_CONFIG_BYTES, source, MAX_CONFIG_RATIO, _KIND)


def read_archive_config(path: str, source: str | None = None) -> dict:
    """Check a ``.keras`` archive's directory and return its parsed, bounded ``config.json``.

    Args:
        path: the archive.
        source: how to name it in messages (default ``repr(path)``).

    Returns:
        The config as a dict.

    Raises:
        FileFormatError: unsafe or damaged archive, or a config over the limits.
    """
    source = source or repr(os.fspath(path))
    with open_zip(os.fspath(path), source) as archive:
        infos = _members(archive, source)
        total = os.path.getsize(path)
        _check_unread(infos, total, source)
        check_member(infos[CONFIG], total, MAX_CONFIG_BYTES, source, MAX_CONFIG_RATIO, _KIND)
        return parse_config_json(read_member(archive, infos[CONFIG], source),
                                 f"{source} {CONFIG}")


def weights_bound(model) -> int:
    """The most bytes a Keras ``model.weights.h5`` for ``model`` can need (see STATE_COPIES)."""
    weights = model.weights
    data = sum(int(v.size) * max(v.dtype.itemsize, 4) for v in weights)
    return STATE_COPIES * (data + HEADER_BYTES_PER_ARRAY * len(weights)) + BASE_BYTES


def _model_from(config: dict, custom_objects, source: str):
    """Rebuild the model of a parsed config; every failure is a KerasConfigError."""
    where = f"{source} {CONFIG}"
    try:
        count_layers(config)
        model = build_from_config(config, custom_objects)
        weights_bound(model)   # walks the weights: a model that cannot list them fails here
    except KerasConfigError as err:
        raise KerasConfigError(f"load_model({source}): {err}") from err
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - anything a hostile config provokes is a file error
        raise KerasConfigError(f"load_model({source}): {where} cannot be rebuilt into a model: "
                               f"{type(err).__name__}: {err}") from err
    if not is_model(model):
        raise KerasConfigError(f"load_model({source}): {where} describes a "
                               f"{type(model).__name__}, not a model.")
    return model


def _load_archive_weights(archive, info, model, total: int, source: str,
                          skip_mismatch: bool = False) -> None:
    """Check ``model.weights.h5``'s declared size against the model, stream it, load it."""
    if not model.weights and not getattr(model, "built", False):
        raise FileFormatError(f"{source}: {CONFIG} describes a model without an input shape "
                              "(no InputLayer or build_input_shape), so its weights cannot be "
                              "placed. The archive is corrupted or its config was edited.")
    bound = weights_bound(model)
    check_member(info, total, bound, source, MAX_WEIGHTS_RATIO, _KIND)
    needed = sum(int(v.size) * v.dtype.itemsize for v in model.weights)
    if needed > MAX_EXPANSION * max(info.file_size, 1) + BASE_BYTES:
        raise FileFormatError(f"{source}: config.json declares {needed} bytes of weights but "
                              f"{WEIGHTS} holds only {info.file_size} bytes. The archive is "
                              "corrupted or its config was edited.")
    tmpdir = tempfile.mkdtemp(prefix="thawnet_keras_")
    try:
        weights_file = os.path.join(tmpdir, WEIGHTS)
        copy_member(archive, info, weights_file, source)
        load_keras3_weights(model, weights_file, skip_mismatch=skip_mismatch,
                            source=f"{source} (member {WEIGHTS})")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def load_archive_weights(model, path, skip_mismatch: bool = False) -> None:
    """Load the weights of a ``.keras`` archive into an existing model (Keras's
    ``model.load_weights("m.keras")``): its ``model.weights.h5`` member, with the archive
    checks of :func:`load_keras_archive`; the config is not rebuilt. All or nothing.

    Raises:
        FileFormatError: unsafe or damaged archive, or weights that do not fit.
        FileNotFoundError: no such file.
    """
    path = os.fspath(path)
    source = repr(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_weights: no such file {source}.")
    with open_zip(path, source) as archive:
        infos = _members(archive, source)
        _check_unread(infos, os.path.getsize(path), source)
        _load_archive_weights(archive, infos[WEIGHTS], model, os.path.getsize(path), source,
                              skip_mismatch=skip_mismatch)


def _compile_from(model, compile_config):
    """Compile with the archive's optimizer/loss/metrics when thawnet knows them; else warn."""
    if not isinstance(compile_config, dict) or compile_config.get("loss") is None:
        return
    try:
        optimizer = compile_config.get("optimizer") or "rmsprop"
        if isinstance(optimizer, dict):
            config = optimizer.get("config") or {}
            optimizer = {"class_name": optimizer.get("class_name"), "config": {
                k: v for k, v in config.items() if v is not None and k != "name"}}
        model.compile(optimizer=optimizers.get(optimizer), loss=compile_config.get("loss"),
                      metrics=compile_config.get("metrics"),
                      loss_weights=compile_config.get("loss_weights"))
    except Exception as err:  # noqa: BLE001 - compile is optional; the model itself is fine
        warnings.warn(f'load_model: the archive\'s compile settings could not be restored '
                      f"({type(err).__name__}: {err}); the model is returned uncompiled. Call "
                      "model.compile(...) yourself.", stacklevel=3)


def load_keras_archive(path, custom_objects=None, compile=True):
    """Rebuild a model saved by Keras 3 (``model.save("x.keras")``) and load its weights.

    Args:
        path: the ``.keras`` file (a zip archive).
        custom_objects: ``{class_name: class}`` for layer classes outside thawnet's registry.
        compile: restore the archive's optimizer, loss and metrics when thawnet knows them
            (a warning and an uncompiled model otherwise).

    Returns:
        The thawnet model (Sequential or functional Model), with Keras's layer names,
        trainable flags and weights.

    Raises:
        FileFormatError: unsafe archive (path traversal, zip bomb, pickles, unknown compression,
            encryption), a config thawnet refuses (Lambda, unknown or out-of-Keras classes,
            unsupported arguments, too large or deep), a damaged or hostile weights file, or
            weights that do not fit. :class:`KerasConfigError` is the config's kind of it.
        FileNotFoundError: no such file.
    """
    path = os.fspath(path)
    source = repr(path)
    if not os.path.isfile(path):
        raise MissingFileError(f"load_model: no such file {source} (file not found). Check "
                               "the path; a .keras file is a zip archive saved by "
                               "model.save('<name>.keras').")
    config = read_archive_config(path, source)
    model = _model_from(config, custom_objects, source)
    with open_zip(path, source) as archive:
        infos = _members(archive, source)
        _load_archive_weights(archive, infos[WEIGHTS], model, os.path.getsize(path), source)
    if compile:
        _compile_from(model, config.get("compile_config"))
    return model


def is_keras_folder(path) -> bool:
    """Whether ``path`` is an unzipped ``.keras`` archive (``save(..., zipped=False)``): a
    folder holding ``config.json`` and ``model.weights.h5``."""
    path = os.fspath(path)
    return os.path.isdir(path) and all(os.path.isfile(os.path.join(path, m))
                                       for m in (CONFIG, WEIGHTS))


def read_folder_config(path) -> dict:
    """The parsed, bounded ``config.json`` of an unzipped archive."""
    source = repr(os.fspath(path))
    config_file = os.path.join(os.fspath(path), CONFIG)
    if os.path.getsize(config_file) > MAX_CONFIG_BYTES:
        raise FileFormatError(f"{source}: {CONFIG} holds {os.path.getsize(config_file)} bytes, "
                              f"over the {MAX_CONFIG_BYTES} a model config may take.")
    with open(config_file, "rb") as f:
        return parse_config_json(f.read(), f"{source} {CONFIG}")


def load_keras_folder(path, custom_objects=None):
    """Rebuild the model of an unzipped ``.keras`` archive and load its weights (the same
    checks as :func:`load_keras_archive`: nothing is imported or executed); uncompiled."""
    path = os.fspath(path)
    source = repr(path)
    model = _model_from(read_folder_config(path), custom_objects, source)
    load_keras3_weights(model, os.path.join(path, WEIGHTS), source=f"{source} ({WEIGHTS})")
    return model


__all__ = ["load_keras3_weights", "load_legacy_h5_weights", "load_keras_archive",
           "load_archive_weights", "is_keras_folder", "load_keras_folder",
           "read_archive_config", "weights_bound", "KerasConfigError", "FileFormatError"]
