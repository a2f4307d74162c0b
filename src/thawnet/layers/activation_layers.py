"""Activation layers: Activation, ReLU, LeakyReLU, Softmax, ELU."""

from __future__ import annotations

import jax.numpy as jnp

from thawnet import activations
from thawnet.backend.types import Axis, Config, Identifier, ShapeLike, TensorTree
from thawnet.layers.layer import Layer, register


class _ElementwiseLayer(Layer):
    """A layer whose output has its input's shape (and so keeps its inputs' mask)."""

    supports_masking = True

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape


@register
class Activation(_ElementwiseLayer):
    """Applies a named activation: ``Activation("relu")``."""

    def __init__(self, activation: Identifier, **kwargs) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation, f'Activation "{self.name}"')

    def call(self, inputs: TensorTree) -> TensorTree:
        return self.activation(inputs)

    def get_config(self) -> Config:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


@register
class ReLU(_ElementwiseLayer):
    """``relu`` with an optional cap, a leak below ``threshold`` and the threshold itself."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f'ReLU "{self.name}": max_value must be >= 0; received '
                             f"max_value={max_value}.")
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f'ReLU "{self.name}": negative_slope must be >= 0; received '
                             f"negative_slope={negative_slope}.")
        if threshold is None or threshold < 0:
            raise ValueError(f'ReLU "{self.name}": threshold must be >= 0; received '
                             f"threshold={threshold}.")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs: TensorTree) -> TensorTree:
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self) -> Config:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


@register
class LeakyReLU(_ElementwiseLayer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (Keras 3 default 0.3)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs) -> None:
        alpha = kwargs.pop("alpha", None)  # Keras 2's name of the argument
        super().__init__(**kwargs)
        negative_slope = alpha if alpha is not None else negative_slope
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f'LeakyReLU "{self.name}": negative_slope must be a number >= 0 '
                             f"(the slope below zero); received negative_slope={negative_slope}.")
        self.negative_slope = negative_slope

    def call(self, inputs: TensorTree) -> TensorTree:
        return activations.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> Config:
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register
class Softmax(_ElementwiseLayer):
    def __init__(self, axis: Axis = -1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs: TensorTree, mask: TensorTree | None = None) -> TensorTree:
        if mask is None:
            return activations.softmax(inputs, axis=self.axis)
        mask = jnp.asarray(mask)
        if mask.ndim > inputs.ndim or any(m not in (1, i) for m, i in zip(
                mask.shape[::-1], inputs.shape[::-1])):
            raise ValueError(
                f'Softmax "{self.name}": the mask must broadcast to the inputs (each of its '
                f"dimensions 1 or equal to the input's, compared from the last); received "
                f"inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}.")
        keep = mask if mask.dtype == bool else mask > 0.5
        # A masked entry gets a large negative logit, and 0 after the softmax (also when a
        # whole row is masked, where the softmax alone would be uniform).
        low = jnp.asarray(-1e9 if inputs.dtype != jnp.float16 else -3e4, inputs.dtype)
        out = activations.softmax(jnp.where(keep, inputs, low), axis=self.axis)
        return jnp.where(keep, out, jnp.zeros((), out.dtype))

    def get_config(self) -> Config:
        return {**super().get_config(), "axis": self.axis}


@register
class ELU(_ElementwiseLayer):
    def __init__(self, alpha: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs: TensorTree) -> TensorTree:
        return activations.elu(inputs, self.alpha)

    def get_config(self) -> Config:
        return {**super().get_config(), "alpha": self.alpha}
