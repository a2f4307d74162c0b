"""Objects resolvable by name when a config is read back: no imports by module path, no pickle.

thawnet's own layers and models register themselves with :func:`register`; user classes and
functions are registered with ``thawnet.saving.register_keras_serializable`` (here:
:data:`CUSTOM_OBJECTS`, by Keras's ``"package>Name"``), made visible for a block with
``custom_object_scope``, or passed as ``custom_objects``.
:func:`deserialize` turns ``{"class_name": ..., "config": ...}`` (or a flat model
description) back into an object, and raises :class:`ConfigError` naming what did not fit.
"""

from __future__ import annotations

from typing import Any, Iterator

import contextlib
import threading

_REGISTRY: dict[str, type] = {}
# Objects registered by users (register_keras_serializable, or get_custom_objects()[k] = v).
CUSTOM_OBJECTS: dict[str, Any] = {}
_REGISTERED_NAMES: dict[int, str] = {}  # id(object) -> its registered "package>Name"
_scopes = threading.local()


class ConfigError(ValueError):
    """A config that cannot be turned back into layers (file readers add the file's name)."""


def register(cls: type, name: str | None = None) -> type:
    """Make ``cls`` resolvable by ``name`` (default its class name) when configs are read."""
    _REGISTRY[name or cls.__name__] = cls
    return cls


def registered(name: str) -> type | None:
    return _REGISTRY.get(name)


def register_custom(obj: Any, registered_name: str) -> Any:
    """Register a user class or function under ``"package>Name"``."""
    CUSTOM_OBJECTS[registered_name] = obj
    _REGISTERED_NAMES[id(obj)] = registered_name
    if isinstance(obj, type):
        obj._keras_registered_name = registered_name  # what the .keras writer records
    return obj


def registered_name(obj: Any) -> str:
    """The name a config stores for ``obj``'s class: its registered name, else the class name."""
    target = obj if isinstance(obj, type) or callable(obj) and not hasattr(obj, "get_config") \
        else type(obj)
    if id(target) in _REGISTERED_NAMES:
        return _REGISTERED_NAMES[id(target)]
    # A family of generated classes saved under one name (each op's graph node: "OpLayer").
    return getattr(target, "config_class_name", None) or getattr(target, "__name__", str(target))


@contextlib.contextmanager
def custom_object_scope(*scopes: dict) -> Iterator[Any]:
    """Within the block, the given ``{name: object}`` dicts are resolvable by name too."""
    stack = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    merged = {}
    for scope in scopes:
        if scope is not None:
            merged.update(scope)
    stack.append(merged)
    try:
        yield merged
    finally:
        stack.pop()


def custom_lookup(name: str, custom_objects: dict | None = None) -> Any:
    """A user object named ``name``: explicit ``custom_objects``, then open scopes, then the
    registered ones (by ``"package>Name"`` or by the bare ``Name``); None when there is none."""
    for table in [custom_objects or {}, *reversed(getattr(_scopes, "stack", []) or [])]:
        if name in table:
            return table[name]
    if name in CUSTOM_OBJECTS:
        return CUSTOM_OBJECTS[name]
    bare = [obj for key, obj in CUSTOM_OBJECTS.items() if key.split(">", 1)[-1] == name]
    return bare[0] if len(bare) == 1 else None


def registered_names() -> list[str]:
    return sorted(_REGISTRY)


def resolve(class_name: Any, custom_objects: dict | None = None, what: str = "layer") -> type:
    """The class called ``class_name``: ``custom_objects`` first, then the registry."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError("custom_objects must be a dict {class_name: class}; received "
                        f"{type(custom_objects).__name__}.")
    cls = custom_lookup(class_name, custom_objects) if isinstance(class_name, str) else None
    if cls is None and isinstance(class_name, str):
        cls = registered(class_name)
        if cls is None and ">" in class_name:  # Keras's "package>Name" registered names
            cls = registered(class_name.split(">", 1)[1])
    if cls is None:
        raise ConfigError(
            f"{what} class {class_name!r} is neither a thawnet class nor registered. If it is "
            "your own class, decorate it with @thawnet.saving.register_keras_serializable() or "
            f"pass custom_objects={{{class_name!r}: {class_name}}}.")
    return cls


def deserialize(description: Any, custom_objects: dict | None = None, what: str = "layer"):
    """The object of ``{"class_name": ..., **config}`` (or ``{"class_name", "config"}``).

    The class comes from ``custom_objects`` or the registry; its ``from_config`` builds it
    (models receive ``custom_objects`` for their inner layers).
    """
    if not isinstance(description, dict):
        raise ConfigError(f"a {what} description must be an object; found "
                          f"{type(description).__name__}.")
    cls = resolve(description.get("class_name"), custom_objects, what)
    if "config" in description and set(description) <= {"class_name", "config", "module",
                                                        "registered_name", "build_config"}:
        config = description["config"]
    else:
        config = {k: v for k, v in description.items() if k != "class_name"}
    if not isinstance(config, dict):
        raise ConfigError(f"{what} {description.get('class_name')!r}: its config must be an "
                          f"object; found {type(config).__name__}.")
    try:
        if getattr(cls, "accepts_custom_objects", False):
            return cls.from_config(dict(config), custom_objects=custom_objects)
        return cls.from_config(dict(config))
    except ConfigError:
        raise
    except Exception as e:  # the class refusing its config: the config does not fit
        raise ConfigError(f"{what} {description.get('class_name')!r} could not be rebuilt "
                          f"from its config: {type(e).__name__}: {e}") from e
