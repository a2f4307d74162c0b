"""LSTMCell and LSTM: long short-term memory, gates in Keras's order (i, f, c, o).

Per step, with ``z = x @ kernel + h @ recurrent_kernel + bias`` split into four blocks:
``i, f, o = recurrent_activation(z_i, z_f, z_o)``, ``c' = f * c + i * activation(z_c)``,
``h' = o * activation(c')``. The states are ``[h, c]``.
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp
import numpy as np

from thawnet import activations, initializers
from thawnet.backend.types import Config, Identifier, SeedLike, ShapeLike
from thawnet.layers.layer import register
from thawnet.layers.rnn import lstm_scan
from thawnet.layers.rnn.cell_base import RNNCellBase, per_gate
from thawnet.layers.rnn.cell_layer import CellLayer


class _ForgetBiasOnes(initializers.Initializer):
    """``bias_initializer`` for the i and c, o blocks, ones for the forget block (Keras's
    ``unit_forget_bias``)."""

    def __init__(self, base, units):
        self.base, self.units = base, units

    def _parts(self, draw, dtype):
        u = self.units
        return [draw((u,)), np.ones((u,), dtype), draw((2 * u,))]

    def __call__(self, key, shape, dtype="float32"):
        parts = self._parts(lambda s: self.base(key, s, dtype), dtype)
        return jnp.concatenate([jnp.asarray(p, dtype) for p in parts])

    def sample(self, rng, shape, dtype="float32"):
        if hasattr(self.base, "sample"):
            parts = self._parts(lambda s: self.base.sample(rng, s, dtype), dtype)
            return np.concatenate([np.asarray(p, dtype) for p in parts])
        return np.asarray(self(None, shape, dtype))


@register
class LSTMCell(RNNCellBase):
    """One LSTM step, for :class:`RNN` (the :class:`LSTM` layer makes its own).

    Args:
        units: size of the states ``h`` and ``c``.
        activation: for the candidate and the output (default tanh).
        recurrent_activation: for the gates (default sigmoid).
        use_bias, unit_forget_bias: a bias; its forget block starts at 1 (Keras default).
        kernel_initializer, recurrent_initializer, bias_initializer: glorot_uniform,
            orthogonal, zeros.
        kernel_/recurrent_/bias_regularizer, kernel_/recurrent_/bias_constraint.
        dropout, recurrent_dropout: fractions of the inputs / of ``h`` dropped in training,
            the same units at every step of a sequence.
        seed: accepted for Keras compatibility (masks come from thawnet's RNG streams).

    Weights (parameters, Keras's names and order): ``kernel (input_dim, 4 * units)``,
    ``recurrent_kernel (units, 4 * units)``, ``bias (4 * units,)``.
    """

    gates = 4

    def __init__(self, units: int, activation: Identifier = "tanh",
                 recurrent_activation: Identifier = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Identifier = "glorot_uniform",
                 recurrent_initializer: Identifier = "orthogonal",
                 bias_initializer: Identifier = "zeros", unit_forget_bias: bool = True,
                 kernel_regularizer: Identifier = None, recurrent_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, kernel_constraint: Identifier = None,
                 recurrent_constraint: Identifier = None, bias_constraint: Identifier = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: SeedLike = None,
                 **kwargs) -> None:
        kwargs.pop("implementation", None)
        super().__init__(**kwargs)
        self._init_common(units, activation, use_bias, kernel_initializer,
                          recurrent_initializer, bias_initializer, kernel_regularizer,
                          recurrent_regularizer, bias_regularizer, kernel_constraint,
                          recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                          seed)
        self.recurrent_activation = activations.get(recurrent_activation,
                                                    f'LSTMCell "{self.name}"')
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape: ShapeLike) -> None:
        u = self.units
        bias_init = (_ForgetBiasOnes(self.bias_initializer, u) if self.unit_forget_bias
                     else None)
        self._add_kernels((input_shape[-1], 4 * u), (u, 4 * u), (4 * u,), bias_init)

    def step_functions(self, batch_size: int | None, training: bool | None) -> tuple:
        dtype = self.compute_dtype
        kernel = self.kernel.value.astype(dtype)
        recurrent = self.recurrent_kernel.value.astype(dtype)
        bias = None if self.bias is None else self.bias.value.astype(dtype)
        # Keras draws one input mask for all gates, or one per gate with recurrent dropout.
        in_masks = self.dropout_masks(training, (batch_size, kernel.shape[0]), self.dropout,
                                      4 if self.recurrent_dropout > 0 else 1)
        rec_masks = self.dropout_masks(training, (batch_size, self.units),
                                       self.recurrent_dropout, 4)
        act, rec_act = self.activation, self.recurrent_activation

        def project(x, has_time):
            z = per_gate(x, in_masks, kernel, has_time)
            return z if bias is None else z + bias

        def step(z_t, states):
            h, c = states[0], states[1]
            z = z_t + per_gate(h, rec_masks, recurrent, False)
            z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
            c = rec_act(z_f) * c + rec_act(z_i) * act(z_c)
            h = rec_act(z_o) * act(c)
            return h, [h, c]

        return project, step

    def sequence_runner(self, batch_size: int, training: bool, dtypes: list) -> Callable | None:
        """The whole loop of one call with a hand-written gradient (:mod:`lstm_scan`), or
        None where it does not apply: other activations, recurrent dropout in training, or
        ``dtypes`` (of the sequences and states) other than the compute dtype. It draws the
        same dropout mask as :meth:`step_functions`, so both paths compute the same."""
        dtype = self.compute_dtype
        if (self.activation is not activations.tanh
                or self.recurrent_activation is not activations.sigmoid
                or (training and 0.0 < self.recurrent_dropout < 1.0)
                or any(jnp.dtype(d) != jnp.dtype(dtype) for d in dtypes)):
            return None
        kernel = self.kernel.value.astype(dtype)
        recurrent = self.recurrent_kernel.value.astype(dtype)
        bias = None if self.bias is None else self.bias.value.astype(dtype)
        in_masks = self.dropout_masks(training, (batch_size, kernel.shape[0]), self.dropout, 1)

        def run(sequences, states, mask, **loop):
            if in_masks is not None:
                sequences = sequences * in_masks[0][:, None]  # the same units at every step
            return lstm_scan.run(sequences, kernel, recurrent, bias, states[0], states[1],
                                 mask, **loop)

        return run

    def get_config(self) -> Config:
        return {**super().get_config(), **self._common_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


@register
class LSTM(CellLayer):
    """Long short-term memory over a sequence (Hochreiter & Schmidhuber, 1997).

    Takes :class:`LSTMCell`'s arguments and :class:`RNN`'s loop arguments
    (``return_sequences``, ``return_state``, ``go_backwards``, ``stateful``, ``unroll``);
    ``use_cudnn`` is accepted and ignored (XLA compiles the loop for the device).
    Weights: ``lstm/lstm_cell/kernel``, ``.../recurrent_kernel``, ``.../bias``, as Keras.

    >>> import numpy as np
    >>> from thawnet.layers import LSTM
    >>> LSTM(4, return_sequences=True)(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    cell_class = LSTMCell
    cell_name = "lstm_cell"

    def __init__(self, units: int, activation: Identifier = "tanh",
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
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 use_cudnn: bool = "auto", **kwargs) -> None:
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, use_cudnn=use_cudnn,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = use_cudnn


__all__ = ["LSTM", "LSTMCell"]
