"""How the merging layers combine the masks of their inputs (Keras 3's rules).

* Elementwise merges (Add, Subtract, Multiply, Average): a timestep of the output is real
  when it is real in *any* input (OR of the masks); when some input has no mask the output
  has none (every timestep of that input is real).
* Maximum / Minimum: masked entries of an input do not take part in the extremum (an input
  whose timestep is padding leaves the others' value there).
* Multiply: a masked entry counts as 1; with every input masked, all-padding entries are 0.
* Concatenate: inputs without a mask count as all-real; the masks are joined along the
  concatenation axis and reduced over the last axis, so joining features keeps the OR and
  joining timesteps joins the masks.
* Dot: the output has no time axis left, so no mask.
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp

from thawnet.backend.masking import get_keras_mask, set_keras_mask
from thawnet.backend.types import Array, TensorLike, TensorTree
from thawnet.layers.layer import Layer


def _checked(layer, inputs, mask):
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f'{type(layer).__name__} "{layer.name}": compute_mask needs the list of '
                         f"inputs the merge takes; received a single {type(inputs).__name__}.")
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f'{type(layer).__name__} "{layer.name}": the mask of a merge must be '
                         f"a list with one entry (or None) per input; received mask={mask!r}.")
    if len(mask) != len(inputs):
        raise ValueError(
            f'{type(layer).__name__} "{layer.name}": got {len(inputs)} inputs but '
            f"{len(mask)} masks; pass one mask (or None) per input.")
    # A Variable (or anything holding a value) stands for its value.
    return [None if m is None else getattr(m, "value", m) for m in mask]


def or_of_masks(layer: Layer, inputs: TensorTree, mask: TensorTree | None = None) -> Array | None:
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


def masked_product(inputs: TensorTree, masks: Sequence[TensorLike | None] | None) -> Array:
    """Multiply with masks: a masked entry counts as 1; when every input has a mask the
    output is 0 where all are masked and carries the OR of the masks (Keras 3)."""
    every = all(m is not None for m in masks)
    out, out_mask = None, None
    for x, m in zip(inputs, masks):
        if m is not None:
            m = jnp.broadcast_to(jnp.asarray(m, bool)[..., None], x.shape)
            x = jnp.where(m, x, jnp.ones((), x.dtype))
            if every:
                out_mask = m if out_mask is None else jnp.logical_or(out_mask, m)
        out = x if out is None else out * x
    if every:
        out = jnp.where(out_mask, out, jnp.zeros((), out.dtype))
        set_keras_mask(out, jnp.any(out_mask, axis=-1))
    return out


def masked_maximum(inputs: TensorTree, masks: Sequence[TensorLike | None] | None) -> Array:
    return masked_extremum(jnp.maximum, inputs, masks)


def masked_minimum(inputs: TensorTree, masks: Sequence[TensorLike | None] | None) -> Array:
    return masked_extremum(jnp.minimum, inputs, masks)


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


__all__ = ["or_of_masks", "concatenated_mask", "masked_extremum", "masked_product",
           "masked_maximum", "masked_minimum", "input_masks"]
