"""Execute a Keras test file from the installed wheel as a fresh, private module.

The module is never registered in ``sys.modules``; its ``__builtins__`` carry the
keras-aware ``__import__`` of :mod:`namespace`, so the file's imports (module level and
inside its test methods, at test time) resolve to thawnet. Files are compiled with their
real path, so tracebacks and ``inspect.getsource`` show Keras's lines.
"""

from __future__ import annotations

import os
import types

from .keras_source import layers_test_dir, read_test_source
from .missing import Missing
from .namespace import KerasRoot, adapter_builtins

_LAYERS_PREFIX = "keras.src.layers."


class TestFileLoader:
    """Loads each Keras layer test file once per session (an import cycle sees the
    partially executed module, as Python's own imports do)."""

    def __init__(self):
        self.root = KerasRoot(self.load_dotted)
        self._builtins = adapter_builtins(self.root)
        self._modules: dict[str, types.ModuleType] = {}
        self.load_errors: dict[str, BaseException] = {}

    def load_dotted(self, dotted: str):
        """``keras.src.layers.convolutional.conv_test`` -> that file's module."""
        if not dotted.startswith(_LAYERS_PREFIX):
            return Missing(f"{dotted} (a Keras test module outside keras/src/layers)")
        return self.load(dotted[len(_LAYERS_PREFIX):].replace(".", "/") + ".py")

    def load(self, rel_path: str) -> types.ModuleType:
        """The executed module of ``keras/src/layers/<rel_path>``.

        Args:
            rel_path: e.g. ``"core/dense_test.py"``.

        Returns:
            The module (cached). Raises what the file raised if it cannot be executed.
        """
        if rel_path in self._modules:
            return self._modules[rel_path]
        if rel_path in self.load_errors:
            raise self.load_errors[rel_path]
        path = os.path.join(layers_test_dir(), rel_path)
        name = "keras_conformance_run." + rel_path[: -len(".py")].replace("/", ".")
        module = types.ModuleType(name)
        module.__file__ = path
        module.__dict__["__builtins__"] = self._builtins
        self._modules[rel_path] = module
        try:
            exec(compile(read_test_source(rel_path), path, "exec"), module.__dict__)
        except BaseException as err:
            del self._modules[rel_path]
            self.load_errors[rel_path] = err
            raise
        return module
