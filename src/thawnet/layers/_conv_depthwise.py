"""Rank-generic depthwise and separable convolutions behind ``convolutional.py``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet import initializers, regularizers
from thawnet.backend.types import Config, Identifier, IntOrTuple, ShapeLike
from thawnet.layers import _conv_utils as cu
from thawnet.layers._conv_base import BaseConv
from thawnet.layers.lora import LoraMixin
from thawnet.variables import Variable


def depthwise_convolve(x, kernel, rank, strides, padding, dilation, dimension_numbers):
    """Each input channel convolved with its own ``depth_multiplier`` filters.

    ``kernel`` is ``(*kernel_size, in_channels, depth_multiplier)``; output channel
    ``c * depth_multiplier + m`` comes from input channel ``c`` and filter ``m``.
    """
    in_channels, multiplier = kernel.shape[rank], kernel.shape[rank + 1]
    grouped = jnp.reshape(kernel, kernel.shape[:rank] + (1, in_channels * multiplier))
    return jax.lax.conv_general_dilated(
        x, grouped, window_strides=strides, padding=padding, rhs_dilation=dilation,
        dimension_numbers=dimension_numbers, feature_group_count=in_channels)


class DepthwiseConv(LoraMixin, BaseConv):
    """``rank``-D depthwise convolution; kernel ``(*kernel_size, in_channels, depth_multiplier)``
    named "kernel" as in Keras 3 (also reachable as ``depthwise_kernel``).

    LoRA (``enable_lora(rank)`` or ``lora_rank=``; Keras 3 has none here) factors the kernel
    as window x channels: ``lora_kernel_a`` ``(*kernel_size, rank)`` and ``lora_kernel_b``
    ``(rank, in_channels, depth_multiplier)``, so a 3x3 kernel over 32 channels trains
    ``9 * rank + rank * 32`` numbers instead of 288 (the layout Dense uses,
    ``(*kernel_size, in, rank)``, would train more than the kernel itself has).
    """

    _lora_constraint_name = "depthwise_constraint"
    _lora_regularizer_name = "depthwise_regularizer"

    def __init__(self, rank: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: IntOrTuple = 1, activation: Identifier = None,
                 use_bias: bool = True, depthwise_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", depthwise_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, depthwise_constraint: Identifier = None,
                 bias_constraint: Identifier = None, lora_rank: int | None = None,
                 lora_alpha: float | None = None, **kwargs) -> None:
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, **kwargs)
        self.depth_multiplier = cu.positive_int(depth_multiplier, "depth_multiplier",
                                                self._who())
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = self._constraint(depthwise_constraint,
                                                     "depthwise_constraint")
        self._init_lora(lora_rank, lora_alpha)

    def build(self, input_shape: ShapeLike) -> None:
        super().build(input_shape)
        self._build_lora()  # after the bias: kernel, bias, lora_kernel_a/b (Conv's order)

    @property
    def kernel(self) -> Variable:
        """The kernel Variable; with LoRA enabled, the effective kernel (an array)."""
        return self._lora_base_property()

    @property
    def depthwise_kernel(self) -> Variable:
        return self.kernel

    def _lora_factor_shapes(self, base_shape, rank):
        return tuple(base_shape[:-2]) + (rank,), (rank,) + tuple(base_shape[-2:])

    def _lora_product(self, a, b):
        return jnp.tensordot(a, b, axes=1)  # (*window, rank) . (rank, in, multiplier)

    def _build_kernels(self, in_channels):
        shape = self.kernel_size + (in_channels, self.depth_multiplier)
        # A parameter, trained by the optimizer.
        self._kernel = self.add_weight("kernel", shape, self.depthwise_initializer,
                                       regularizer=self.depthwise_regularizer,
                                       constraint=self.depthwise_constraint)

    def _output_channels(self, in_channels):
        return in_channels * self.depth_multiplier

    def _convolve(self, x):
        return depthwise_convolve(x, self._lora_effective(self._kernel.value), self.rank,
                                  self.strides, self._lax_padding(), self.dilation_rate,
                                  self._dimension_numbers())

    def get_config(self) -> Config:
        return {**self._config(
            head={"depth_multiplier": self.depth_multiplier},
            initializers_={"depthwise_initializer": self.depthwise_initializer},
            regularizers_={"depthwise_regularizer": self.depthwise_regularizer},
            constraints_={"depthwise_constraint": self.depthwise_constraint}),
            **self._lora_config()}


class SeparableConv(BaseConv):
    """Depthwise convolution followed by a 1x1 convolution to ``filters`` channels.

    Weights, in Keras's order: ``depthwise_kernel`` ``(*kernel_size, in, depth_multiplier)``,
    ``pointwise_kernel`` ``(1, ..., 1, in * depth_multiplier, filters)``, ``bias``.
    """

    def __init__(self, rank: int, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: IntOrTuple = 1, depth_multiplier: int = 1,
                 activation: Identifier = None, use_bias: bool = True,
                 depthwise_initializer: Identifier = "glorot_uniform",
                 pointwise_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", depthwise_regularizer: Identifier = None,
                 pointwise_regularizer: Identifier = None, bias_regularizer: Identifier = None,
                 depthwise_constraint: Identifier = None, pointwise_constraint: Identifier = None,
                 bias_constraint: Identifier = None, **kwargs) -> None:
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, **kwargs)
        who = self._who()
        self.filters = cu.positive_int(filters, "filters", who)
        self.depth_multiplier = cu.positive_int(depth_multiplier, "depth_multiplier", who)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = self._constraint(depthwise_constraint,
                                                     "depthwise_constraint")
        self.pointwise_constraint = self._constraint(pointwise_constraint,
                                                     "pointwise_constraint")

    def _build_kernels(self, in_channels):
        # Both kernels are parameters, trained by the optimizer.
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (in_channels, self.depth_multiplier),
            self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            (1,) * self.rank + (in_channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)

    def _output_channels(self, in_channels):
        return self.filters

    def _convolve(self, x):
        dn = self._dimension_numbers()
        mid = depthwise_convolve(x, self.depthwise_kernel.value, self.rank, self.strides,
                                 self._lax_padding(), self.dilation_rate, dn)
        return jax.lax.conv_general_dilated(
            mid, self.pointwise_kernel.value, window_strides=(1,) * self.rank,
            padding="VALID", dimension_numbers=dn)

    def get_config(self) -> Config:
        return self._config(
            head={"filters": self.filters},
            after_dilation={"depth_multiplier": self.depth_multiplier},
            initializers_={"depthwise_initializer": self.depthwise_initializer,
                           "pointwise_initializer": self.pointwise_initializer},
            regularizers_={"depthwise_regularizer": self.depthwise_regularizer,
                           "pointwise_regularizer": self.pointwise_regularizer},
            constraints_={"depthwise_constraint": self.depthwise_constraint,
                          "pointwise_constraint": self.pointwise_constraint})
