"""save / save_weights / load_weights / load_model: one entry point per action, dispatched on the
file name to the format's own module in :mod:`thawnet.io`.

| file                                 | format                                      |
| ------------------------------------ | ------------------------------------------- |
| ``*.thawnet`` (zip) or a folder      | native: config.json + model.safetensors     |
| ``*.safetensors``                    | native weights only                         |
| ``*.weights.h5``                     | Keras 3 weights (read and write)            |
| ``*.h5`` / ``*.hdf5``                | legacy Keras 2 weights (read)               |
| ``*.keras``                          | Keras 3 archive: config + weights (both)    |
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from thawnet.io import (keras_files, keras_training_state, keras_weights_writer,
                        keras_writer, native)
from thawnet.io.atomic import interrupted_backups
from thawnet.backend.types import PathLike


def _kind(filepath):
    original = os.fspath(filepath)
    name = original.lower()
    if name.endswith(".weights.h5"):
        return "keras3_weights"
    if name.endswith((".h5", ".hdf5")):
        return "keras_legacy_h5"
    if name.endswith(".keras"):
        return "keras_archive"
    if name.endswith(".safetensors"):
        return "safetensors"
    if os.path.isdir(original) and os.path.isfile(os.path.join(original, "model.weights.h5")):
        return "keras_folder"  # an unzipped .keras archive (save(..., zipped=False))
    # A folder whose save was killed mid-swap is still native (the loader says where it is).
    if name.endswith(".thawnet") or os.path.isdir(original) or interrupted_backups(original):
        return "native"
    return None


def _refuse_skip(objects_to_skip, call, filepath):
    if objects_to_skip:
        raise ValueError(f"{call}: objects_to_skip works with Keras 3 .weights.h5 files only "
                         f"(as in Keras); received {os.fspath(filepath)!r}. Use a name ending "
                         "in .weights.h5.")


class ModelFiles:
    """File methods of :class:`thawnet.models.Model`."""

    def save(self, filepath: PathLike, overwrite: bool = True, zipped: Any = None, **kwargs) -> Any:
        """Save architecture, weights and (when compiled) compile settings and optimizer
        state: ``*.keras`` as a Keras 3 archive, otherwise thawnet's native format (atomic).

        Keras 3's arguments: ``zipped=False`` writes the archive's members into a folder
        (its name must not end in ``.keras``); ``save_format`` is deprecated as in Keras (a
        warning when the name says the format, an error otherwise); ``include_optimizer``
        is accepted (the optimizer state is always saved with a compiled model); any other
        keyword is refused.
        """
        kwargs.pop("include_optimizer", True)
        save_format = kwargs.pop("save_format", None)
        if kwargs:
            raise ValueError(f"save: the argument(s) {sorted(kwargs)} are not supported; "
                             "save takes filepath, overwrite and zipped.")
        shown = os.fspath(filepath) if isinstance(filepath, (str, os.PathLike)) else filepath
        if save_format:
            if isinstance(shown, str) and shown.lower().endswith((".keras", ".h5", ".hdf5")):
                warnings.warn(f"save: save_format={save_format!r} is deprecated (Keras 3 too); "
                              "the format is taken from the file name. Remove the argument.",
                              DeprecationWarning, stacklevel=2)
            else:
                raise ValueError(f"save: save_format={save_format!r} is deprecated (Keras 3 "
                                 "too) and cannot choose the format: name the file "
                                 "'<name>.keras' (or '<name>.thawnet'). Received "
                                 f"filepath={shown!r}.")
        if zipped is False or _kind(filepath) == "keras_archive":
            write = (keras_writer.save_keras_folder if zipped is False
                     else keras_writer.save_keras_archive)
            return write(self, filepath, overwrite=overwrite)
        native.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath: PathLike, overwrite: bool = True, max_shard_size: Any = None,
                     objects_to_skip: Any = None) -> Any:
        """Save the weights: ``*.weights.h5`` in Keras 3's layout, otherwise by path to a
        ``.safetensors`` file (atomic write).

        ``objects_to_skip`` (``.weights.h5`` only, as in Keras): layers whose weights are left
        out. ``max_shard_size`` (Keras's sharded files) is not supported.
        """
        if max_shard_size is not None:
            raise ValueError(f"save_weights: max_shard_size={max_shard_size!r} (sharded weight "
                             "files) is not supported by thawnet; leave it at None to write "
                             "one file.")
        if _kind(filepath) == "keras3_weights":
            return keras_weights_writer.save_keras3_weights(
                self, filepath, overwrite=overwrite, objects_to_skip=objects_to_skip)
        _refuse_skip(objects_to_skip, "save_weights", filepath)
        native.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: PathLike, by_name: bool = False, skip_mismatch: bool = False,
                     objects_to_skip: Any = None) -> Any:
        """Load weights from a native, Keras 3 (``.weights.h5``, or the weights of a ``.keras``
        archive) or legacy Keras (``.h5``) file.

        All or nothing: a file that does not fit raises and leaves the model's weights as
        they were. ``objects_to_skip`` (``.weights.h5`` only, as in Keras): layers left as
        they are.
        """
        kind = _kind(filepath)
        if kind != "keras3_weights":
            _refuse_skip(objects_to_skip, "load_weights", filepath)
        if kind in ("safetensors", "native"):
            return native.load_weights(self, filepath)
        if kind == "keras3_weights":
            return keras_files.load_keras3_weights(self, filepath, skip_mismatch=skip_mismatch,
                                                   objects_to_skip=objects_to_skip)
        if kind == "keras_legacy_h5":
            return keras_files.load_legacy_h5_weights(self, filepath, by_name=by_name,
                                                      skip_mismatch=skip_mismatch)
        if kind == "keras_archive":  # Keras loads the weights member of a .keras archive
            return keras_files.load_archive_weights(self, filepath, skip_mismatch=skip_mismatch)
        raise ValueError(
            f"load_weights: cannot tell the format of {os.fspath(filepath)!r} from its name. "
            "Use .safetensors / .thawnet (native), .weights.h5 / .keras (Keras 3) or .h5 "
            "(Keras 2).")


def load_model(filepath: PathLike, custom_objects: dict[str, Any] | None = None,
               compile: bool = True, safe_mode: bool = True) -> Any:
    """Load a model saved by thawnet (``.thawnet``/folder) or by Keras 3 (``.keras``).

    Nothing in the file is executed: layer classes are looked up in thawnet's registry (plus
    ``custom_objects``), never imported by module path or unpickled.
    """
    kind = _kind(filepath)
    if kind in ("keras_archive", "keras_folder"):
        if kind == "keras_folder":  # an unzipped archive (save(..., zipped=False))
            model = keras_files.load_keras_folder(filepath, custom_objects=custom_objects)
            if compile:
                keras_training_state.restore_compiled_folder(model, filepath)
            return model
        model = keras_files.load_keras_archive(filepath, custom_objects=custom_objects,
                                               compile=False)
        if compile:
            keras_training_state.restore_compiled(model, filepath)
        return model
    if kind == "native":
        return native.load_model(filepath, custom_objects=custom_objects, compile=compile)
    raise ValueError(
        f"load_model: {os.fspath(filepath)!r} is neither a thawnet file (.thawnet or a folder) "
        "nor a Keras archive (.keras). For weight files use model.load_weights.")
