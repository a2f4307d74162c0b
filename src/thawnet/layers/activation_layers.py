"""Activation layers: Activation, ReLU, LeakyReLU, Softmax, ELU."""

from __future__ import annotations

from thawnet import activations
from thawnet.layers.layer import Layer, register


class _ElementwiseLayer(Layer):
    """A layer whose output has its input's shape."""

    def compute_output_shape(self, input_shape):
        return input_shape


@register
class Activation(_ElementwiseLayer):
    """Applies a named activation: ``Activation("relu")``."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation, f'Activation "{self.name}"')

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


@register
class ReLU(_ElementwiseLayer):
    """``relu`` with an optional cap, a leak below ``threshold`` and the threshold itself."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
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

    def call(self, inputs):
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


@register
class LeakyReLU(_ElementwiseLayer):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below (Keras 3 default 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        alpha = kwargs.pop("alpha", None)  # Keras 2's name of the argument
        super().__init__(**kwargs)
        negative_slope = alpha if alpha is not None else negative_slope
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f'LeakyReLU "{self.name}": negative_slope must be a number >= 0 '
                             f"(the slope below zero); received negative_slope={negative_slope}.")
        self.negative_slope = negative_slope

    def call(self, inputs):
        return activations.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register
class Softmax(_ElementwiseLayer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return activations.softmax(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register
class ELU(_ElementwiseLayer):
    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        return activations.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
