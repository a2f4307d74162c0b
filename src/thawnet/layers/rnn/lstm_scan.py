"""The LSTM's time loop with a hand-written gradient: the fast path of :class:`LSTM` for the
default activations (tanh, sigmoid) without recurrent dropout.

Forward, per step: ``z = x_t @ kernel + h @ recurrent_kernel + bias``, the four gates
(Keras's order i, f, c, o), the new ``c`` and ``h``; masked steps keep the previous states.
It computes what the generic loop (:mod:`thawnet.layers.rnn.scan_loop`) computes, in the same
order of operations, so outputs are the same to float rounding.

Why a hand-written gradient: differentiating the generic loop makes JAX save twelve
``(time, batch, units)`` arrays (several twice), one per intermediate of the gate algebra, and
recompute the gate derivatives from them in separate fused kernels. Here the forward loop
saves three things per step (the gates after their activations, and the step's input states)
and the backward loop computes the gradient of all four gates in one pass, with the
derivatives of sigmoid and tanh written from the saved gate values. Measured on the CPU
(batch 64, 100 steps, 128 units, forward and backward): see BENCHMARKS.md.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def _gates(z):
    z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
    return jax.nn.sigmoid(z_i), jax.nn.sigmoid(z_f), jnp.tanh(z_c), jax.nn.sigmoid(z_o)


def _forward(flags, xs, kernel, recurrent, bias, h0, c0, masks):
    """The loop; returns ``(ys, h, c)`` and the residuals of the backward loop."""
    return_sequences, zero_output, unroll, projected = flags

    def step(carry, inputs):
        h, c = carry
        x_t, m_t = inputs
        z_x = x_t if projected else x_t @ kernel + bias
        i, f, g, o = _gates(z_x + h @ recurrent)
        c_new = f * c + i * g
        h_new = o * jnp.tanh(c_new)
        y = h_new
        if m_t is not None:
            y = jnp.where(m_t, h_new, 0.0 if zero_output else h)
            h_new, c_new = jnp.where(m_t, h_new, h), jnp.where(m_t, c_new, c)
        saved = (jnp.concatenate([i, f, g, o], axis=-1), h, c)
        return (h_new, c_new), ((y if return_sequences else None), saved)

    (h, c), (ys, saved) = jax.lax.scan(step, (h0, c0), (xs, masks), unroll=unroll)
    return (ys, h, c), saved


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def _loop(flags, xs, kernel, recurrent, bias, h0, c0, masks):
    return _forward(flags, xs, kernel, recurrent, bias, h0, c0, masks)[0]


def _loop_fwd(flags, xs, kernel, recurrent, bias, h0, c0, masks):
    out, saved = _forward(flags, xs, kernel, recurrent, bias, h0, c0, masks)
    return out, (xs, kernel, recurrent, masks, saved)


def _loop_bwd(flags, residuals, cotangents):
    return_sequences, zero_output, unroll, projected = flags
    xs, kernel, recurrent, masks, saved = residuals
    d_ys, d_h, d_c = cotangents
    recurrent_t = recurrent.T

    def step(carry, inputs):
        d_h, d_c, d_kernel, d_recurrent, d_bias = carry
        (gates, h_prev, c_prev), x_t, m_t, d_y = inputs
        i, f, g, o = jnp.split(gates, 4, axis=-1)
        d_h_new, d_c_new = d_h, d_c
        if d_y is not None and not zero_output:
            d_h_new = d_h_new + d_y  # y is the new h (or the kept one at a masked step)
        if m_t is not None:
            d_h_keep = jnp.where(m_t, 0.0, d_h_new)
            d_c_keep = jnp.where(m_t, 0.0, d_c_new)
            d_h_new = jnp.where(m_t, d_h_new, 0.0)
            d_c_new = jnp.where(m_t, d_c_new, 0.0)
        if d_y is not None and zero_output:
            d_h_new = d_h_new + (d_y if m_t is None else jnp.where(m_t, d_y, 0.0))
        tanh_c = jnp.tanh(f * c_prev + i * g)
        d_c_tot = d_c_new + d_h_new * o * (1.0 - tanh_c * tanh_c)
        d_z = jnp.concatenate([d_c_tot * g * i * (1.0 - i), d_c_tot * c_prev * f * (1.0 - f),
                               d_c_tot * i * (1.0 - g * g), d_h_new * tanh_c * o * (1.0 - o)],
                              axis=-1)
        d_h_prev = d_z @ recurrent_t
        d_c_prev = d_c_tot * f
        if m_t is not None:
            d_h_prev, d_c_prev = d_h_prev + d_h_keep, d_c_prev + d_c_keep
        d_recurrent = d_recurrent + h_prev.T @ d_z
        if projected:  # the inputs were x @ kernel + bias: their gradient is d_z
            return (d_h_prev, d_c_prev, None, d_recurrent, None), d_z
        carry = (d_h_prev, d_c_prev, d_kernel + x_t.T @ d_z, d_recurrent,
                 d_bias + jnp.sum(d_z, axis=0))
        return carry, d_z @ kernel.T

    if projected:
        zeros = (None, jnp.zeros_like(recurrent), None)
    else:
        zeros = (jnp.zeros_like(kernel), jnp.zeros_like(recurrent),
                 jnp.zeros(kernel.shape[1:], kernel.dtype))
    d_ys = d_ys if return_sequences else None
    (d_h0, d_c0, d_kernel, d_recurrent, d_bias), d_xs = jax.lax.scan(
        step, (d_h, d_c) + zeros, (saved, xs, masks, d_ys), reverse=True, unroll=unroll)
    # The mask is boolean: its cotangent is of JAX's float0 type (no gradient).
    d_masks = None if masks is None else np.zeros(masks.shape, jax.dtypes.float0)
    return d_xs, d_kernel, d_recurrent, d_bias, d_h0, d_c0, d_masks


_loop.defvjp(_loop_fwd, _loop_bwd)


def run(sequences: jax.Array, kernel: jax.Array, recurrent: jax.Array, bias: jax.Array | None,
        h0: jax.Array, c0: jax.Array, mask: jax.Array | None = None, *,
        return_sequences: bool, zero_output_for_mask: bool = False, unroll: bool = False,
        hoist: bool = False) -> tuple[jax.Array, list[jax.Array]]:
    """The LSTM over ``sequences (batch, time, features)`` (already in loop order, input
    dropout applied); ``bias`` may be None. Returns ``(outputs_or_last_output, [h, c])``, as
    :func:`thawnet.layers.rnn.scan_loop.run`.

    ``hoist``: the input projection as one product over the whole sequence before the loop
    (the accelerators' choice, as the generic loop's); else per step (faster on the CPU).
    """
    steps = sequences.shape[1]
    xs = jnp.swapaxes(sequences, 0, 1)
    masks = None if mask is None else jnp.swapaxes(mask, 0, 1)[:, :, None]
    if bias is None:
        bias = jnp.zeros(kernel.shape[1:], kernel.dtype)
    if hoist:
        xs, kernel, bias = xs @ kernel + bias, None, None  # differentiated by JAX
    if not return_sequences and zero_output_for_mask and masks is not None:
        # The last output then differs from the last h: keep the sequence, take its end.
        ys, h, c = _loop((True, True, steps if unroll else 1, hoist), xs, kernel, recurrent,
                         bias, h0, c0, masks)
        return ys[-1], [h, c]
    flags = (return_sequences, zero_output_for_mask, steps if unroll else 1, hoist)
    ys, h, c = _loop(flags, xs, kernel, recurrent, bias, h0, c0, masks)
    return (jnp.swapaxes(ys, 0, 1) if return_sequences else h), [h, c]
