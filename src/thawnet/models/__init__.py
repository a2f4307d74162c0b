"""thawnet.models: Model (functional and subclassed), Sequential, configs and cloning."""

from __future__ import annotations

import json

from thawnet.backend.registry import ConfigError, deserialize
from thawnet.models.cloning import clone_model
from thawnet.models.model import Model
from thawnet.models.model_files import load_model
from thawnet.models.sequential import Sequential

# Keras 3's name for the class of graph models: ``Functional(inputs, outputs)`` is
# ``Model(inputs, outputs)``; files name it "Functional" and read back as ``Model``.
Functional = Model


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Model:
    """The model described by ``model.to_json()`` (fresh weights; nothing is executed)."""
    try:
        description = json.loads(json_string)
    except json.JSONDecodeError as e:
        raise ValueError(f"model_from_json: not valid JSON ({e}). Pass the string that "
                         "model.to_json() returned.") from e
    return deserialize(description, custom_objects, what="model")


__all__ = ["ConfigError", "Functional", "Model", "Sequential", "clone_model", "load_model",
           "model_from_json"]
