"""Every public function, method and class of thawnet's API is annotated (issue #11 item 5).

The walk starts at the public namespaces (``thawnet``, ``thawnet.layers``, ``thawnet.ops``, ...),
takes the names each one exports (``__all__``, or the names without a leading underscore), and
checks each function defined in thawnet, and each method (with ``__init__`` and ``__call__``,
properties' getters and setters) of each class defined in thawnet, its thawnet bases included
(a public class exposes what it inherits): every parameter carries an annotation and so does
the return.

Exempt: the first parameter of a method (``self``/``cls``: its type is the class), and
``*args``/``**kwargs``, which in this API forward to another signature (a layer's ``**kwargs`` go
to ``Layer.__init__``, an op wrapper's to the op) whose parameters are annotated where they are
declared. Functions generated at import (``thawnet.ops``'s elementwise ops) carry annotations
too: the check reads ``__annotations__`` at run time.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from typing import Any, Callable, Iterator

import pytest

NAMESPACES = [
    "thawnet", "thawnet.activations", "thawnet.applications", "thawnet.callbacks",
    "thawnet.config", "thawnet.constraints", "thawnet.distribute", "thawnet.dtype_policies",
    "thawnet.initializers", "thawnet.io", "thawnet.layers", "thawnet.losses", "thawnet.metrics",
    "thawnet.models", "thawnet.ops", "thawnet.optimizers", "thawnet.optimizers.schedules",
    "thawnet.random", "thawnet.regularizers", "thawnet.saving", "thawnet.training",
    "thawnet.tuning", "thawnet.utils",
]
# Unannotated public functions allowed, by module of definition (issue #11 asks for none).
KNOWN_GAPS: dict[str, int] = {}


def _ours(obj: Any) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith("thawnet")


def _exported(module: Any) -> Iterator[Any]:
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    for name in names:
        value = getattr(module, name, None)
        if value is not None and not inspect.ismodule(value):
            yield value


def _functions_of(cls: type) -> Iterator[tuple[str, Callable]]:
    for klass in cls.__mro__:
        if not _ours(klass):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") and name not in ("__init__", "__call__"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property):
                for accessor in (value.fget, value.fset):
                    if accessor is not None:
                        yield f"{klass.__module__}.{klass.__qualname__}.{name}", accessor
            elif inspect.isfunction(value):
                yield f"{klass.__module__}.{klass.__qualname__}.{name}", value


def public_functions() -> dict[int, tuple[str, Callable]]:
    """``id(function) -> (where, function)`` for every public function and method."""
    found: dict[int, tuple[str, Callable]] = {}
    for namespace in NAMESPACES:
        for value in _exported(importlib.import_module(namespace)):
            if inspect.isclass(value) and _ours(value):
                pairs = list(_functions_of(value))
            elif inspect.isfunction(value) and _ours(value):
                pairs = [(f"{value.__module__}.{value.__qualname__}", value)]
            else:
                continue
            for where, fn in pairs:
                fn = inspect.unwrap(fn)
                if hasattr(fn, "__code__"):
                    found.setdefault(id(fn), (where, fn))
    return found


def missing_annotations(fn: Callable) -> list[str]:
    """The parameters of ``fn`` without an annotation, and ``"return"`` if it has none."""
    annotations = getattr(fn, "__annotations__", {})
    missing = []
    for i, (name, param) in enumerate(inspect.signature(fn).parameters.items()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if i == 0 and name in ("self", "cls"):
            continue
        if name not in annotations:
            missing.append(name)
    if "return" not in annotations:
        missing.append("return")
    return missing


@pytest.fixture(scope="module")
def gaps() -> dict[str, list[str]]:
    """``module -> ["where: [missing names]", ...]`` for the functions with a gap."""
    by_module: dict[str, list[str]] = {}
    for where, fn in public_functions().values():
        if missing := missing_annotations(fn):
            by_module.setdefault(fn.__module__, []).append(f"{where}: {missing}")
    return by_module


def test_the_walk_reaches_the_api():
    names = {where for where, _ in public_functions().values()}
    assert len(names) > 1000
    for expected in ("Dense.call", "Trainer.fit", "Adam.__init__", "ops.dispatch.add",
                     "EarlyStopping.on_epoch_end", "ResNet50"):
        assert any(n.endswith(expected) for n in names), expected


def test_the_check_sees_a_missing_annotation():
    def loose(x, y: int = 1, *args, **kwargs):
        return x

    def typed(x: int, *args: Any) -> int:
        return x

    assert missing_annotations(loose) == ["x", "return"]
    assert missing_annotations(typed) == []


def test_annotations_name_types_that_exist():
    """Every annotation resolves (``typing.get_type_hints``): no misspelt or unimported name
    hides behind ``from __future__ import annotations``."""
    unresolved = []
    for where, fn in public_functions().values():
        if missing_annotations(fn):
            continue
        try:
            typing.get_type_hints(fn)
        except Exception as error:  # NameError, TypeError: the message says which name
            unresolved.append(f"{where}: {type(error).__name__}: {error}")
    assert unresolved == []


def test_every_public_function_is_annotated(gaps):
    over = {module: entries for module, entries in gaps.items()
            if len(entries) > KNOWN_GAPS.get(module, 0)}
    assert over == {}, "annotate these (parameters and return):\n" + "\n".join(
        entry for entries in over.values() for entry in entries[:5])
