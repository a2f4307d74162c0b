"""Keras 3's envelope of a serialized object, and how a class is named in it.

Keras writes every object of a config as ``{"module", "class_name", "config",
"registered_name"}``. Keras's own classes name their Keras module and ``registered_name:
null``; classes registered by users name their own module and ``"package>ClassName"``.
"""

from __future__ import annotations

_BUILTIN_MODULE_PREFIX = "thawnet."


def keras_object(module: str, class_name: str, config: dict,
                 registered_name: str | None = None) -> dict:
    """One serialized object as Keras 3 writes it.

    Args:
        module: the Keras module (``"keras.layers"``).
        class_name: the class name.
        config: the object's config.
        registered_name: None for Keras's own classes, ``"package>Name"`` for custom ones.

    Returns:
        ``{"module", "class_name", "config", "registered_name"}``.
    """
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": registered_name}


def dtype_policy(name: str) -> dict:
    """Keras's serialized ``DTypePolicy`` for a plain dtype name."""
    return keras_object("keras", "DTypePolicy", {"name": name})


def class_identity(cls: type, keras_module: str) -> tuple[str, str | None]:
    """``(module, registered_name)`` Keras would write for ``cls``.

    thawnet's own classes map to Keras's module; any other class is a custom object, written
    with its own module and the registry name (``cls._keras_registered_name`` when
    ``thawnet.saving.register_keras_serializable`` set one, else ``"Custom>ClassName"``).
    """
    module = getattr(cls, "__module__", "") or ""
    if module.startswith(_BUILTIN_MODULE_PREFIX):
        return keras_module, None
    registered = getattr(cls, "_keras_registered_name", None) or f"Custom>{cls.__name__}"
    return module, registered


__all__ = ["keras_object", "dtype_policy", "class_identity"]
