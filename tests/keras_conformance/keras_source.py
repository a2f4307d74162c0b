"""Where the installed Keras wheel keeps its tests, found at test time (never copied).

The keras wheel ships ``keras/src/layers/**/*_test.py`` and the trainer, callback and saving
tests (``keras/src/{trainers,callbacks,saving}/*_test.py``). We only *read* those files: the
package is located with :func:`importlib.util.find_spec`, which does not import it.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache


@lru_cache(maxsize=1)
def keras_package_dir() -> str:
    """The directory of the installed ``keras`` package.

    Returns:
        An absolute path (``.../site-packages/keras``).

    Raises:
        FileNotFoundError: when keras is not installed (``pip install -e ".[test]"``).
    """
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "tests/keras_conformance needs the keras wheel (it reads keras/src/layers/**/"
            "*_test.py from it); it is not installed. Fix: pip install -e \".[test]\".")
    return os.path.abspath(list(spec.submodule_search_locations)[0])


# The folders of keras/src whose top-level ``*_test.py`` files the model-level suite runs
# (``trainers/data_adapters/`` is below the top level: Keras's data-adapter internals).
SUITE_FOLDERS: tuple[str, ...] = ("trainers", "callbacks", "saving")


def keras_src_dir() -> str:
    """``.../keras/src``."""
    return os.path.join(keras_package_dir(), "src")


def layers_test_dir() -> str:
    """``.../keras/src/layers``."""
    return os.path.join(keras_src_dir(), "layers")


@lru_cache(maxsize=1)
def suite_test_files() -> tuple[str, ...]:
    """The ``*_test.py`` files directly in ``keras/src/{trainers,callbacks,saving}``.

    Returns:
        Paths relative to ``keras/src``, sorted (``("callbacks/backup_and_restore_test.py",
        ..., "trainers/trainer_test.py")``).
    """
    found = []
    for folder in SUITE_FOLDERS:
        path = os.path.join(keras_src_dir(), folder)
        found += [f"{folder}/{name}" for name in os.listdir(path) if name.endswith("_test.py")]
    return tuple(sorted(found))


@lru_cache(maxsize=1)
def layer_test_files() -> tuple[str, ...]:
    """Every ``*_test.py`` under ``keras/src/layers``, as paths relative to it, sorted.

    Returns:
        e.g. ``("activations/activation_test.py", ..., "rnn/time_distributed_test.py")``.
    """
    root = layers_test_dir()
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith("_test.py"):
                found.append(os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/"))
    return tuple(sorted(found))


def read_test_source(rel_path: str, base_dir: str | None = None) -> str:
    """The text of one Keras test file.

    Args:
        rel_path: path relative to ``base_dir`` (``"core/dense_test.py"``).
        base_dir: default ``keras/src/layers``.

    Returns:
        The file's source code.
    """
    with open(os.path.join(base_dir or layers_test_dir(), rel_path), encoding="utf-8") as f:
        return f.read()


def keras_module_exists(dotted: str) -> bool:
    """Whether ``keras.src.a.b`` names a module or package in the installed wheel.

    Used to tell a Keras *submodule* (``keras.src.layers.activations``) from an attribute
    thawnet lacks (``keras.src.ops.take_along_axis``) without importing keras.
    """
    parts = dotted.split(".")
    if parts[0] != "keras":
        return False
    base = os.path.join(keras_package_dir(), *parts[1:])
    return os.path.isdir(base) or os.path.isfile(base + ".py")
