"""Keras *internal* modules that the trainer, callback and saving tests import, and what
answers them for thawnet.

Keras's model-level tests reach below the public API: ``saving_lib.H5IOStore``,
``epoch_iterator.EpochIterator``, ``compile_utils.CompileLoss``, ``file_editor``, the
``distribution`` API. thawnet mirrors Keras's public behaviour, not these internals, so:

* the public functions such a module exposes are answered by thawnet's public API
  (``saving_lib.save_model`` is what ``model.save`` does; ``save_weights_only`` is
  ``model.save_weights``);
* every other name of an *internal* module becomes a placeholder that **skips** the test when
  used, with a reason that names the missing internal (``Keras internal without a thawnet
  counterpart: keras.src.saving.saving_lib.H5IOStore``);
* modules that are test utilities rather than behaviour (``file_utils.exists``,
  ``keras.src.tree``) are answered by the standard library or the real Keras helper.

Anything public that thawnet lacks is *not* in here: it stays a failing placeholder
("thawnet has no ...").
"""

from __future__ import annotations

import importlib
import os
import shutil
import types

import thawnet
from thawnet.training.trainer import Trainer

from .missing import Missing

INTERNAL = "Keras internal without a thawnet counterpart"


def internal_placeholder(dotted: str, why: str = "") -> Missing:
    """A placeholder whose use skips the test, naming the Keras internal it stands for."""
    return Missing(dotted, skip_reason=f"{INTERNAL}: {dotted}" + (f" ({why})" if why else ""))


def _save_weights_only(model, filepath, max_shard_size=None, objects_to_skip=None):
    # Keras's model.save_weights calls saving_lib.save_weights_only: thawnet's is public.
    if max_shard_size is not None or objects_to_skip is not None:
        internal_placeholder("keras.src.saving.saving_lib.save_weights_only("
                                   "max_shard_size/objects_to_skip)")._fail()
    model.save_weights(filepath)


def _load_weights_only(model, filepath, skip_mismatch=False, objects_to_skip=None):
    if objects_to_skip is not None:
        internal_placeholder("keras.src.saving.saving_lib.load_weights_only("
                                   "objects_to_skip)")._fail()
    model.load_weights(filepath, skip_mismatch=skip_mismatch)


def _save_model(model, filepath, weights_format="h5", zipped=True):
    if weights_format != "h5" or not zipped:
        internal_placeholder("keras.src.saving.saving_lib.save_model(weights_format/"
                                   "zipped)", "only zipped .keras files with .h5 weights")._fail()
    thawnet.saving.save_model(model, filepath)


class InternalModule:
    """A Keras internal module: ``public`` names answered by thawnet, the rest skip.

    Args:
        dotted: the Keras module path (``"keras.src.saving.saving_lib"``).
        public: Keras names with a thawnet counterpart.
        fallback: a thawnet module searched after ``public`` (or None).
        internal_names: when given, only these names skip; any other name missing from
            thawnet is a failing placeholder (a public Keras name thawnet lacks). When None,
            every name outside ``public``/``fallback`` is internal.
        why: what the internals are (shown in the skip reason).
    """

    def __init__(self, dotted: str, public: dict | None = None, fallback=None,
                 internal_names: frozenset | None = None, why: str = ""):
        self._dotted = dotted
        self._public = public or {}
        self._fallback = fallback
        self._internal_names = internal_names
        self._why = why

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._public:
            return self._public[name]
        if self._fallback is not None and hasattr(self._fallback, name):
            return getattr(self._fallback, name)
        if self._internal_names is None or name in self._internal_names:
            return internal_placeholder(f"{self._dotted}.{name}", self._why)
        return Missing(f"{self._dotted.replace('keras.src.', '')}.{name}")

    def __repr__(self) -> str:
        return f"<Keras internal {self._dotted}>"


def _file_utils() -> "InternalModule":
    # Local-path helpers the callback tests use to look at the files a callback wrote; the
    # remote-file-system and download parts of Keras's file_utils have no counterpart.
    return InternalModule(
        "keras.src.utils.file_utils",
        public={"exists": os.path.exists, "join": os.path.join, "isdir": os.path.isdir,
                "listdir": os.listdir, "makedirs": os.makedirs, "remove": os.remove,
                "rmtree": shutil.rmtree, "is_remote_path": lambda path: False},
        why="remote file systems and downloads")


