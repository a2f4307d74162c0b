"""thawnet.saving: Keras 3's saving namespace.

Custom classes and functions are registered by name and found again by that name when a file
or config is read; nothing named in a file is ever imported by module path, evaluated or
unpickled. Look-ups search, in order: the ``custom_objects`` argument, open
:func:`custom_object_scope` blocks, objects registered with
:func:`register_keras_serializable` (or added to :func:`get_custom_objects`), thawnet's own
layers and models, and then thawnet's own namespaces (activations, initializers, ...).

>>> import thawnet
>>> @thawnet.saving.register_keras_serializable(package="Demo")
... def scaled_relu(x):
...     return 2.0 * thawnet.ops.relu(x)
>>> thawnet.saving.serialize_keras_object(scaled_relu)["registered_name"]
'Demo>scaled_relu'
"""

from __future__ import annotations

from typing import Any, Callable

from thawnet import (activations, constraints, initializers, layers, losses, metrics,
                     optimizers, regularizers)
from thawnet.backend import registry
from thawnet.backend.registry import ConfigError, custom_object_scope
from thawnet.models import Model, load_model
from thawnet.models.cloning import clone_model  # noqa: F401 (Keras exposes it nearby too)
from thawnet.backend.types import PathLike

# The namespaces a config may name (Keras's "module" field), searched by attribute name only.
_NAMESPACES = {"activations": activations, "constraints": constraints,
               "initializers": initializers, "layers": layers, "losses": losses,
               "metrics": metrics, "optimizers": optimizers, "regularizers": regularizers}


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable:
    """Decorator: make a class or function resolvable as ``"package>name"`` when loading.

    Args:
        package: a namespace for your objects (Keras's default is ``"Custom"``).
        name: default the object's ``__name__``.
    """
    if ">" in package:
        raise ValueError(f"register_keras_serializable: package must not contain '>'; "
                         f"received package={package!r}.")

    def decorator(obj):
        key = f"{package}>{name or obj.__name__}"
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: class {obj.__name__} needs a "
                             "get_config() method so that it can be saved.")
        registry.register_custom(obj, key)
        return obj

    return decorator


def get_custom_objects() -> dict:
    """The global ``{registered name: object}`` dict; adding to it registers an object."""
    return registry.CUSTOM_OBJECTS


def get_registered_name(obj: Any) -> str:
    """``"package>Name"`` for a registered object, else its class or function name."""
    return registry.registered_name(obj)


def get_registered_object(name: str, custom_objects: dict | None = None,
                          module_objects: dict | None = None) -> Any:
    """The object registered (or passed) under ``name``, or None."""
    found = registry.custom_lookup(name, custom_objects)
    if found is None and module_objects:
        found = module_objects.get(name)
    return found


def serialize_keras_object(obj: Any) -> Any:
    """A JSON-ready description of ``obj``: plain values as they are, containers item by
    item, functions by registered name, objects as ``{module, class_name, config,
    registered_name}`` from their ``get_config()``."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): serialize_keras_object(v) for k, v in obj.items()}
    name = registry.registered_name(obj)
    if callable(obj) and not hasattr(obj, "get_config"):
        return {"module": _module_of(obj), "class_name": "function",
                "config": name.split(">", 1)[-1], "registered_name": name}
    get_config = getattr(obj, "get_config", None)
    if get_config is None:
        raise ValueError(f"serialize_keras_object: {obj!r} has no get_config(); give its "
                         "class a get_config() returning its constructor arguments.")
    return {"module": _module_of(type(obj)), "class_name": type(obj).__name__,
            "config": serialize_keras_object(get_config()), "registered_name": name}


def deserialize_keras_object(config: Any, custom_objects: dict | None = None,
                             module_objects: dict | None = None, safe_mode: bool = True,
                             **kwargs) -> Any:
    """The object that :func:`serialize_keras_object` described (nothing is executed:
    names are looked up, see the module docstring). ``safe_mode`` is always on."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(v, custom_objects, module_objects) for v in config]
    if isinstance(config, str):
        return _named(config, None, custom_objects, module_objects)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"deserialize_keras_object: expected a dict with 'class_name'; "
                          f"received {config!r:.120}.")
    registered_name = config.get("registered_name") or config["class_name"]
    if config["class_name"] == "function":
        return _named(registered_name, config.get("module"), custom_objects, module_objects,
                      fallback=config.get("config"))
    cls = _named(registered_name, config.get("module"), custom_objects, module_objects,
                 fallback=config["class_name"])
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise ConfigError(f"deserialize_keras_object: the config of {registered_name!r} must "
                          f"be a dict; received {type(inner).__name__}.")
    if isinstance(cls, type) and issubclass(cls, Model):
        return cls.from_config(inner, custom_objects=custom_objects)
    from_config = getattr(cls, "from_config", None)
    return from_config(inner) if from_config is not None else cls(**inner)


def _named(name, module, custom_objects, module_objects, fallback=None):
    for candidate in [name, fallback]:
        if not isinstance(candidate, str):
            continue
        found = get_registered_object(candidate, custom_objects, module_objects)
        if found is None:
            found = registry.registered(candidate.split(">", 1)[-1])
        if found is None:
            found = _in_namespaces(candidate.split(">", 1)[-1], module)
        if found is not None:
            return found
    raise ConfigError(f"unknown object {name!r}: neither registered nor a thawnet name. "
                      "Decorate your class or function with "
                      "@thawnet.saving.register_keras_serializable(), or pass "
                      f"custom_objects={{{name!r}: ...}}.")


def _in_namespaces(name, module):
    if name.startswith("_"):
        return None
    preferred = [ns for key, ns in _NAMESPACES.items() if module and key in str(module)]
    for namespace in preferred + list(_NAMESPACES.values()):
        found = getattr(namespace, name, None)
        if found is not None and (isinstance(found, type) or callable(found)):
            return found
    return None


def _module_of(obj):
    module = getattr(obj, "__module__", "") or ""
    return module.replace("thawnet.", "keras.", 1) if module.startswith("thawnet.") else module


def save_model(model: Model, filepath: PathLike, overwrite: bool = True, zipped: Any = None,
               **kwargs) -> None:
    """``model.save(filepath, overwrite, zipped, **kwargs)``: ``.keras`` for Keras 3 (a
    folder with ``zipped=False``), otherwise thawnet's format; see ``Model.save``."""
    model.save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)


__all__ = ["ConfigError", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "load_model",
           "register_keras_serializable", "save_model", "serialize_keras_object"]
