"""GRUCell and GRU: gated recurrent units, gates in Keras's order (z, r, h).

Per step: ``z = σ(x W_z + h U_z)``, ``r = σ(x W_r + h U_r)``, candidate
``ĥ = tanh(x W_h + r * (h U_h))`` (``reset_after=True``, the default and cuDNN's form, with a
second bias row for the recurrent product) or ``tanh(x W_h + (r * h) U_h)``
(``reset_after=False``); ``h' = z * h + (1 - z) * ĥ``.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet import activations
from thawnet.backend.types import Config, Identifier, SeedLike, ShapeLike
from thawnet.layers.layer import register
from thawnet.layers.rnn.cell_base import RNNCellBase, per_gate
from thawnet.layers.rnn.cell_layer import CellLayer


@register
class GRUCell(RNNCellBase):
    """One GRU step, for :class:`RNN` (the :class:`GRU` layer makes its own).

    Args:
        units: size of the state ``h``.
        activation, recurrent_activation: tanh and sigmoid by default.
        use_bias, kernel/recurrent/bias initializers (glorot_uniform, orthogonal, zeros),
            regularizers and constraints, dropout, recurrent_dropout, seed: as LSTMCell.
        reset_after: apply the reset gate after the recurrent product (default True).

    Weights (parameters): ``kernel (input_dim, 3 * units)``, ``recurrent_kernel (units,
    3 * units)``, ``bias``: ``(2, 3 * units)`` with ``reset_after`` (input bias row, then
    recurrent bias row), else ``(3 * units,)``.
    """

    gates = 3

    def __init__(self, units: int, activation: Identifier = "tanh",
                 recurrent_activation: Identifier = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 recurrent_initializer: Identifier = "orthogonal",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 recurrent_regularizer: Identifier = None, bias_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, recurrent_constraint: Identifier = None,
                 bias_constraint: Identifier = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, reset_after: bool = True, seed: SeedLike = None,
                 **kwargs) -> None:
        kwargs.pop("implementation", None)
        super().__init__(**kwargs)
        self._init_common(units, activation, use_bias, kernel_initializer,
                          recurrent_initializer, bias_initializer, kernel_regularizer,
                          recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                          seed)
        self.recurrent_activation = activations.get(recurrent_activation,
                                                    f'GRUCell "{self.name}"')
        if not isinstance(reset_after, bool):
            raise ValueError(f'GRUCell "{self.name}": reset_after must be True or False; '
                             f"received reset_after={reset_after!r}.")
        self.reset_after = reset_after
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: ShapeLike) -> None:
        u = self.units
        bias_shape = (2, 3 * u) if self.reset_after else (3 * u,)
        self._add_kernels((input_shape[-1], 3 * u), (u, 3 * u), bias_shape)

    def step_functions(self, batch_size: int | None, training: bool | None) -> tuple:
        dtype, u = self.compute_dtype, self.units
        kernel = self.kernel.value.astype(dtype)
        recurrent = self.recurrent_kernel.value.astype(dtype)
        in_bias = rec_bias = None
        if self.bias is not None:
            bias = self.bias.value.astype(dtype)
            in_bias, rec_bias = (bias[0], bias[1]) if self.reset_after else (bias, None)
        in_masks = self.dropout_masks(training, (batch_size, kernel.shape[0]), self.dropout,
                                      3 if self.recurrent_dropout > 0 else 1)
        rec_masks = self.dropout_masks(training, (batch_size, u), self.recurrent_dropout, 3)
        act, rec_act, reset_after = self.activation, self.recurrent_activation, self.reset_after

        def project(x, has_time):
            z = per_gate(x, in_masks, kernel, has_time)
            return z if in_bias is None else z + in_bias

        def step(x_t, states):
            h = states[0]
            x_z, x_r, x_h = jnp.split(x_t, 3, axis=-1)
            if reset_after:
                inner = per_gate(h, rec_masks, recurrent, False)
                if rec_bias is not None:
                    inner = inner + rec_bias
                r_z, r_r, r_h = jnp.split(inner, 3, axis=-1)
                z, r = rec_act(x_z + r_z), rec_act(x_r + r_r)
                candidate = act(x_h + r * r_h)
            else:
                masks_zr = None if rec_masks is None else rec_masks[:2]
                inner = per_gate(h, masks_zr, recurrent[:, :2 * u], False)
                z, r = rec_act(x_z + inner[:, :u]), rec_act(x_r + inner[:, u:])
                h_h = h if rec_masks is None else h * rec_masks[2]
                candidate = act(x_h + (r * h_h) @ recurrent[:, 2 * u:])
            h = z * h + (1.0 - z) * candidate
            return h, [h]

        return project, step

    def get_config(self) -> Config:
        return {**super().get_config(), **self._common_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


@register
class GRU(CellLayer):
    """Gated recurrent unit over a sequence (Cho et al., 2014).

    Takes :class:`GRUCell`'s arguments (``reset_after=True`` by default) and :class:`RNN`'s
    loop arguments. Weights: ``gru/gru_cell/kernel``, ``.../recurrent_kernel``, ``.../bias``.

    >>> import numpy as np
    >>> from thawnet.layers import GRU
    >>> GRU(4)(np.ones((2, 5, 3), "float32")).shape
    (2, 4)
    """

    cell_class = GRUCell
    cell_name = "gru_cell"

    def __init__(self, units: int, activation: Identifier = "tanh",
                 recurrent_activation: Identifier = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 recurrent_initializer: Identifier = "orthogonal",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 recurrent_regularizer: Identifier = None, bias_regularizer: Identifier = None,
                 activity_regularizer: Identifier = None, kernel_constraint: Identifier = None,
                 recurrent_constraint: Identifier = None, bias_constraint: Identifier = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: SeedLike = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, use_cudnn: bool = "auto", **kwargs) -> None:
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            seed=seed)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, use_cudnn=use_cudnn,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = use_cudnn


__all__ = ["GRU", "GRUCell"]
