"""``clone_model``: the same architecture with fresh weights (Keras's semantics)."""

from __future__ import annotations

from typing import Any, Callable

from thawnet.layers.input_layer import InputLayer
from thawnet.layers.layer import Layer
from thawnet.models import architecture
from thawnet.models.model import Model


def _fresh_copy(layer: Layer) -> Layer:
    """The default ``clone_function``: the layer rebuilt from its config (new weights)."""
    if isinstance(layer, Model):
        return clone_model(layer)
    return type(layer).from_config(layer.get_config())


def clone_model(model: Model, input_tensors: Any = None,
                clone_function: Callable[[Layer], Layer] | None = None) -> Model:
    """A new model with the architecture of ``model`` and freshly initialised weights.

    Args:
        model: a Sequential, functional or subclassed model.
        input_tensors: accepted for Keras compatibility; only ``None`` is supported (the
            clone gets new Inputs of the same shapes).
        clone_function: ``layer -> new layer``, called for every layer except Inputs
            (default: rebuild from ``get_config()``; return ``layer`` itself to share it).

    Returns:
        The clone; trainable flags are copied, weights are not. Initial values are drawn
        from (global seed, weight path), so the clone of an untrained model starts from the
        same values as the original did; call ``thawnet.set_random_seed`` first to vary them.
    """
    if input_tensors is not None:
        raise ValueError("clone_model: input_tensors is not supported; the clone gets new "
                         "Inputs of the same shapes. Call the clone on your tensors instead.")
    clone_function = clone_function or _fresh_copy
    config = model.get_config()
    if not isinstance(config.get("layers"), list):  # subclassed: its code is its structure
        return type(model).from_config(config)
    clones = {}
    for layer in model.layers:
        if not isinstance(layer, InputLayer):
            clone = clone_function(layer)
            if not isinstance(clone, Layer):
                raise TypeError(f'clone_model: clone_function must return a Layer; for layer '
                                f'"{layer.name}" it returned {type(clone).__name__}.')
            clones[layer.name] = clone
    return architecture.model_from_config(type(model), config, layers=clones)


__all__ = ["clone_model"]
