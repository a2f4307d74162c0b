"""What the built-in recurrent cells share: units, dropout masks, initial states, and the
split of one step into an input projection and a recurrent update.

A cell's math is given once, by :meth:`RNNCellBase.step_functions`, as two pure functions:

- ``project(x, has_time)``: the part that depends on the inputs only (``x @ kernel + bias``,
  with the input dropout mask). On accelerators the RNN layer applies it to the whole
  sequence at once, one large matrix product outside the loop; on the CPU, and for a cell
  called on one step, it runs per step.
- ``step(projected_t, states)``: the recurrent part (``h @ recurrent_kernel`` and the gates),
  the only work left inside ``jax.lax.scan``.

Dropout follows Keras's recurrent convention: one mask per sequence (the same units are
dropped at every step), drawn when the layer is called in training mode.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import jax
import jax.numpy as jnp

from thawnet import activations, constraints, initializers, regularizers
from thawnet.backend.types import Array, ShapeLike, TensorLike, TensorTree
from thawnet.layers.layer import Layer
from thawnet.layers.seed_generator import seed_holder


def _rate(who, name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{who}: {name} must be a float in [0, 1] (the fraction of units to "
                         f"drop); received {name}={value!r}.")
    return min(1.0, max(0.0, float(value)))  # Keras clips rates into [0, 1]


def check_units(who, units):
    if not isinstance(units, numbers.Integral) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"{who}: units must be a positive integer (the size of the state); "
                         f"received units={units!r}. For example LSTM(32).")
    return int(units)


class RNNCellBase(Layer):
    """Base of SimpleRNNCell, LSTMCell, GRUCell and ConvLSTMCell (not a public class).

    Subclasses set ``state_size``/``output_size`` and implement :meth:`step_functions`.
    """

    #: number of gate blocks in the kernels (LSTM 4, GRU 3, SimpleRNN 1)
    gates = 1

    def _init_common(self, units, activation, use_bias, kernel_initializer,
                     recurrent_initializer, bias_initializer, kernel_regularizer,
                     recurrent_regularizer, bias_regularizer, kernel_constraint,
                     recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed):
        who = f'{type(self).__name__} "{self.name}"'
        self.units = check_units(who, units)
        if not isinstance(use_bias, bool):
            raise ValueError(f"{who}: use_bias must be True or False; received "
                             f"use_bias={use_bias!r}.")
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ValueError(f"{who}: seed must be an integer or None; received seed={seed!r}.")
        self.activation = activations.get(activation, who)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint, f"{who}: kernel_constraint: ")
        self.recurrent_constraint = constraints.get(recurrent_constraint,
                                                    f"{who}: recurrent_constraint: ")
        self.bias_constraint = constraints.get(bias_constraint, f"{who}: bias_constraint: ")
        self.dropout = _rate(who, "dropout", dropout)
        self.recurrent_dropout = _rate(who, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        if self.dropout > 0 or self.recurrent_dropout > 0:
            # Keras counts one SeedGenerator per cell; thawnet's is a seed holder (the masks
            # come from the step's key, as Dropout's: README, deliberate differences).
            self.seed_generator = seed_holder(seed)
        self.bias = None

    def _common_config(self):
        return {"units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}

    def _add_kernels(self, kernel_shape, recurrent_shape, bias_shape, bias_initializer=None):
        """The three parameters, named and ordered as Keras (kernel, recurrent_kernel, bias)."""
        self.kernel = self.add_weight("kernel", kernel_shape, self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", recurrent_shape,
                                                self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", bias_shape,
                                        bias_initializer or self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    # -- states ------------------------------------------------------------------------------
    def get_initial_state(self, batch_size: int | None = None) -> list[Array]:
        """Zero states, one ``(batch_size, size)`` array per entry of ``state_size``."""
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [
            self.state_size]
        return [jnp.zeros((batch_size,) + _as_shape(s), self.compute_dtype) for s in sizes]

    # -- dropout -----------------------------------------------------------------------------
    def dropout_masks(self, training: bool | None, shape: ShapeLike, rate: float, count: Any
            ) -> Any:
        """``count`` keep-masks of ``shape`` scaled by ``1/(1-rate)``, stacked on axis 0, or
        None when nothing is dropped (inference, or a rate of 0 or 1 as Keras)."""
        if not training or not 0.0 < rate < 1.0:
            return None
        keep = jax.random.bernoulli(self.next_rng(), 1.0 - rate, (count,) + tuple(shape))
        return keep.astype(self.compute_dtype) / (1.0 - rate)

    # -- the math ----------------------------------------------------------------------------
    def step_functions(self, batch_size: int | None, training: bool | None) -> Any:
        """``(project, step)`` pure functions for one call (see the module docstring)."""
        raise NotImplementedError

    def call(self, inputs: TensorTree, states: Sequence[TensorLike], training: bool | None = False
            ) -> TensorTree:
        """One step: ``(output, new_states)`` from ``inputs (batch, ...)`` and ``states``."""
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        project, step = self.step_functions(inputs.shape[0], training)
        output, new_states = step(project(inputs, False), states)
        if not nested and len(new_states) == 1:
            return output, new_states[0]
        return output, new_states


def _as_shape(size):
    return tuple(size) if isinstance(size, (list, tuple)) else (int(size),)


def per_gate(x, masks, kernel, has_time):
    """``x @ kernel`` where gate ``g`` (a column block of the kernel) sees ``x * masks[g]``.

    One mask (``masks.shape[0] == 1``) is shared by all gates: a single product.
    """
    if masks is None:
        return x @ kernel
    if has_time:
        masks = masks[:, :, None]  # one mask per sequence: the same at every step
    if masks.shape[0] == 1:
        return (x * masks[0]) @ kernel
    blocks = jnp.split(kernel, masks.shape[0], axis=-1)
    return jnp.concatenate([(x * m) @ k for m, k in zip(masks, blocks)], axis=-1)
