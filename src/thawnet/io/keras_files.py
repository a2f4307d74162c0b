"""Reading Keras's files into thawnet: Keras 3 ``.weights.h5``, legacy ``.h5``, ``.keras``.

Entry points (called by :mod:`thawnet.models.model_files`):

- :func:`load_keras3_weights` — ``model.load_weights("x.weights.h5")``;
- :func:`load_legacy_h5_weights` — ``model.load_weights("x.h5", by_name=..., skip_mismatch=...)``;
- :func:`load_keras_archive` — ``thawnet.models.load_model("x.keras")``.

All weight loading is all or nothing, and nothing in a file is ever executed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
import zipfile

from thawnet.io.keras_config import KerasConfigError, build_from_config
from thawnet.io.keras_weights import load_keras3_weights, load_legacy_h5_weights

MAX_CONFIG_BYTES = 64 << 20          # config.json / metadata.json
MAX_WEIGHTS_BYTES = 32 << 30         # model.weights.h5
MAX_COMPRESSION_RATIO = 200          # beyond this a member is treated as a zip bomb


def _check_members(archive, path):
    """Refuse unsafe member names, pickles and absurd sizes before reading anything."""
    for info in archive.infolist():
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise ValueError(f"{path!r}: refusing archive member {name!r}: its path points "
                             "outside the archive (path traversal).")
        if name.lower().endswith((".pkl", ".pickle", ".npy", ".joblib")):
            raise ValueError(f"{path!r}: refusing archive member {name!r}: pickled content is "
                             "never loaded (it could execute code).")
        limit = MAX_WEIGHTS_BYTES if name == "model.weights.h5" else MAX_CONFIG_BYTES
        if info.file_size > limit:
            raise ValueError(f"{path!r}: member {name!r} claims {info.file_size} bytes "
                             f"uncompressed (limit {limit}); refusing a possible zip bomb.")
        # Weights can legitimately be mostly zeros (fresh optimizer slots): allow more there.
        ratio = MAX_COMPRESSION_RATIO * (5 if name == "model.weights.h5" else 1)
        if info.compress_size and info.file_size > (1 << 20) and \
                info.file_size / info.compress_size > ratio:
            raise ValueError(f"{path!r}: member {name!r} expands {info.file_size} bytes from "
                             f"{info.compress_size} (ratio over {ratio}); "
                             "refusing a possible zip bomb.")
    names = set(archive.namelist())
    missing = [m for m in ("config.json", "model.weights.h5") if m not in names]
    if missing:
        raise ValueError(f"{path!r} is not a Keras 3 archive: it lacks {missing} (found "
                         f"{sorted(names)[:8]}). Keras 3 writes config.json, metadata.json and "
                         "model.weights.h5.")


def _read_bounded(archive, name, limit, path):
    with archive.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path!r}: member {name!r} expands beyond {limit} bytes; refusing a "
                         "possible zip bomb.")
    return data


def _copy_bounded(archive, name, target, limit, path):
    written = 0
    with archive.open(name) as member, open(target, "wb") as out:
        while True:
            chunk = member.read(1 << 20)
            if not chunk:
                break
            written += len(chunk)
            if written > limit:
                raise ValueError(f"{path!r}: member {name!r} expands beyond {limit} bytes; "
                                 "refusing a possible zip bomb.")
            out.write(chunk)


def _compile_from(model, compile_config):
    """Compile with the archive's optimizer/loss/metrics when thawnet knows them; else warn."""
    if not compile_config or compile_config.get("loss") is None:
        return
    optimizer = compile_config.get("optimizer") or "rmsprop"
    if isinstance(optimizer, dict):
        config = optimizer.get("config") or {}
        optimizer = {"class_name": optimizer.get("class_name"),
                     "config": {k: v for k, v in config.items() if v is not None and k != "name"}}
    try:
        from thawnet import optimizers
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
        ValueError: unsafe archive (path traversal, zip bomb, pickles), a config thawnet
            refuses (Lambda, unknown or out-of-Keras classes, unsupported arguments), or
            weights that do not fit.
        OSError: the file is missing or is not a zip archive.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_model: no such file {path!r}.")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise ValueError(f"load_model: {path!r} is not a zip archive, so not a Keras 3 .keras "
                         f"file (truncated or corrupted?): {err}") from err
    tmpdir = tempfile.mkdtemp(prefix="thawnet_keras_")
    try:
        with archive:
            _check_members(archive, path)
            try:
                config = json.loads(_read_bounded(archive, "config.json", MAX_CONFIG_BYTES, path))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise ValueError(f"load_model: config.json in {path!r} is not valid JSON: "
                                 f"{err}") from err
            weights_file = os.path.join(tmpdir, "model.weights.h5")
            _copy_bounded(archive, "model.weights.h5", weights_file, MAX_WEIGHTS_BYTES, path)
        try:
            model = build_from_config(config, custom_objects)
        except KerasConfigError as err:
            raise KerasConfigError(f"load_model({path!r}): {err}") from err
        from thawnet.models.model import Model
        if not isinstance(model, Model):
            raise KerasConfigError(f"load_model({path!r}): config.json describes a "
                                   f"{type(model).__name__}, not a model.")
        load_keras3_weights(model, weights_file)
    except zipfile.BadZipFile as err:
        raise ValueError(f"load_model: {path!r} is a damaged zip archive: {err}") from err
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if compile:
        _compile_from(model, config.get("compile_config"))
    return model


__all__ = ["load_keras3_weights", "load_legacy_h5_weights", "load_keras_archive",
           "KerasConfigError"]
