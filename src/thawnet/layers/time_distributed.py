"""TimeDistributed: apply one layer to every time step of a sequence.

Inputs are ``(batch, time, ...)``. The wrapped layer sees ``(batch, ...)`` samples; the same
weights serve every step. The steps are folded into the batch axis (``(batch * time, ...)``),
one call of the inner layer for all steps, which is exact for every layer that treats samples
independently (Dense, convolutions, pooling, Dropout with a fresh mask per sample and step). A
layer that mixes samples in training, BatchNormalization, computes its batch statistics over
all steps together (Keras 3 computes one set per step).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from thawnet.backend.types import Array, Config, ShapeLike, TensorTree
from thawnet.layers.call_inspection import accepts_argument
from thawnet.layers.layer import Layer, register
from thawnet.layers.rnn import serialization


def _layer_config(layer):
    # A user's registered class is stored under its "package>Name", as Keras does.
    return serialization.layer_config(layer)


def _layer_from_config(entry, custom_objects=None, where="TimeDistributed"):
    """The wrapped layer: its class by name from thawnet's registry, ``custom_objects``, an
    open ``custom_object_scope`` or ``register_keras_serializable`` (nothing imported)."""
    return serialization.layer_from_config(entry, custom_objects, where)


@register
class TimeDistributed(Layer):
    """Applies ``layer`` to each slice ``inputs[:, t]``.

    The weights are the inner layer's (same names, order, count and roles); freezing the
    wrapper freezes them.

    Args:
        layer: a Layer instance, e.g. ``Dense(8)`` or ``Conv2D(4, 3)``.

    Call arguments:
        inputs: ``(batch, time, ...)``.
        training: passed to the inner layer.
        mask: optional ``(batch, time)`` boolean mask, passed on per step when the inner
            layer's ``call`` takes ``mask``.

    >>> import numpy as np
    >>> from thawnet.layers import Dense, TimeDistributed
    >>> TimeDistributed(Dense(4))(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    supports_masking = True  # the output keeps the time axis, and with it the mask

    def __init__(self, layer: Layer, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f'TimeDistributed "{self.name}": layer must be a Layer instance '
                             f"(e.g. Dense(8)); received layer={layer!r:.80}.")
        self.layer = layer

    def _child_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 3:
            raise ValueError(
                f'TimeDistributed "{self.name}" takes inputs with at least 3 axes (batch, time, '
                f"...); received shape {input_shape}. Add a time axis, or call "
                f"{type(self.layer).__name__} directly.")
        return (input_shape[0],) + input_shape[2:]

    def build(self, input_shape: ShapeLike) -> None:
        self.layer._build_checked(self._child_shape(input_shape))

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        child = tuple(self.layer.compute_output_shape(self._child_shape(input_shape)))
        return (child[0], tuple(input_shape)[1]) + child[1:]

    def output_dtype(self, inputs: TensorTree) -> str:
        return self.layer.output_dtype(inputs)

    def _check_mask(self, mask, shape):
        if mask.ndim < 2 or tuple(mask.shape[:2]) != tuple(shape[:2]):
            raise ValueError(
                f'TimeDistributed "{self.name}": the mask has shape {tuple(mask.shape)}, but '
                f"inputs of shape {tuple(shape)} need a mask of shape ({shape[0]}, {shape[1]}, "
                "...) (batch, time first).")

    def call(self, inputs: TensorTree, training: bool | None = False, mask: TensorTree | None = None
            ) -> Array:
        batch, steps = inputs.shape[0], inputs.shape[1]
        folded = jnp.reshape(inputs, (batch * steps,) + tuple(inputs.shape[2:]))
        kwargs = {"training": training}
        if mask is not None:
            mask = jnp.asarray(mask)
            self._check_mask(mask, inputs.shape)
            if accepts_argument(self.layer.call, "mask"):
                kwargs["mask"] = jnp.reshape(mask, (batch * steps,) + tuple(mask.shape[2:]))
        out = self.layer(folded, **kwargs)
        return jnp.reshape(out, (batch, steps) + tuple(out.shape[1:]))

    def get_config(self) -> Config:
        return {**super().get_config(), "layer": _layer_config(self.layer)}

    @classmethod
    def from_config(cls, config: Config, custom_objects: dict[str, Any] | None = None
            ) -> TimeDistributed:
        config = dict(config)
        layer = _layer_from_config(config.pop("layer"), custom_objects)
        return cls(layer, **config)


__all__ = ["TimeDistributed"]
