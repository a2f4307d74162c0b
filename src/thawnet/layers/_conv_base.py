"""Rank-generic convolution machinery behind the public layers of ``convolutional.py``.

``BaseConv`` handles what all convolutions share (kernel_size, strides, padding, data_format,
dilation_rate, the bias, the activation, input checks); ``Conv`` and ``ConvTranspose`` add the
kernel and the arithmetic. Depthwise and separable convolutions live in ``_conv_depthwise.py``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet import activations, constraints, initializers, regularizers
from thawnet.backend.types import Axis, Config, Identifier, IntOrTuple, ShapeLike, TensorTree
from thawnet.layers import _conv_utils as cu
from thawnet.layers import input_spec as input_spec_lib
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer
from thawnet.layers.lora import LoraMixin
from thawnet.variables import Variable


class BaseConv(Layer):
    """Shared argument handling, bias, activation and input checks of a ``rank``-D convolution.

    Subclasses implement ``_build_kernels(in_channels)``, ``_output_lengths(spatial)``,
    ``_output_channels(in_channels)`` and ``_convolve(inputs)``.
    """

    _paddings = ("valid", "same")

    def __init__(self, rank: int, kernel_size: IntOrTuple, strides: IntOrTuple, padding: str,
                 data_format: str | None, dilation_rate: IntOrTuple, activation: Identifier,
                 use_bias: bool, bias_initializer: Identifier, bias_regularizer: Identifier,
                 bias_constraint: Identifier, **kwargs) -> None:
        super().__init__(**kwargs)
        who = self._who()
        self.rank = rank
        self.kernel_size = cu.int_tuple(kernel_size, rank, "kernel_size", who)
        self.strides = cu.int_tuple(strides, rank, "strides", who)
        self.padding = cu.padding_mode(padding, who, self._paddings)
        self.data_format = cu.data_format(data_format, who)
        self.dilation_rate = cu.int_tuple(dilation_rate, rank, "dilation_rate", who)
        self.activation = activations.get(activation, who)
        if not isinstance(use_bias, bool):
            raise ValueError(f"{who}: use_bias must be True or False; received "
                             f"use_bias={use_bias!r}.")
        self.use_bias = use_bias
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = self._constraint(bias_constraint, "bias_constraint")
        self.input_spec = InputSpec(ndim=rank + 2)

    def _who(self):
        return f'{type(self).__name__} "{self.name}"'

    def _constraint(self, value, arg):
        return constraints.get(value, f"{self._who()}: {arg}: ")

    def _check_no_strided_dilation(self):
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{self._who()}: strides > 1 cannot be combined with dilation_rate > 1 (as in "
                f"Keras); received strides={self.strides}, dilation_rate={self.dilation_rate}. "
                "Use one of them, or two layers.")

    # -- building ----------------------------------------------------------------------------
    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        # Check the rank before anything indexes the shape (build runs before the input spec).
        input_spec_lib.check(self, InputSpec(ndim=self.rank + 2), input_shape)
        axis = cu.channel_axis(self.data_format)
        in_channels = input_shape[axis]
        if in_channels is None:
            raise ValueError(
                f"{self._who()} needs a known number of input channels (axis {axis} with "
                f"data_format='{self.data_format}'); received shape {input_shape}. Give the "
                "channel size in Input(shape=...).")
        spatial = [input_shape[a] for a in cu.spatial_axes(self.data_format, self.rank)]
        cu.check_output_size(self._who(), input_shape, self.data_format, self.rank,
                             self._output_lengths(spatial), self._size_description())
        self._build_kernels(in_channels)
        if self.use_bias:
            # A parameter, trained by the optimizer.
            self.bias = self.add_weight("bias", (self._output_channels(in_channels),),
                                        self.bias_initializer, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={axis: in_channels})

    def _size_description(self):
        return (f"kernel_size={self.kernel_size}, strides={self.strides}, "
                f"dilation_rate={self.dilation_rate} and padding='{self.padding}'")

    def _output_lengths(self, spatial):
        return [cu.conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        """Shape arithmetic only, so functional graphs and summaries never trace a conv."""
        out = list(input_shape)
        axes = cu.spatial_axes(self.data_format, self.rank)
        for axis, length in zip(axes, self._output_lengths([input_shape[a] for a in axes])):
            out[axis] = length
        axis = cu.channel_axis(self.data_format)
        out[axis] = self._output_channels(input_shape[axis])
        return tuple(out)

    def rank_hint(self, expected_rank: int) -> str:
        return cu.rank_hint(type(self).__name__, self.data_format, self.rank)

    def axis_hint(self, axis: Axis) -> str:
        return (f"The layer was built for inputs with {self.input_spec.axes.get(axis)} channels "
                "(the size of the channel axis is fixed once the layer is built). Use a new "
                "layer for inputs with another number of channels, or check the previous "
                "layer's output.")

    # -- calling -----------------------------------------------------------------------------
    def call(self, inputs: TensorTree) -> TensorTree:
        x = inputs if inputs.dtype == self.compute_dtype else inputs.astype(self.compute_dtype)
        out = self._convolve(x)
        if self.use_bias:
            shape = [1] * (self.rank + 2)
            shape[cu.channel_axis(self.data_format)] = -1
            out = out + jnp.reshape(self.bias.value, shape)
        return self.activation(out)

    def _dimension_numbers(self, **kernel_axes):
        return cu.dimension_numbers(self.data_format, self.rank, **kernel_axes)

    def _lax_padding(self):
        return self.padding.upper()

    # -- config ------------------------------------------------------------------------------
    def _config(self, head=None, after_padding=None, after_dilation=None, initializers_=None,
                regularizers_=None, constraints_=None):
        """Keras's config order: ``head``, the window arguments, activation, use_bias, then the
        kernel initializers and the bias's, the kernel regularizers and the bias's, then the
        kernel constraints and the bias's."""
        config = {**super().get_config(), **(head or {}), "kernel_size": self.kernel_size,
                  "strides": self.strides, "padding": self.padding, **(after_padding or {}),
                  "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                  **(after_dilation or {}),
                  "activation": activations.serialize(self.activation), "use_bias": self.use_bias}
        for key, init in (initializers_ or {}).items():
            config[key] = initializers.serialize(init)
        config["bias_initializer"] = initializers.serialize(self.bias_initializer)
        for key, reg in (regularizers_ or {}).items():
            config[key] = regularizers.serialize(reg)
        config["bias_regularizer"] = regularizers.serialize(self.bias_regularizer)
        for key, con in (constraints_ or {}).items():
            config[key] = constraints.serialize(con)
        config["bias_constraint"] = constraints.serialize(self.bias_constraint)
        return config

    @classmethod
    def from_config(cls, config: Config) -> BaseConv:
        return cls(**config)


