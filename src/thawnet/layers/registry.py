"""Classes resolvable by name when a config is read back: no imports by module path, no pickle.

thawnet's own layers and models register themselves with :func:`register`; user classes are
registered with ``thawnet.saving.register_keras_serializable`` or passed as ``custom_objects``.
:func:`deserialize` turns ``{"class_name": ..., "config": ...}`` (or a flat model
description) back into an object, and raises :class:`ConfigError` naming what did not fit.
"""

from __future__ import annotations

from typing import Any

_REGISTRY: dict[str, type] = {}


class ConfigError(ValueError):
    """A config that cannot be turned back into layers (file readers add the file's name)."""


def register(cls: type, name: str | None = None) -> type:
    """Make ``cls`` resolvable by ``name`` (default its class name) when configs are read."""
    _REGISTRY[name or cls.__name__] = cls
    return cls


def registered(name: str) -> type | None:
    return _REGISTRY.get(name)


def registered_names() -> list[str]:
    return sorted(_REGISTRY)


def resolve(class_name: Any, custom_objects: dict | None = None, what: str = "layer") -> type:
    """The class called ``class_name``: ``custom_objects`` first, then the registry."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError("custom_objects must be a dict {class_name: class}; received "
                        f"{type(custom_objects).__name__}.")
    cls = (custom_objects or {}).get(class_name) if isinstance(class_name, str) else None
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
