"""Keras import paths re-pointed to thawnet, without touching ``sys.modules``.

A Keras test file is executed in a fresh module whose ``__builtins__`` carry our own
``__import__`` (see :func:`make_import`). Every ``import keras...`` / ``from keras.src import
x`` inside that file (also inside its functions, at test time) is answered here:

* ``keras``, ``keras.src``, ``keras.layers``: one root object; ``layers``, ``ops``, ``models``,
  ``initializers``, ... resolve to the thawnet module of the same name (``thawnet.layers``,
  ``thawnet.ops``, ...), ``backend`` and ``testing`` to the shims of this folder;
* a Keras *internal* submodule (``keras.src.layers.activations.relu``) collapses onto its
  thawnet namespace (``thawnet.layers``): only the public names matter;
* ``keras.src.layers.<family>.<x>_test`` loads that other Keras test file through the same
  adapter (tests import helpers such as ``np_conv2d`` from each other);
* a name thawnet lacks becomes a :class:`~missing.Missing` placeholder: the test fails with
  "thawnet has no <name>" when it uses it (or skips, for quantization/export).

Nothing named ``keras`` is ever put into ``sys.modules``: the rest of the suite imports the
real Keras as its oracle.
"""

from __future__ import annotations

import builtins
import importlib.util
import types
from typing import Callable

import thawnet

from . import backend_shim, conftest_shim, testing_shim
from .keras_internals import special_module
from .keras_source import keras_module_exists
from .missing import Missing, skipped_module
from .thawnet_modules import thawnet_module

# Keras modules that cannot apply to thawnet by design: using them skips, with the reason.
SKIPPED_KERAS_MODULES = {
    "quantizers": "quantization (int8/int4/float8/GPTQ/AWQ): out of thawnet's scope",
    "export": "export to TF SavedModel / ONNX: needs tensorflow, which is not installed",
}
# Third-party packages some tests import; when absent, using them skips with the reason.
SKIPPED_PACKAGES = {
    "tensorflow": "tf.data / tensorflow: tensorflow is not installed (thawnet runs on JAX)",
    "torch": "torch: another backend's library, not installed",
    "grain": "grain data loaders: not installed",
}
# Keras modules whose public home is elsewhere: ``PyDataset`` is ``keras.utils.PyDataset``.
_RENAMED: dict[str, str] = {"trainers": "utils"}
# Keras modules answered by our own shims (they are test utilities, not layer behaviour).
_SHIMS = {"backend": backend_shim, "testing": testing_shim}


class ThawnetProxy:
    """The Keras module ``keras_path`` seen through the thawnet module ``target``.

    Args:
        keras_path: dotted Keras path this object stands for (``"keras.src.ops"``).
        target: the thawnet module answering attribute lookups (``thawnet.ops``).
        label: how missing names are reported (``"ops"`` gives "thawnet has no ops.x").
        load_test_module: loader for ``..._test`` modules (other Keras test files).
    """

    def __init__(self, keras_path: str, target, label: str,
                 load_test_module: Callable[[str], types.ModuleType], fallbacks=()):
        self._keras_path = keras_path
        self._target = target
        self._label = label
        self._load_test_module = load_test_module
        # Enclosing thawnet namespaces, searched after ``target``: Keras's
        # ``layers.convolutional.conv1d.Conv1D`` is ``thawnet.layers.Conv1D`` too.
        self._fallbacks = tuple(fallbacks)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        sub_path = f"{self._keras_path}.{name}"
        special = special_module(sub_path)
        if special is not None:
            return special
        if name.endswith("_test") and keras_module_exists(sub_path):
            return self._load_test_module(sub_path)
        targets = [t for t in (self._target,) + self._fallbacks if not isinstance(t, Missing)]
        if keras_module_exists(sub_path):
            # A Keras submodule: a proxy over thawnet's module of that name, if there is one.
            inner = [getattr(t, name) for t in targets
                     if isinstance(getattr(t, name, None), types.ModuleType)]
            if inner:
                return ThawnetProxy(sub_path, inner[0], f"{self._label}.{name}",
                                    self._load_test_module, targets)
            return ThawnetProxy(sub_path, self._target, self._label, self._load_test_module,
                                self._fallbacks)
        for target in targets:
            if hasattr(target, name):
                return getattr(target, name)
        if isinstance(self._target, Missing):
            return getattr(self._target, name)
        return Missing(f"{self._label}.{name}")

    def __repr__(self) -> str:
        return f"<{self._keras_path} -> {self._label}>"


class KerasRoot:
    """``keras`` / ``keras.src``: the top-level names of Keras, answered by thawnet."""

    def __init__(self, load_test_module: Callable[[str], types.ModuleType]):
        self._load_test_module = load_test_module
        self._cache: dict[str, object] = {}

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name == "src":
            return self
        if name not in self._cache:
            self._cache[name] = self._resolve(name)
        return self._cache[name]

    def _resolve(self, name: str):
        if name in _SHIMS:
            return _SHIMS[name]
        if name in SKIPPED_KERAS_MODULES:
            return skipped_module(name, SKIPPED_KERAS_MODULES[name])
        special = special_module(f"keras.src.{name}")
        if special is not None:
            return special
        if name.endswith("_test") and keras_module_exists(f"keras.src.{name}"):
            return self._load_test_module(f"keras.src.{name}")
        if keras_module_exists(f"keras.src.{name}"):
            thawnet_name = _RENAMED.get(name, name)
            return ThawnetProxy(f"keras.src.{name}", thawnet_module(thawnet_name),
                                thawnet_name, self._load_test_module)
        # A top-level class or function (keras.Input, keras.Sequential, keras.Model, ...).
        for owner in (thawnet, thawnet.layers, thawnet.models):
            if hasattr(owner, name):
                return getattr(owner, name)
        return Missing(name)

    def resolve(self, dotted: str):
        """The object for a dotted Keras path (``"keras.src.layers.activations.relu"``)."""
        obj = self
        for part in dotted.split(".")[1:]:
            obj = getattr(obj, part)
        return obj


def make_import(root: KerasRoot) -> Callable:
    """An ``__import__`` that answers ``keras...`` from ``root`` and defers the rest.

    Args:
        root: the :class:`KerasRoot` of this adapter.

    Returns:
        A drop-in replacement for :func:`builtins.__import__`.
    """
    real_import = builtins.__import__

    def keras_aware_import(name, globals=None, locals=None, fromlist=(), level=0):
        top = name.split(".")[0]
        if level == 0 and top == "keras":
            return root.resolve(name) if fromlist else root
        if level == 0 and name == "conftest":
            return conftest_shim
        if level == 0 and top in SKIPPED_PACKAGES and importlib.util.find_spec(top) is None:
            return _walk(skipped_module(top, SKIPPED_PACKAGES[top]), name, fromlist)
        return real_import(name, globals, locals, fromlist, level)

    return keras_aware_import


def _walk(module: Missing, name: str, fromlist) -> Missing:
    """``import tensorflow.x as y`` / ``from tensorflow import data``: placeholders all the way."""
    if not fromlist:
        return module
    obj = module
    for part in name.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def adapter_builtins(root: KerasRoot) -> dict:
    """A copy of the builtins whose ``__import__`` is re-pointed (for one test module)."""
    table = dict(vars(builtins))
    table["__import__"] = make_import(root)
    return table