def _factories() -> dict:
    saving = thawnet.saving
    return {
        "keras.src.saving.saving_lib": lambda: InternalModule(
            "keras.src.saving.saving_lib",
            public={"save_model": _save_model, "load_model": saving.load_model,
                    "save_weights_only": _save_weights_only,
                    "load_weights_only": _load_weights_only},
            why="the .keras file-format internals (IO stores, sharding, zip helpers)"),
        "keras.src.saving.saving_api": lambda: InternalModule(
            "keras.src.saving.saving_api",
            public={"save_weights": lambda model, path, **kw: model.save_weights(path, **kw),
                    "load_weights": lambda model, path, **kw: model.load_weights(path, **kw)},
            fallback=saving, internal_names=frozenset()),
        "keras.src.saving.serialization_lib": lambda: InternalModule(
            "keras.src.saving.serialization_lib", fallback=saving,
            internal_names=frozenset({"SafeModeScope", "ObjectSharingScope",
                                      "serialize_dict", "in_safe_mode", "get_build_config"}),
            why="serialization scopes"),
        "keras.src.saving.object_registration": lambda: InternalModule(
            "keras.src.saving.object_registration", fallback=saving,
            internal_names=frozenset({"GLOBAL_CUSTOM_NAMES", "GLOBAL_CUSTOM_OBJECTS",
                                      "CustomObjectScope"}),
            why="the registry's internal dicts"),
        # ``ops.random.uniform``: Keras's ops package re-exports backend.random there.
        "keras.src.ops.random": lambda: thawnet.random,
        "keras.src.saving.file_editor": lambda: internal_placeholder(
            "keras.src.saving.file_editor", "KerasFileEditor"),
        "keras.src.trainers.epoch_iterator": lambda: internal_placeholder(
            "keras.src.trainers.epoch_iterator", "EpochIterator"),
        "keras.src.trainers.compile_utils": lambda: internal_placeholder(
            "keras.src.trainers.compile_utils", "CompileLoss/CompileMetrics"),
        "keras.src.trainers.data_adapters": lambda: InternalModule(
            "keras.src.trainers.data_adapters",
            public={"py_dataset_adapter": types.SimpleNamespace(
                PyDataset=thawnet.utils.PyDataset)},
            why="the data-adapter classes"),
        "keras.src.distribution": lambda: internal_placeholder(
            "keras.src.distribution", "Keras's DeviceMesh/LayoutMap/DataParallel API; "
            "thawnet has thawnet.distribute"),
        "keras.src.legacy": lambda: internal_placeholder(
            "keras.src.legacy", "the legacy whole-model HDF5 format"),
        "keras.src.callbacks.orbax_checkpoint": lambda: internal_placeholder(
            "keras.src.callbacks.orbax_checkpoint", "OrbaxCheckpoint: orbax checkpointing"),
        "keras.src.utils.file_utils": _file_utils,
        # Off TensorFlow, Keras's convert_tf_tensor is convert_to_tensor (a test-side helper).
        "keras.src.utils.backend_utils": lambda: InternalModule(
            "keras.src.utils.backend_utils",
            public={"convert_tf_tensor": lambda outputs, dtype=None:
                    thawnet.ops.convert_to_tensor(outputs, dtype=dtype),
                    "in_tf_graph": lambda: False},
            why="TensorFlow-graph helpers"),
        "keras.src.utils.module_utils": lambda: InternalModule(
            "keras.src.utils.module_utils",
            public={"tensorflow": Missing("tensorflow", skip_reason=(
                "tf.data / tensorflow: tensorflow is not installed (thawnet runs on JAX)"))},
            why="lazy optional-module imports"),
        # A pure structure utility, used to compute expected values: the real Keras helper.
        "keras.src.tree": lambda: importlib.import_module("keras.src.tree"),
    }


_CACHE: dict[str, object] = {}


def special_module(dotted: str):
    """What answers the Keras module ``dotted`` if it is one of the above, else None.

    Args:
        dotted: a Keras path (``"keras.src.saving.saving_lib"``).

    Returns:
        The answering object (cached), or ``None`` for an ordinary re-pointed module.
    """
    if dotted not in _CACHE:
        factory = _factories().get(dotted)
        if factory is None:
            return None
        _CACHE[dotted] = factory()
    return _CACHE[dotted]


# ``keras.src.backend.jax.trainer.JAXTrainer``: "a model is just a layer mixed in with a
# Trainer" (Keras's trainer tests); thawnet's Model mixes in thawnet.training.Trainer.
BACKEND_TRAINER = types.SimpleNamespace(JAXTrainer=Trainer)
SYMBOLIC_SCOPE = internal_placeholder("keras.src.backend.common.symbolic_scope",
                                      "in_symbolic_scope")
