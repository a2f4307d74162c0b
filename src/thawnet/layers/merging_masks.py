"""How the merging layers combine the masks of their inputs (Keras 3's rules).

* Elementwise merges (Add, Subtract, Multiply, Average): a timestep of the output is real
  when it is real in *any* input (OR of the masks); when some input has no mask the output
  has none (every timestep of that input is real).
* Maximum / Minimum: masked entries of an input do not take part in the extremum (an input
  whose timestep is padding leaves the others' value there).
* Concatenate: inputs without a mask count as all-real; the masks are joined along the
  concatenation axis and reduced over the last axis, so joining features keeps the OR and
  joining timesteps joins the masks.
* Dot: the output has no time axis left, so no mask.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.backend.masking import get_keras_mask, set_keras_mask


def _checked(layer, inputs, mask):
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f'{type(layer).__name__} "{layer.name}": the mask of a merge must be '
                         f"a list with one entry (or None) per input; received mask={mask!r}.")
    if len(mask) != len(inputs):
        raise ValueError(
            f'{type(layer).__name__} "{layer.name}": got {len(inputs)} inputs but '
            f"{len(mask)} masks; pass one mask (or None) per input.")
    return list(mask)


def or_of_masks(layer, inputs, mask):
    """The elementwise merges' output mask: the OR of the inputs' masks (None if any is)."""
    if mask is None:
        return None
    masks = _checked(layer, inputs, mask)
    if any(m is None for m in masks):
        return None
    out = jnp.asarray(masks[0], bool)
    for m in masks[1:]:
        out = jnp.logical_or(out, m)
    return out


def concatenated_mask(layer, inputs, mask, axis):
    """Concatenate's output mask (see the module docstring)."""
    if mask is None:
        return None
    masks = _checked(layer, inputs, mask)
    if all(m is None for m in masks):
        return None
    full = []
    for x, m in zip(inputs, masks):
        if m is None:
            full.append(jnp.ones(x.shape, bool))
        else:
            m = jnp.asarray(m, bool)
            if m.ndim < x.ndim:  # a (batch, time) mask covers every feature of its step
                m = jnp.broadcast_to(m[..., None], x.shape)
            full.append(m)
    return jnp.any(jnp.concatenate(full, axis=axis), axis=-1)


def masked_extremum(op, inputs, masks):
    """``op`` (maximum or minimum) over the inputs, where a masked entry of one input takes
    the running result's value and the output mask is the OR (set on the output)."""
    out, out_mask = None, None
    for x, m in zip(inputs, masks):
        if m is not None:
            m = jnp.broadcast_to(jnp.asarray(m, bool)[..., None], x.shape)
        if out is None:
            out, out_mask = x, m
            continue
        if m is not None:
            x = jnp.where(m, x, out)
        if out_mask is not None:
            out = jnp.where(out_mask, out, x)
        out_mask = jnp.logical_or(out_mask, m) if m is not None and out_mask is not None \
            else None
        out = op(out, x)
    if out_mask is not None:
        set_keras_mask(out, jnp.any(out_mask, axis=-1))
    return out


def input_masks(inputs) -> list:
    return [get_keras_mask(x) for x in inputs]


__all__ = ["or_of_masks", "concatenated_mask", "masked_extremum", "input_masks"]
