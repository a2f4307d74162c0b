"""Configs of the layers that recurrent wrappers hold (a cell, cells, a wrapped RNN).

A wrapped layer is stored as ``{"class_name": ..., "config": {...}}`` (the shape of Keras's
serialized objects). Its class is looked up by name only, never imported by module path:
thawnet's registry, then ``custom_objects`` / ``custom_object_scope`` / classes registered
with ``register_keras_serializable`` (a user's own cell).
"""

from __future__ import annotations

from thawnet.backend import registry
from thawnet.layers.call_inspection import accepts_argument
from thawnet.layers.layer import Layer


def layer_config(layer) -> dict:
    """``{"class_name", "config"}`` of ``layer`` (a registered custom class by its
    registered name)."""
    return {"class_name": registry.registered_name(type(layer)), "config": layer.get_config()}


def layer_from_config(entry, custom_objects=None, where: str = "RNN"):
    """A layer from :func:`layer_config`'s output (a layer instance is returned as it is)."""
    if isinstance(entry, Layer):
        return entry
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ValueError(f"{where} config: a wrapped layer must be a layer or a dict "
                         f"{{'class_name': ..., 'config': {{...}}}}; received {entry!r:.80}.")
    try:
        cls = registry.resolve(entry["class_name"], custom_objects)
    except registry.ConfigError as err:
        raise ValueError(f"{where} config: the wrapped layer: {err}") from None
    config = dict(entry.get("config") or {})
    if accepts_argument(cls.from_config, "custom_objects"):
        return cls.from_config(config, custom_objects=custom_objects)
    return cls.from_config(config)
