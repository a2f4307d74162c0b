"""The architecture entry of a native file: a model's own ``get_config()`` and the registry.

Models describe themselves (``Model.get_config()``, see :mod:`thawnet.models.architecture`);
this module only adds the class name on the way out and, on the way in, resolves that name
through the class registry (never by importing a module path) and names the file in errors.
"""

from __future__ import annotations

from thawnet.backend.plain_json import plain
from thawnet.io.errors import FileFormatError
from thawnet.backend.registry import ConfigError, deserialize, registered_name


def architecture(model) -> dict:
    """``{"class_name": ..., **model.get_config()}`` for a model whose config holds its layers.

    Raises:
        ValueError: for a subclassed model (its structure lives in Python code).
    """
    config = model.get_config()
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError(
            f'Cannot save the architecture of model "{model.name}" ({type(model).__name__}): '
            "only Sequential and functional models (Model(inputs, outputs)) can be described "
            "as data; a subclassed model's structure lives in its Python code. Save its weights "
            "with model.save_weights('weights.safetensors') and rebuild the model in code.")
    return {"class_name": registered_name(type(model)), **plain(config, f'model "{model.name}"')}


def build_model(description, custom_objects=None, source="config.json"):
    """The model described by :func:`architecture`'s output, its weights not yet loaded.

    Raises:
        FileFormatError: naming ``source`` when the description does not fit.
    """
    try:
        return deserialize(description, custom_objects, what="model")
    except ConfigError as e:
        raise FileFormatError(f"{source}: {e}") from e


__all__ = ["architecture", "build_model", "plain"]