class Conv(LoraMixin, BaseConv):
    """``rank``-D convolution with ``filters`` outputs, optionally grouped.

    ``lora_rank`` / ``lora_alpha`` enable LoRA at build (see
    :meth:`~thawnet.layers.lora.LoraMixin.enable_lora`): the kernel is frozen and factors
    ``lora_kernel_a`` ``(*kernel_size, in_channels // groups, rank)`` and ``lora_kernel_b``
    ``(rank, filters)`` are trained; the convolution uses ``kernel + alpha / rank * a @ b``.
    """

    def __init__(self, rank: int, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: IntOrTuple = 1, groups: int = 1, activation: Identifier = None,
                 use_bias: bool = True, kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, kernel_constraint: Identifier = None,
                 bias_constraint: Identifier = None, lora_rank: int | None = None,
                 lora_alpha: float | None = None, **kwargs) -> None:
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, **kwargs)
        who = self._who()
        self.filters = cu.positive_int(filters, "filters", who)
        self.groups = cu.positive_int(groups, "groups", who)
        if self.filters % self.groups:
            raise ValueError(f"{who}: filters must be divisible by groups; received "
                             f"filters={self.filters}, groups={self.groups}.")
        self._check_no_strided_dilation()
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = self._constraint(kernel_constraint, "kernel_constraint")
        self._init_lora(lora_rank, lora_alpha)

    def build(self, input_shape: ShapeLike) -> None:
        super().build(input_shape)
        self._build_lora()  # after the bias: Keras's order is kernel, bias, lora_kernel_a/b

    @property
    def kernel(self) -> Variable:
        """The kernel Variable; with LoRA enabled, the effective kernel (an array), as Keras."""
        return self._lora_base_property()

    def _build_kernels(self, in_channels):
        if in_channels % self.groups:
            raise ValueError(
                f"{self._who()}: the number of input channels ({in_channels}) must be divisible "
                f"by groups={self.groups}. Change groups or the previous layer's channels.")
        shape = self.kernel_size + (in_channels // self.groups, self.filters)
        # A parameter, trained by the optimizer.
        self._kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                       regularizer=self.kernel_regularizer,
                                       constraint=self.kernel_constraint)

    def _output_channels(self, in_channels):
        return self.filters

    def _lax_padding(self):
        if self.padding == "causal":  # only Conv1D allows it: pad the past side only
            return [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)]
        return super()._lax_padding()

    def _convolve(self, x):
        return jax.lax.conv_general_dilated(
            x, self._lora_effective(self._kernel.value), window_strides=self.strides,
            padding=self._lax_padding(),
            rhs_dilation=self.dilation_rate, dimension_numbers=self._dimension_numbers(),
            feature_group_count=self.groups)

    def get_config(self) -> Config:
        return {**self._config(head={"filters": self.filters},
                               after_dilation={"groups": self.groups},
                               initializers_={"kernel_initializer": self.kernel_initializer},
                               regularizers_={"kernel_regularizer": self.kernel_regularizer},
                               constraints_={"kernel_constraint": self.kernel_constraint}),
                **self._lora_config()}


