"""GroupNormalization: normalise each sample over groups of channels (Wu & He, 2018).

The channels on ``axis`` are split into ``groups`` equal groups; each group of each sample is
normalised with its own mean and (biased) variance over the group's channels and all the other
non-batch axes. ``groups=1`` is LayerNormalization over all non-batch axes, ``groups=-1`` (one
channel per group) is instance normalisation. No batch statistics, so training and inference
behave the same.
"""

from __future__ import annotations

import numbers

import jax.numpy as jnp

from thawnet import constraints, initializers, regularizers
from thawnet.backend.types import Config, Identifier, ShapeLike, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register
from thawnet.layers.normalization_arguments import gamma_beta_config


@register
class GroupNormalization(Layer):
    """``gamma * (x - mean_g) / sqrt(var_g + epsilon) + beta`` per sample and channel group.

    Weights, in order: ``gamma`` (if ``scale``), ``beta`` (if ``center``), both parameters of
    shape ``(channels,)``.

    Args:
        groups: int, the number of groups; must divide the number of channels. ``-1`` means
            one group per channel (instance normalisation).
        axis: int, the channel axis (default -1).
        epsilon: small float added to the variance.
        center: learn an offset ``beta``.
        scale: learn a scale ``gamma``.
        beta_initializer, gamma_initializer: initializers (zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the training loss.
        beta_constraint, gamma_constraint: projections applied after every optimizer step.

    >>> import numpy as np
    >>> from thawnet.layers import GroupNormalization
    >>> layer = GroupNormalization(groups=2)
    >>> y = layer(np.arange(8, dtype="float32").reshape(1, 2, 4))
    >>> [w.name for w in layer.weights], tuple(y.shape)
    (['gamma', 'beta'], (1, 2, 4))
    """

    autocast = False  # as Keras: inputs and weights keep their dtypes; stats in float32

    supports_masking = True

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Identifier = "zeros",
                 gamma_initializer: Identifier = "ones", beta_regularizer: Identifier = None,
                 gamma_regularizer: Identifier = None, beta_constraint: Identifier = None,
                 gamma_constraint: Identifier = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'GroupNormalization "{self.name}"'
        if (not isinstance(groups, numbers.Integral) or isinstance(groups, bool)
                or (groups <= 0 and groups != -1)):
            raise ValueError(f"{who}: groups must be a positive integer (or -1 for instance "
                             f"normalization, one group per channel); received groups={groups!r}.")
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise ArgumentTypeError(f"{who}: axis must be an integer (the channel axis); "
                                    f"received axis={axis!r}.")
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or epsilon < 0:
            raise ValueError(f"{who}: epsilon must be a non-negative number; received "
                             f"epsilon={epsilon!r}.")
        self.groups, self.axis, self.epsilon = int(groups), int(axis), epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint, f"{who}: beta_constraint: ")
        self.gamma_constraint = constraints.get(gamma_constraint, f"{who}: gamma_constraint: ")
        self.gamma = self.beta = None

    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        who = f'GroupNormalization "{self.name}"'
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"{who}: axis={self.axis} must name a non-batch axis of the "
                             f"inputs (rank {rank}, shape {input_shape}); use axis=-1 for "
                             "channels-last data.")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(f"{who}: axis {self.axis} of the inputs must have a known size; "
                             f"received shape {input_shape}.")
        if self.groups == -1:
            self.groups = channels  # Keras stores the resolved count in its config too
        if channels < self.groups:
            raise ValueError(f"{who}: groups={self.groups} cannot be more than the number of "
                             f"channels ({channels}, axis {self.axis} of shape {input_shape}).")
        if channels % self.groups:
            raise ValueError(f"{who}: groups={self.groups} must divide the number of channels "
                             f"({channels}); choose groups among the divisors of {channels}.")
        if self.scale:
            self.gamma = self.add_weight("gamma", (channels,), self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", (channels,), self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self._axis_pos = self.axis % rank
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def call(self, inputs: TensorTree) -> TensorTree:
        x = inputs.astype(jnp.result_type(inputs.dtype, jnp.float32))
        pos, channels = self._axis_pos, x.shape[self._axis_pos]
        # (..., C, ...) -> (..., groups, C // groups, ...): statistics over every axis of the
        # grouped tensor except the batch and the group axis.
        grouped_shape = x.shape[:pos] + (self.groups, channels // self.groups) + x.shape[pos + 1:]
        grouped = x.reshape(grouped_shape)
        axes = tuple(d for d in range(1, grouped.ndim) if d != pos)
        mean = jnp.mean(grouped, axis=axes, keepdims=True)
        variance = jnp.var(grouped, axis=axes, keepdims=True)
        inv = 1.0 / jnp.sqrt(variance + self.epsilon)
        param_shape = [1] * grouped.ndim
        param_shape[pos], param_shape[pos + 1] = self.groups, channels // self.groups
        if self.gamma is not None:
            inv = inv * self.gamma.value.astype(x.dtype).reshape(param_shape)
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self.beta.value.astype(x.dtype).reshape(param_shape)
        out = (grouped * inv + shift).reshape(x.shape)
        return out.astype(self.compute_dtype)

    def get_config(self) -> Config:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **gamma_beta_config(self)}


__all__ = ["GroupNormalization"]
