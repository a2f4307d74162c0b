"""Per-layer learning-rate multipliers (discriminative fine-tuning).

    thawnet.set_learning_rate_multiplier(model, "block5*", 0.1)   # glob on layer names
    model.get_layer("head").lr_multiplier = 2.0                  # or one layer directly

A weight's multiplier is the product of the ``lr_multiplier`` of its layer and of every layer
or model that owns it (as trainability follows the owner chain), 1.0 where none is set. The
trainer reads the multipliers at the start of every ``fit`` epoch and every
``train_on_batch``, like the trainable split: a change takes effect at the next step, with no
recompile by hand.

The multipliers scale the optimizer's *updates*, weight by weight, after the Optax
transformation (:func:`scale_updates`): ``new = w + m * update``. For SGD this is exactly a
learning rate ``m * lr`` for that weight; for adaptive optimizers (Adam...) it scales the step,
which is what a per-layer learning rate means there too (Adam's step is proportional to the
learning rate). The whole update is scaled, decoupled weight decay (AdamW) included. The
optimizer state keeps its structure, so checkpoints, ``transfer_opt_state``
and Keras-style stateless optimizer lists are unaffected. A multiplier of 0 leaves a trainable
weight bit-identical (its update becomes 0; a weight constraint still applies) while it keeps
receiving gradients and moments.
"""

from __future__ import annotations

import fnmatch
import math
import numbers
from typing import Any

import jax.numpy as jnp
import optax

ATTRIBUTE = "lr_multiplier"


def check_multiplier(who: str, value) -> float:
    """``value`` as a float, or a ValueError naming ``who`` when it is not a finite number
    >= 0."""
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(float(value)) and float(value) >= 0)
    if not ok:
        raise ValueError(f"{who}: lr_multiplier must be a finite number >= 0 (the factor on "
                         f"this layer's learning rate, e.g. 0.1); received {value!r}.")
    return float(value)


def layer_multiplier(layer) -> float:
    """The layer's own ``lr_multiplier`` (1.0 when not set), checked."""
    value = getattr(layer, ATTRIBUTE, 1.0)
    if value is None:
        return 1.0
    return check_multiplier(f'Layer "{layer.name}" ({type(layer).__name__})', value)


def weight_multipliers(model) -> dict[str, float]:
    """``{path: multiplier}`` for every weight of ``model`` (the owner chain's product)."""
    out = {}
    for path, _, owners in model._walk():
        factor = 1.0
        for owner in owners:
            factor *= layer_multiplier(owner)
        out[path] = factor
    return out


def multipliers_key(model) -> tuple:
    """A hashable summary of the multipliers (empty when all are 1): part of the trainer's
    split key, so compiled steps are cached per multiplier setting."""
    layers = [model, *model._all_layers()]  # cached by models: no weight walk when none is set
    if all(getattr(layer, ATTRIBUTE, None) in (None, 1.0) for layer in layers):
        return ()
    return tuple(sorted((p, m) for p, m in weight_multipliers(model).items() if m != 1.0))


def scale_updates(tx: optax.GradientTransformation,
                  multipliers: dict[str, float]) -> optax.GradientTransformation:
    """``tx`` with each update multiplied by its weight's multiplier.

    The state is ``tx``'s own (same ``init``); weights without an entry, or with 1.0, keep
    their update unchanged (no multiplication at all, so their bits are as without
    multipliers).

    Args:
        tx: the optimizer's transformation over ``{path: array}`` dicts.
        multipliers: ``{path: factor}``.
    """
    scaled = {p: m for p, m in multipliers.items() if m != 1.0}
    if not scaled:
        return tx

    def update(updates, state, params=None):
        updates, state = tx.update(updates, state, params)
        out = {p: (u * jnp.asarray(scaled[p], u.dtype) if p in scaled else u)
               for p, u in updates.items()}
        return out, state

    return optax.GradientTransformation(tx.init, update)


def _walk_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers") and layer is not model:
            yield from _walk_layers(layer)


def set_learning_rate_multiplier(model: Any, pattern: str | None, multiplier: float, *,
                                 up_to: str | None = None) -> list[str]:
    """Set ``lr_multiplier`` on the layers of ``model`` matching ``pattern``.

    Args:
        model: a built or unbuilt model.
        pattern: a glob on layer names, nested models included (``"block5*"``); ``None`` or
            ``"*"`` with no ``up_to`` sets the model's own multiplier (every weight).
        multiplier: finite, >= 0 (0 keeps those weights as they are; 1 restores the
            optimizer's learning rate).
        up_to: as in :func:`thawnet.freeze`: every top-level layer up to and including this
            one (``pattern`` then filters them).

    Returns:
        The names of the layers set.

    >>> import thawnet
    >>> m = thawnet.Sequential([thawnet.layers.Dense(2, name="a"), thawnet.layers.Dense(1, name="b")])
    >>> thawnet.set_learning_rate_multiplier(m, "a", 0.1)
    ['a']
    """
    value = check_multiplier(f'set_learning_rate_multiplier(model "{model.name}")', multiplier)
    if pattern in (None, "*") and up_to is None:
        setattr(model, ATTRIBUTE, value)
        return [model.name]
    if up_to is not None:
        names = [layer.name for layer in model.layers]
        if up_to not in names:
            raise ValueError(f'set_learning_rate_multiplier: model "{model.name}" has no '
                             f'top-level layer named "{up_to}" (up_to=). Layers: {names}.')
        chosen = model.layers[: names.index(up_to) + 1]
        if pattern not in (None, "*"):
            chosen = [layer for layer in chosen if fnmatch.fnmatchcase(layer.name, pattern)]
    else:
        chosen = [layer for layer in _walk_layers(model)
                  if fnmatch.fnmatchcase(layer.name, pattern)]
        if not chosen:
            raise ValueError(
                f"set_learning_rate_multiplier: no layer of model \"{model.name}\" matches "
                f"{pattern!r}. Layer names: {[layer.name for layer in _walk_layers(model)]}.")
    for layer in chosen:
        setattr(layer, ATTRIBUTE, value)
    return [layer.name for layer in chosen]


def learning_rate_multipliers(model) -> dict[str, float]:
    """``{layer name: multiplier}`` of the layers (nested included) whose own multiplier is
    not 1 (the model's own under its name)."""
    out = {}
    for layer in [model, *_walk_layers(model)]:
        m = layer_multiplier(layer)
        if m != 1.0:
            out[layer.name] = m
    return out


__all__ = ["check_multiplier", "layer_multiplier", "learning_rate_multipliers",
           "multipliers_key", "scale_updates", "set_learning_rate_multiplier",
           "weight_multipliers"]
