"""The time loop of every recurrent layer: one ``jax.lax.scan`` over the projected sequence.

Mask semantics are Keras 3's: at a masked step the states keep their previous values, and the
output is the previous first state (``zero_output_for_mask=False``) or zeros (``True``).
``go_backwards`` reverses the sequence (and the mask) before the loop, so outputs come in the
order they were computed, as in Keras.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def as_lists(states):
    """States as lists (nested one level for stacked cells), so the scan carry keeps one
    structure whatever container a cell returns (list, tuple, a single array)."""
    if isinstance(states, (list, tuple)):
        return [as_lists(s) if isinstance(s, (list, tuple)) else s for s in states]
    return [states]


def _time_major(tree):
    return jax.tree_util.tree_map(lambda a: jnp.swapaxes(a, 0, 1), tree)


def _keep(mask_t, like):
    return jnp.reshape(mask_t, mask_t.shape + (1,) * (like.ndim - 1))


def _previous_output(states):
    first = states[0]
    return states[-1][0] if isinstance(first, list) else first  # stacked: the last cell's h


def run(step: Callable, projected, initial_states: list, mask=None, *,
        return_sequences: bool, unroll: bool, zero_output_for_mask: bool = False):
    """Run ``step(projected_t, states) -> (output, new_states)`` over the time axis (1).

    Args:
        step: the cell's recurrent update (pure).
        projected: array or tree of arrays ``(batch, time, ...)``, already in the order of
            the loop (reversed for ``go_backwards``).
        initial_states: list of state arrays (nested lists for stacked cells).
        mask: optional ``(batch, time)`` boolean array, in the same order.
        return_sequences: stack every step's output (else only the last is kept, and the
            loop never materialises the others).
        unroll: unroll the whole loop at compile time (``scan(unroll=time)``).

    Returns:
        ``(outputs_or_last_output, final_states)``; outputs are ``(batch, time, ...)``.
    """
    xs = _time_major(projected)
    steps = jax.tree_util.tree_leaves(xs)[0].shape[0]
    masks = None if mask is None else jnp.swapaxes(mask, 0, 1)
    states0 = as_lists(initial_states)

    def masked(out, new, states, m_t):
        if m_t is None:
            return out, new
        new = jax.tree_util.tree_map(lambda n, s: jnp.where(_keep(m_t, n), n, s), new, states)
        prev = jnp.zeros_like(out) if zero_output_for_mask else _previous_output(states)
        return jnp.where(_keep(m_t, out), out, prev.astype(out.dtype)), new

    def cell_step(states, p_t):
        out, new = step(p_t, states)
        return out, jax.tree_util.tree_map(lambda n, s: n.astype(s.dtype), as_lists(new), states)

    if return_sequences:
        def body(states, x):
            p_t, m_t = x
            out, new = masked(*cell_step(states, p_t), states, m_t)
            return new, out

        final, outputs = jax.lax.scan(body, states0, (xs, masks),
                                      unroll=steps if unroll else 1)
        return jnp.swapaxes(outputs, 0, 1), final

    first = jax.tree_util.tree_map(lambda a: a[0], xs)
    is_state = []

    def probe(p, s):
        out, new = step(p, s)
        state = _previous_output(as_lists(new))
        is_state.append(out is state and out.dtype == _previous_output(s).dtype)
        return out

    out_spec = jax.eval_shape(probe, first, states0)
    if is_state[0] and not zero_output_for_mask:
        # The built-in cells output their (first) state: the last output is then the last
        # state (masked steps keep both), so the loop need not carry the output as well.
        def body_states(states, x):
            p_t, m_t = x
            return masked(*cell_step(states, p_t), states, m_t)[1], None

        final, _ = jax.lax.scan(body_states, states0, (xs, masks),
                                unroll=steps if unroll else 1)
        return _previous_output(final), final

    def body_last(carry, x):
        states, _ = carry
        p_t, m_t = x
        out, new = masked(*cell_step(states, p_t), states, m_t)
        return (new, out), None

    init = (states0, jnp.zeros(out_spec.shape, out_spec.dtype))
    (final, last), _ = jax.lax.scan(body_last, init, (xs, masks),
                                    unroll=steps if unroll else 1)
    return last, final
