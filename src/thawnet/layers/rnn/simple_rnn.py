"""SimpleRNNCell and SimpleRNN: ``h' = activation(x @ kernel + bias + h @ recurrent_kernel)``."""

from __future__ import annotations

from thawnet.backend.types import Config, Identifier, SeedLike, ShapeLike
from thawnet.layers.layer import register
from thawnet.layers.rnn.cell_base import RNNCellBase, per_gate
from thawnet.layers.rnn.cell_layer import CellLayer


@register
class SimpleRNNCell(RNNCellBase):
    """One fully connected recurrent step, for :class:`RNN`.

    Args:
        units: size of the state (and output).
        activation: default tanh.
        use_bias, kernel/recurrent/bias initializers (glorot_uniform, orthogonal, zeros),
            regularizers, constraints, dropout, recurrent_dropout, seed: as LSTMCell.

    Weights (parameters): ``kernel (input_dim, units)``, ``recurrent_kernel (units, units)``,
    ``bias (units,)``.
    """

    def __init__(self, units: int, activation: Identifier = "tanh", use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 recurrent_initializer: Identifier = "orthogonal",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 recurrent_regularizer: Identifier = None, bias_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, recurrent_constraint: Identifier = None,
                 bias_constraint: Identifier = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: SeedLike = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._init_common(units, activation, use_bias, kernel_initializer,
                          recurrent_initializer, bias_initializer, kernel_regularizer,
                          recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                          seed)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: ShapeLike) -> None:
        u = self.units
        self._add_kernels((input_shape[-1], u), (u, u), (u,))

    def step_functions(self, batch_size: int | None, training: bool | None) -> tuple:
        dtype = self.compute_dtype
        kernel = self.kernel.value.astype(dtype)
        recurrent = self.recurrent_kernel.value.astype(dtype)
        bias = None if self.bias is None else self.bias.value.astype(dtype)
        in_masks = self.dropout_masks(training, (batch_size, kernel.shape[0]), self.dropout, 1)
        rec_masks = self.dropout_masks(training, (batch_size, self.units),
                                       self.recurrent_dropout, 1)
        act = self.activation

        def project(x, has_time):
            z = per_gate(x, in_masks, kernel, has_time)
            return z if bias is None else z + bias

        def step(x_t, states):
            out = x_t + per_gate(states[0], rec_masks, recurrent, False)
            if act is not None:
                out = act(out)
            return out, [out]

        return project, step

    def get_config(self) -> Config:
        return {**super().get_config(), **self._common_config()}


@register
class SimpleRNN(CellLayer):
    """A fully connected RNN whose output is fed back as the next step's state.

    Takes :class:`SimpleRNNCell`'s arguments and :class:`RNN`'s loop arguments. Weights:
    ``simple_rnn/simple_rnn_cell/kernel``, ``.../recurrent_kernel``, ``.../bias``.

    >>> import numpy as np
    >>> from thawnet.layers import SimpleRNN
    >>> SimpleRNN(4)(np.ones((2, 5, 3), "float32")).shape
    (2, 4)
    """

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"

    def __init__(self, units: int, activation: Identifier = "tanh", use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 recurrent_initializer: Identifier = "orthogonal",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 recurrent_regularizer: Identifier = None, bias_regularizer: Identifier = None,
                 activity_regularizer: Identifier = None, kernel_constraint: Identifier = None,
                 recurrent_constraint: Identifier = None, bias_constraint: Identifier = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 seed: SeedLike = None, **kwargs) -> None:
        cell_kwargs = dict(
            units=units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)


__all__ = ["SimpleRNN", "SimpleRNNCell"]
