"""Execute a Keras test file from the installed wheel as a fresh, private module.

The module is never registered in ``sys.modules``; its ``__builtins__`` carry the
keras-aware ``__import__`` of :mod:`namespace`, so the file's imports (module level and
inside its test methods, at test time) resolve to thawnet. Files are compiled with their
real path, so tracebacks and ``inspect.getsource`` show Keras's lines.
"""

from __future__ import annotations

import os
import types

from typing import Callable

from .keras_source import layers_test_dir, read_test_source
from .missing import Missing
from .namespace import KerasRoot, adapter_builtins

_LAYERS_PREFIX = "keras.src.layers."


class TestFileLoader:
    """Loads each Keras test file once per session (an import cycle sees the partially
    executed module, as Python's own imports do).

    Args:
        base_dir: where the relative paths start (default: ``keras/src/layers``; the
            trainer/callback/saving suite uses ``keras/src``).
        dotted_prefix: the Keras package of ``base_dir`` (``"keras.src.layers."``).
    """

    def __init__(self, base_dir: Callable[[], str] = layers_test_dir,
                 dotted_prefix: str = _LAYERS_PREFIX):
        self._base_dir = base_dir
        self._prefix = dotted_prefix
        self.root = KerasRoot(self.load_dotted)
        self._builtins = adapter_builtins(self.root)
        self._modules: dict[str, types.ModuleType] = {}
        self.load_errors: dict[str, BaseException] = {}

    def load_dotted(self, dotted: str):
        """``keras.src.layers.convolutional.conv_test`` -> that file's module."""
        if not dotted.startswith(self._prefix):
            return Missing(f"{dotted} (a Keras test module outside {self._prefix[:-1]})")
        return self.load(dotted[len(self._prefix):].replace(".", "/") + ".py")

    def load(self, rel_path: str) -> types.ModuleType:
        """The executed module of ``<base_dir>/<rel_path>``.

        Args:
            rel_path: e.g. ``"core/dense_test.py"``.

        Returns:
            The module (cached). Raises what the file raised if it cannot be executed.
        """
        if rel_path in self._modules:
            return self._modules[rel_path]
        if rel_path in self.load_errors:
            raise self.load_errors[rel_path]
        base_dir = self._base_dir()
        path = os.path.join(base_dir, rel_path)
        name = "keras_conformance_run." + rel_path[: -len(".py")].replace("/", ".")
        module = types.ModuleType(name)
        module.__file__ = path
        module.__dict__["__builtins__"] = self._builtins
        self._modules[rel_path] = module
        try:
            exec(compile(read_test_source(rel_path, base_dir), path, "exec"), module.__dict__)
        except BaseException as err:
            del self._modules[rel_path]
            self.load_errors[rel_path] = err
            raise
        return module
