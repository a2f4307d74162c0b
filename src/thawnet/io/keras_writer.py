"""``model.save("m.keras")``: a Keras 3 archive that Keras and thawnet both load.

The archive is a zip of three members, as Keras 3 writes it:

* ``metadata.json`` — ``keras_version`` (the Keras format this file follows), ``date_saved``
  and ``thawnet_version``;
* ``config.json`` — the architecture in Keras's serialization format
  (:mod:`thawnet.io.keras_serialize`) and, for a compiled model, ``compile_config``
  (:mod:`thawnet.io.compile_config`);
* ``model.weights.h5`` — the weights in Keras 3's layout
  (:mod:`thawnet.io.keras_weights_writer`), with the optimizer's variables under
  ``optimizer/vars`` (:mod:`thawnet.io.optimizer_state`).

The write is atomic (:func:`thawnet.io.atomic.atomic_write`): a failed save leaves the previous
file as it was. Nothing in the archive is code: no pickles, no lambdas.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import zipfile

from thawnet.io import compile_config as compile_lib
from thawnet.io import optimizer_state
from thawnet.io.atomic import atomic_write, atomic_write_folder
from thawnet.io.keras_serialize import serialize_model
from thawnet.io.keras_weights_writer import weights_h5_bytes

# The Keras 3 release whose archive layout these files follow (and that the tests load them
# with); Keras reads archives of any 3.x version.
KERAS_FORMAT_VERSION = "3.15.1"
METADATA, CONFIG, WEIGHTS = "metadata.json", "config.json", "model.weights.h5"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _thawnet_version() -> str:
    try:
        return importlib.metadata.version("thawnet")
    except importlib.metadata.PackageNotFoundError:   # running from a source tree
        return "unknown"


def archive_members(model) -> dict[str, bytes]:
    """The three members of ``model``'s ``.keras`` archive.

    Args:
        model: a built Sequential or functional thawnet model.

    Returns:
        ``{member name: bytes}``.

    Raises:
        ValueError: the model cannot be described as a Keras config (subclassed, unbuilt, or
            a layer config JSON cannot hold).
    """
    config = serialize_model(model)
    config["compile_config"] = compile_lib.compile_config(model)
    optimizer_vars = optimizer_state.keras_optimizer_variables(model) \
        if config["compile_config"] is not None else None
    weights = weights_h5_bytes(model, optimizer_vars,
                               getattr(getattr(model, "optimizer", None), "name", None))
    metadata = {"keras_version": KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "thawnet_version": _thawnet_version()}
    return {METADATA: json.dumps(metadata).encode("utf-8"),
            CONFIG: json.dumps(config).encode("utf-8"), WEIGHTS: weights}


def _write_zip(f, members):
    with zipfile.ZipFile(f, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            # Keras stores members uncompressed; the weights are incompressible anyway.
            info.compress_type = zipfile.ZIP_STORED if name == WEIGHTS else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def save_keras_archive(model, path, overwrite: bool = True) -> None:
    """Write ``model`` to a Keras 3 ``.keras`` archive, atomically.

    Args:
        model: a built Sequential or functional model (compiled or not).
        path: a name ending in ``.keras``.
        overwrite: when False, an existing file raises FileExistsError.
    """
    path = os.fspath(path)
    if not path.lower().endswith(".keras"):
        raise ValueError(f"save: {path!r} must end in .keras for a Keras 3 archive.")
    members = archive_members(model)   # everything is computed before the file is touched
    atomic_write(path, lambda f: _write_zip(f, members), overwrite=overwrite)


def save_keras_folder(model, path, overwrite: bool = True) -> None:
    """Write the members of ``model``'s ``.keras`` archive into the folder ``path``
    (Keras's ``save(..., zipped=False)``), swapped in atomically.

    Raises:
        ValueError: ``path`` ends in ``.keras`` (that name is for the zipped archive).
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    path = os.fspath(path)
    if path.lower().endswith(".keras"):
        raise ValueError(f"save(zipped=False): the folder name {path!r} should not end in "
                         ".keras, which names the zipped archive. Drop the extension (e.g. "
                         "'my_model_dir') or save with zipped=True.")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"save: {path!r} exists; pass overwrite=True to replace it.")
    atomic_write_folder(path, archive_members(model))


__all__ = ["save_keras_archive", "save_keras_folder", "archive_members",
           "KERAS_FORMAT_VERSION"]
