"""Configs of the layers that recurrent wrappers hold (a cell, cells, a wrapped RNN).

A wrapped layer is stored as ``{"class_name": ..., "config": {...}}`` (the shape of Keras's
serialized objects) and looked up in thawnet's registry, never imported by module path.
"""

from __future__ import annotations

from thawnet.layers.layer import Layer, registered


def layer_config(layer) -> dict:
    """``{"class_name", "config"}`` of ``layer``."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def layer_from_config(entry, custom_objects=None, where: str = "RNN"):
    """A layer from :func:`layer_config`'s output (a layer instance is returned as it is)."""
    if isinstance(entry, Layer):
        return entry
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ValueError(f"{where} config: a wrapped layer must be a layer or a dict "
                         f"{{'class_name': ..., 'config': {{...}}}}; received {entry!r:.80}.")
    name = entry["class_name"]
    cls = (custom_objects or {}).get(name) or registered(name)
    if cls is None:
        raise ValueError(f"{where} config: the wrapped layer has class {name!r}, which is not "
                         f"a thawnet layer. Pass custom_objects={{{name!r}: YourLayer}}.")
    config = dict(entry.get("config") or {})
    try:
        return cls.from_config(config, custom_objects=custom_objects)
    except TypeError:
        return cls.from_config(config)
