"""Loading a ``.keras`` archive compiled: its ``compile_config`` and ``optimizer/vars``.

:func:`thawnet.io.keras_files.load_keras_archive` rebuilds the model and its weights; this
module then compiles it from the archive's ``compile_config`` and puts Keras's optimizer
variables (``optimizer/vars`` in ``model.weights.h5``) into its optimizer state, so ``fit``
continues where it stopped. It works for archives written by Keras and by thawnet alike.

Nothing is executed: the config is JSON, classes are looked up by name, and the HDF5 datasets
read are plain, contiguous or chunked, stored inside the file (no external storage or virtual
datasets).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from thawnet.io.compile_config import compile_from_config
from thawnet.io.h5_guard import open_h5
from thawnet.io.keras_files import (MAX_WEIGHTS_RATIO, WEIGHTS, read_archive_config,
                                    read_folder_config,
                                    weights_bound)
from thawnet.io.optimizer_state import restore_keras_optimizer_variables
from thawnet.io.zip_checks import check_member, copy_member, open_zip

OPTIMIZER_GROUP = ("optimizer", "vars")


def _optimizer_arrays(weights_file: str, source: str) -> list | None:
    """The datasets ``0..n-1`` of ``optimizer/vars`` (read through the guarded HDF5 reader:
    hard links and in-file storage only), or None when the file has none."""
    with open_h5(weights_file, source) as reader:
        root = reader.handle
        if "optimizer" not in reader.names(root, ""):
            return None
        optimizer = reader.child(root, "optimizer", "")
        if "vars" not in reader.names(optimizer, "optimizer"):
            return None
        group = reader.resolve(list(OPTIMIZER_GROUP))
        names = reader.names(group, "optimizer/vars")
        if sorted(names, key=lambda n: (len(n), n)) != [str(i) for i in range(len(names))]:
            raise reader.error("optimizer/vars", f"holds {sorted(names)[:8]}; Keras writes "
                                                 "datasets named 0, 1, 2, ...")
        arrays = []
        for i in range(len(names)):
            where = f"optimizer/vars/{i}"
            dataset = reader.child(group, str(i), "optimizer/vars")
            reader.check_storage(dataset, where)
            arrays.append(reader.read(dataset, where, reader.shape(dataset, where)))
        return arrays


def restore_compiled(model, path) -> bool:
    """Compile ``model`` (just loaded from the ``.keras`` file ``path``) as the file says,
    and restore its optimizer state.

    Args:
        model: the model :func:`~thawnet.io.keras_files.load_keras_archive` returned.
        path: the same ``.keras`` file.

    Returns:
        True when the model was compiled (the optimizer state restored when the file holds
        one that fits; a warning otherwise, as in Keras).
    """
    path = os.fspath(path)
    source = repr(path)
    config = read_archive_config(path, source)
    if not compile_from_config(model, config.get("compile_config"), source):
        return False
    tmpdir = tempfile.mkdtemp(prefix="thawnet_keras_")
    try:
        with open_zip(path, source) as archive:
            info = archive.getinfo(WEIGHTS)
            check_member(info, os.path.getsize(path), weights_bound(model), source,
                         MAX_WEIGHTS_RATIO, "Keras archives")
            weights_file = os.path.join(tmpdir, WEIGHTS)
            copy_member(archive, info, weights_file, source)
        arrays = _optimizer_arrays(weights_file, f"{source} (member {WEIGHTS})")
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if arrays:
        restore_keras_optimizer_variables(model, arrays, source)
    return True


def restore_compiled_folder(model, path) -> bool:
    """:func:`restore_compiled` for an unzipped archive (``save(..., zipped=False)``)."""
    path = os.fspath(path)
    source = repr(path)
    if not compile_from_config(model, read_folder_config(path).get("compile_config"), source):
        return False
    arrays = _optimizer_arrays(os.path.join(path, WEIGHTS), f"{source} ({WEIGHTS})")
    if arrays:
        restore_keras_optimizer_variables(model, arrays, source)
    return True


__all__ = ["restore_compiled", "restore_compiled_folder"]