class ConvTranspose(BaseConv):
    """``rank``-D transposed convolution; kernel ``(*kernel_size, filters, in_channels)``.

    Computed as a stride-1 convolution of the input dilated by ``strides`` with the spatially
    flipped kernel, padded as described in ``_conv_utils.transpose_padding``.
    """

    def __init__(self, rank: int, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", output_padding: IntOrTuple | None = None,
                 data_format: str | None = None, dilation_rate: IntOrTuple = 1,
                 activation: Identifier = None, use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, kernel_constraint: Identifier = None,
                 bias_constraint: Identifier = None, **kwargs) -> None:
        super().__init__(rank, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, **kwargs)
        who = self._who()
        self.filters = cu.positive_int(filters, "filters", who)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = cu.int_tuple(output_padding, rank, "output_padding", who,
                                               allow_zero=True)
            for i, (op, s) in enumerate(zip(self.output_padding, self.strides)):
                if op >= s:
                    raise ValueError(
                        f"{who}: output_padding must be smaller than strides in every "
                        f"dimension; dimension {i} has output_padding {op} and strides {s} "
                        f"(received output_padding={self.output_padding}, "
                        f"strides={self.strides}).")
        self._check_no_strided_dilation()
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = self._constraint(kernel_constraint, "kernel_constraint")

    def _build_kernels(self, in_channels):
        shape = self.kernel_size + (self.filters, in_channels)
        # A parameter, trained by the optimizer.
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)

    def _output_channels(self, in_channels):
        return self.filters

    def _pads(self):
        ops = self.output_padding or (None,) * self.rank
        return [cu.transpose_padding(k, s, d, self.padding, op) for k, s, d, op in
                zip(self.kernel_size, self.strides, self.dilation_rate, ops)]

    def _output_lengths(self, spatial):
        ops = self.output_padding or (None,) * self.rank
        return [cu.transpose_output_length(n, k, s, d, self.padding, op) for n, k, s, d, op in
                zip(spatial, self.kernel_size, self.strides, self.dilation_rate, ops)]

    def _convolve(self, x):
        flipped = jnp.flip(self.kernel.value, axis=tuple(range(self.rank)))
        dn = self._dimension_numbers(kernel_out_axis=self.rank, kernel_in_axis=self.rank + 1)
        return jax.lax.conv_general_dilated(
            x, flipped, window_strides=(1,) * self.rank, padding=self._pads(),
            lhs_dilation=self.strides, rhs_dilation=self.dilation_rate, dimension_numbers=dn)

    def get_config(self) -> Config:
        return self._config(head={"filters": self.filters},
                            after_padding={"output_padding": self.output_padding},
                            initializers_={"kernel_initializer": self.kernel_initializer},
                            regularizers_={"kernel_regularizer": self.kernel_regularizer},
                            constraints_={"kernel_constraint": self.kernel_constraint})
