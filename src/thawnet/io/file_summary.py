"""``thawnet summary <file>``: what a saved file holds, read from its headers only.

For files that carry an architecture (``.thawnet``, a native folder, ``.keras``) the model is
rebuilt from the config alone — weights stay unmaterialised, so no array is read — and its
summary is printed with the explanation of the non-trainable parameters. Every file then gets
its weight table: path, role, trainable flag, shape, dtype and size, from the safetensors
header, ``config.json`` or the HDF5 dataset headers.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from thawnet.io import archive as archive_lib
from thawnet.io import model_config
from thawnet.io.errors import FileFormatError
from thawnet.io.h5_guard import open_h5
from thawnet.io.keras_config import build_from_config
from thawnet.io.keras_files import read_archive_config
from thawnet.io.native import _checked_config, describe


def _weight_rows_native(path):
    return [(w.path, w.role or "?", "?" if w.trainable is None else ("Y" if w.trainable else "N"),
             w.shape, w.dtype, w.size) for w in describe(path)]


def _weight_rows_h5(path):
    """One row per dataset, from the headers only, walking hard links only (h5_guard)."""
    rows = []
    with open_h5(path) as reader:
        for name, obj in reader.walk():
            if isinstance(obj, h5py.Dataset):
                shape = reader.shape(obj, name)
                rows.append((name, "?", "?", shape, str(obj.dtype),
                             int(np.prod(shape, dtype=np.int64))))
    return rows


def _model_native(path):
    with archive_lib.Archive(path) as arc:
        config = _checked_config(arc)
    model = model_config.build_model(config.get("model"), None, f"{path} config.json")
    by_path = model.weights_by_path()
    for entry in config.get("weights") or []:
        v = by_path.get(entry.get("path"))
        if v is not None:
            v.trainable = bool(entry.get("own_trainable", True)) and v.role == "parameter"
    return model


def _model_keras(path):
    """The model of a ``.keras`` archive, from its checked, bounded config.json alone."""
    return build_from_config(read_archive_config(path), None)


def summarize_file(path, print_fn=print, explain=True, show_trainable=False):
    """Print the summary (when the file has an architecture) and the weight table of ``path``."""
    path = os.fspath(path)
    name = path.lower()
    model = None
    if name.endswith(".thawnet") or os.path.isdir(path):
        model, rows = _model_native(path), _weight_rows_native(path)
    elif name.endswith(".safetensors"):
        rows = _weight_rows_native(path)
    elif name.endswith(".keras"):
        model = _model_keras(path)
        rows = [(v.path, v.role, "Y" if v in model.trainable_weights else "N", v.shape,
                 v.dtype.name, v.size) for v in model.weights]
    elif name.endswith((".h5", ".hdf5")):
        rows = _weight_rows_h5(path)
    else:
        raise FileFormatError(f"thawnet summary: cannot tell the format of {path!r}; expected "
                         ".thawnet, a native folder, .safetensors, .keras, .weights.h5 or .h5.")
    if model is not None:
        model.summary(print_fn=print_fn, explain=explain, show_trainable=show_trainable)
    width = max([len(r[0]) for r in rows] + [6])
    print_fn(f"Weights in {path}:")
    print_fn(f"  {'weight':<{width}}  {'role':<9}  {'trainable':<9}  {'shape':<18}  "
             f"{'dtype':<8}  size")
    for p, role, trainable, shape, dtype, size in rows:
        print_fn(f"  {p:<{width}}  {role:<9}  {trainable:<9}  {str(shape):<18}  {dtype:<8}  "
                 f"{size:,}")
    total = sum(r[5] for r in rows)
    print_fn(f"  {len(rows)} arrays, {total:,} values")
