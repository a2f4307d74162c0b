"""Wrapper: the base class of a layer that holds one other layer (Keras 3's
``keras.layers.Wrapper``), for custom wrappers written against Keras's API.

The wrapped layer is an attribute (``self.layer``), so its weights are the wrapper's (same
names, order and roles) and freezing the wrapper freezes them. Its config is stored as
``{"class_name", "config"}`` and its class is found by name (thawnet's registry,
``custom_objects``, ``register_keras_serializable``), never imported by module path.
"""

from __future__ import annotations

from typing import Any

from thawnet.layers.layer import Layer, register
from thawnet.layers.rnn import serialization


@register
class Wrapper(Layer):
    """Holds ``layer``; subclasses write ``call`` (by default the wrapped layer's output) and,
    if needed, ``build``.

    Args:
        layer: the Layer instance to wrap.

    >>> import numpy as np
    >>> from thawnet.layers import Dense, Wrapper
    >>> class Twice(Wrapper):
    ...     def call(self, inputs):
    ...         return 2 * self.layer(inputs)
    >>> Twice(Dense(3)).layer.units
    3
    """

    def __init__(self, layer: Layer, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f'{type(self).__name__} "{self.name}": the wrapped layer must be a '
                             f"Layer instance (e.g. Dense(8)); received layer={layer!r:.80}.")
        self.layer = layer

    def build(self, input_shape: tuple | None = None) -> None:
        """Build the wrapped layer for ``input_shape`` (if it is not built yet)."""
        if not self.layer.built and input_shape is not None:
            self.layer._build_checked(input_shape)

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """By default the wrapped layer's output (subclasses change this)."""
        return self.layer(inputs, *args, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": serialization.layer_config(self.layer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Wrapper":
        config = dict(config)
        layer = serialization.layer_from_config(config.pop("layer"), custom_objects,
                                                cls.__name__)
        return cls(layer, **config)


__all__ = ["Wrapper"]
