"""ConvLSTMCell and ConvLSTM1D/2D/3D: an LSTM whose products are convolutions.

The input convolution uses the layer's ``strides``, ``padding`` and ``dilation_rate``; the
recurrent one is a stride-1 ``"same"`` convolution of ``h`` (Keras's definition). Gates in the
order i, f, c, o along the kernels' last axis.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet import activations
from thawnet.backend.types import Config, Identifier, IntOrTuple, SeedLike, ShapeLike
from thawnet.layers import _conv_utils as cu
from thawnet.layers.layer import Layer, register
from thawnet.layers.rnn.cell_base import RNNCellBase
from thawnet.layers.rnn.cell_layer import CellLayer
from thawnet.layers.rnn.lstm import _ForgetBiasOnes


@register
class ConvLSTMCell(RNNCellBase):
    """One ConvLSTM step on ``(batch, *spatial, channels)`` inputs (channels_last), for
    :class:`RNN`; ``rank`` is the number of spatial axes.

    Weights (parameters): ``kernel (*kernel_size, in_channels, 4 * filters)``,
    ``recurrent_kernel (*kernel_size, filters, 4 * filters)``, ``bias (4 * filters,)``.
    """

    gates = 4

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        self._init_common(filters, activation, use_bias, kernel_initializer,
                          recurrent_initializer, bias_initializer, kernel_regularizer,
                          recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                          seed)
        self.rank = int(rank)
        self.filters = self.units
        self.kernel_size = cu.int_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = cu.int_tuple(strides, self.rank, "strides", who)
        self.padding = cu.padding_mode(padding, who)
        self.data_format = cu.data_format(data_format, who)
        self.dilation_rate = cu.int_tuple(dilation_rate, self.rank, "dilation_rate", who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 is not compatible with dilation_rate > 1; "
                             f"received strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}.")
        self.recurrent_activation = activations.get(recurrent_activation, who)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.spatial_dims = None
        self.state_size = -1  # set in build, once the spatial size is known
        self.output_size = None

    def _out_spatial(self, spatial):
        return tuple(cu.conv_output_length(n, k, s, d, self.padding) for n, k, s, d in zip(
            spatial, self.kernel_size, self.strides, self.dilation_rate))

    def compute_output_shape(self, inputs_shape, states_shape=None):
        inputs_shape = tuple(inputs_shape)
        axes = cu.spatial_axes(self.data_format, self.rank)
        spatial = self._out_spatial([inputs_shape[a] for a in axes])
        if self.data_format == "channels_last":
            out = (inputs_shape[0],) + spatial + (self.filters,)
        else:
            out = (inputs_shape[0], self.filters) + spatial
        return out, [out, out]

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        axes = cu.spatial_axes(self.data_format, self.rank)
        self.spatial_dims = tuple(input_shape[a] for a in axes)
        channels = input_shape[cu.channel_axis(self.data_format)]
        if None in self.spatial_dims or channels is None:
            raise ValueError(
                f'{type(self).__name__} "{self.name}" needs static spatial and channel '
                f"sizes; received input shape {input_shape}.")
        self.input_dim = channels
        f = self.filters
        state = self.compute_output_shape(input_shape)[0][1:]
        self.state_size = [state, state]
        bias_init = _ForgetBiasOnes(self.bias_initializer, f) if self.unit_forget_bias else None
        self._add_kernels(self.kernel_size + (channels, 4 * f),
                          self.kernel_size + (f, 4 * f), (4 * f,), bias_init)

    def get_initial_state(self, batch_size=None):
        state = tuple(self.state_size[0])
        return [jnp.zeros((batch_size,) + state, self.compute_dtype) for _ in range(2)]

    def step_functions(self, batch_size, training):
        dtype, rank, fmt = self.compute_dtype, self.rank, self.data_format
        kernel = self.kernel.value.astype(dtype)
        recurrent = self.recurrent_kernel.value.astype(dtype)
        bias = None if self.bias is None else self.bias.value.astype(dtype)
        dn = cu.dimension_numbers(fmt, rank)
        in_shape = (batch_size,) + ((*self.spatial_dims, self.input_dim)
                                    if fmt == "channels_last" else
                                    (self.input_dim, *self.spatial_dims))
        in_masks = self.dropout_masks(training, in_shape, self.dropout, 4)
        rec_masks = self.dropout_masks(training, (batch_size,) + tuple(self.state_size[0]),
                                       self.recurrent_dropout, 4)
        c_axis = cu.channel_axis(fmt)
        act, rec_act = self.activation, self.recurrent_activation
        bshape = (1,) * (rank + 1) + (-1,) if fmt == "channels_last" else (1, -1) + (1,) * rank

        def conv(x, w, strides, padding, dilation):
            return jax.lax.conv_general_dilated(x, w, strides, padding, rhs_dilation=dilation,
                                                dimension_numbers=dn)

        def gated(x, masks, w, **conv_args):
            if masks is None:
                return conv(x, w, **conv_args)
            blocks = jnp.split(w, 4, axis=-1)
            return jnp.concatenate([conv(x * m, k, **conv_args) for m, k in zip(masks, blocks)],
                                   axis=c_axis)

        def project_step(x, masks):
            z = gated(x, masks, kernel, strides=self.strides, padding=self.padding.upper(),
                      dilation=self.dilation_rate)
            return z if bias is None else z + bias.reshape(bshape)

        def project(x, has_time):
            if not has_time:
                return project_step(x, in_masks)
            b, t = x.shape[0], x.shape[1]
            if in_masks is not None:  # one mask per sequence, the same at every step
                xm = x[None] * in_masks[:, :, None]  # (gate, batch, time, ...)
                folded = [jnp.reshape(xm[g], (b * t,) + x.shape[2:]) for g in range(4)]
                blocks = jnp.split(kernel, 4, axis=-1)
                z = jnp.concatenate(
                    [conv(xg, k, self.strides, self.padding.upper(), self.dilation_rate)
                     for xg, k in zip(folded, blocks)], axis=c_axis)
                z = z if bias is None else z + bias.reshape(bshape)
            else:
                z = project_step(jnp.reshape(x, (b * t,) + x.shape[2:]), None)
            return jnp.reshape(z, (b, t) + z.shape[1:])

        def step(z_t, states):
            h, c = states[0], states[1]
            z = z_t + gated(h, rec_masks, recurrent, strides=(1,) * rank, padding="SAME",
                            dilation=(1,) * rank)
            z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=c_axis)
            c = rec_act(z_f) * c + rec_act(z_i) * act(z_c)
            h = rec_act(z_o) * act(c)
            return h, [h, c]

        return project, step

    def get_config(self):
        config = self._common_config()
        config.pop("units")
        return {**Layer.get_config(self), "rank": self.rank, "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, **config,
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class _ConvLSTM(CellLayer):
    """ConvLSTM over ``(batch, time, *spatial, channels)`` (not a public class)."""

    cell_class = ConvLSTMCell
    cell_name = "conv_lstm_cell"
    rank = 0

    def __init__(self, filters: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: IntOrTuple = 1, activation: Identifier = "tanh",
                 recurrent_activation: Identifier = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 recurrent_initializer: Identifier = "orthogonal",
                 bias_initializer: Identifier = "zeros", unit_forget_bias: bool = True,
                 kernel_regularizer: Identifier = None, recurrent_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, recurrent_constraint: Identifier = None,
                 bias_constraint: Identifier = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: SeedLike = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, **kwargs
            ) -> None:
        kwargs.pop("rank", None)
        cell_kwargs = dict(
            rank=self.rank, filters=filters, kernel_size=kernel_size, strides=strides,
            padding=padding, data_format=data_format, dilation_rate=dilation_rate,
            activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = None

    def compute_output_shape(self, sequences_shape: ShapeLike,
                             initial_state_shape: ShapeLike | None = None) -> ShapeLike:
        sequences_shape = tuple(sequences_shape)
        batch, steps = sequences_shape[0], sequences_shape[1]
        state = tuple(self.cell.compute_output_shape((batch,) + sequences_shape[2:])[0][1:])
        out = (batch, steps) + state if self.return_sequences else (batch,) + state
        if self.return_state:
            return out, (batch,) + state, (batch,) + state
        return out

    def _check_rank(self, shape):
        if len(shape) != self.rank + 3:
            raise ValueError(
                f'{type(self).__name__} "{self.name}" expects inputs of rank {self.rank + 3} '
                f"(batch, time, {self.rank} spatial axes, channels); received shape "
                f"{tuple(shape)}.")

    def build(self, sequences_shape: ShapeLike, initial_state_shape: ShapeLike | None = None
            ) -> None:
        self._check_rank(tuple(sequences_shape))
        super().build(sequences_shape, initial_state_shape)

    def get_config(self) -> Config:
        config = super().get_config()
        config.pop("rank", None)
        return config


@register
class ConvLSTM1D(_ConvLSTM):
    """1D convolutional LSTM: inputs ``(batch, time, length, channels)`` (channels_last).

    Takes Conv1D's window arguments (``filters``, ``kernel_size``, ``strides``, ``padding``,
    ``data_format``, ``dilation_rate``), LSTMCell's and RNN's. Weights:
    ``conv_lstm1d/conv_lstm_cell/kernel``, ``.../recurrent_kernel``, ``.../bias``.
    """

    rank = 1


@register
class ConvLSTM2D(_ConvLSTM):
    """2D convolutional LSTM: inputs ``(batch, time, rows, cols, channels)``.

    >>> import numpy as np
    >>> from thawnet.layers import ConvLSTM2D
    >>> ConvLSTM2D(2, 3)(np.ones((1, 3, 5, 5, 1), "float32")).shape
    (1, 3, 3, 2)
    """

    rank = 2


@register
class ConvLSTM3D(_ConvLSTM):
    """3D convolutional LSTM: inputs ``(batch, time, dim1, dim2, dim3, channels)``."""

    rank = 3


__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
