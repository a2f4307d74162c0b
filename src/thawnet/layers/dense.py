"""Dense: ``activation(inputs @ kernel + bias)`` on the last axis."""

from __future__ import annotations

import numbers

import jax.numpy as jnp

from thawnet import activations, constraints, initializers, regularizers
from thawnet.backend.types import Axis, Config, Identifier, ShapeLike, TensorTree
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register
from thawnet.layers.lora import LoraMixin
from thawnet.variables import Variable


@register
class Dense(LoraMixin, Layer):
    """A fully connected layer.

    Args:
        units: positive int, size of the output's last axis.
        activation: name or callable (default linear).
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: initializers (glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer: penalties added to the training loss.
        kernel_constraint, bias_constraint: projections applied after every optimizer step
            (names such as ``"non_neg"``, Constraint objects, or callables).
        lora_rank: if set, LoRA is enabled at build (see :meth:`enable_lora`): the kernel is
            frozen and two factors of this rank are trained instead.
        lora_alpha: the LoRA scale's numerator (default ``lora_rank``): the kernel used is
            ``kernel + lora_alpha / lora_rank * lora_kernel_a @ lora_kernel_b``.

    >>> from thawnet.layers import Dense
    >>> Dense(4).compute_output_shape((None, 3))
    (None, 4)
    """

    supports_masking = True  # keeps the time axis: the mask passes through (Keras)

    def __init__(self, units: int, activation: Identifier = None, use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, kernel_constraint: Identifier = None,
                 bias_constraint: Identifier = None, lora_rank: int | None = None,
                 lora_alpha: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'Dense "{self.name}"'
        if not isinstance(units, numbers.Integral) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{who}: units must be a positive integer; received units={units!r}. "
                             "It is the size of the output's last axis, e.g. Dense(64).")
        if not isinstance(use_bias, bool):
            raise ValueError(f"{who}: use_bias must be True or False; received "
                             f"use_bias={use_bias!r}.")
        self.units = int(units)
        self.activation = activations.get(activation, who)
        self.use_bias = use_bias
        self.bias = None  # a weight from build() when use_bias (Keras has the attribute too)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint, f"{who}: kernel_constraint: ")
        self.bias_constraint = constraints.get(bias_constraint, f"{who}: bias_constraint: ")
        self.input_spec = InputSpec(min_ndim=2)
        self._init_lora(lora_rank, lora_alpha)

    def build(self, input_shape: ShapeLike) -> None:
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f'Dense "{self.name}" needs a known last input dimension; received '
                             f"shape {tuple(input_shape)}.")
        # Both weights are parameters, trained by the optimizer.
        self._kernel = self.add_weight("kernel", (in_dim, self.units), self.kernel_initializer,
                                       regularizer=self.kernel_regularizer,
                                       constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})
        self._build_lora()

    @property
    def kernel(self) -> Variable:
        """The kernel Variable; with LoRA enabled, the effective kernel (an array), as Keras."""
        return self._lora_base_property()

    def axis_hint(self, axis: Axis) -> str:
        return "Check the previous layer's units or the input_shape."

    def rank_hint(self, expected_rank: int) -> str:
        return ("Dense needs a batch axis and a feature axis, e.g. shape (batch, features); "
                "add the batch axis or use Input(shape=(features,)).")

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, inputs: TensorTree) -> TensorTree:
        out = jnp.matmul(inputs, self._lora_effective(self._kernel.value))
        if self.use_bias:
            out = out + self.bias.value
        # (Keras code sets layer.activation = None for a linear layer after construction.)
        return out if self.activation is None else self.activation(out)

    def get_config(self) -> Config:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                **self._lora_config()}

    @classmethod
    def from_config(cls, config: Config) -> Dense:
        return cls(**config)
