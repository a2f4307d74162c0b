"""freeze / unfreeze: set ``trainable`` on layers chosen by name pattern or position.

    thawnet.freeze(model)                       # everything
    thawnet.freeze(model, "conv*")              # glob on layer names (nested models included)
    thawnet.freeze(model, up_to="mixed7")       # every top-level layer up to and including mixed7
    thawnet.unfreeze(model, "block5_*")         # then thaw the top block to fine-tune it

``unfreeze`` follows the one trainability rule (a layer trains only when its own flag and
every owner's flag are set): it thaws the chain of models above each matched layer too, and
leaves the siblings in those models frozen.

Changes apply at the next training step; no recompile is needed.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Sequence


def _walk_layers(model, owners=()):
    """``(layer, owners)`` for every layer below ``model``; ``owners`` runs from ``model``
    down to, not including, ``layer`` (the chain the one trainability rule reads)."""
    for layer in model.layers:
        yield layer, owners + (model,)
        if hasattr(layer, "layers") and layer is not model:
            yield from _walk_layers(layer, owners + (model,))


def _select(model, pattern, up_to):
    """The matched layers, each with its first owner chain (shared layers appear once)."""
    if up_to is not None:
        layers = model.layers
        names = [layer.name for layer in layers]
        if up_to not in names:
            raise ValueError(f'Model "{model.name}" has no layer named "{up_to}" (up_to=). '
                             f"Layers: {names}.")
        chosen = layers[: names.index(up_to) + 1]
        if pattern not in (None, "*"):
            chosen = [layer for layer in chosen if fnmatch.fnmatchcase(layer.name, pattern)]
        return [(layer, (model,)) for layer in chosen]
    pattern = "*" if pattern is None else pattern
    chosen, seen = [], set()
    for layer, owners in _walk_layers(model):
        if id(layer) not in seen and fnmatch.fnmatchcase(layer.name, pattern):
            seen.add(id(layer))
            chosen.append((layer, owners))
    if not chosen:
        raise ValueError(f'No layer of model "{model.name}" matches {pattern!r}. Layer names: '
                         f"{[layer.name for layer, _ in _walk_layers(model)]}.")
    return chosen


def _thaw_chain(owners):
    """Set the own flag of every owner without touching their other sublayers: the public
    setter would thaw the siblings too, so it is applied to the owner alone and each
    sublayer gets back the flag it had."""
    for owner in owners:
        if owner.trainable:
            continue
        below = [(layer, layer.trainable) for layer, _ in _walk_layers(owner)] \
            if hasattr(owner, "layers") else []
        owner.trainable = True
        for layer, flag in below:
            layer.trainable = flag


def _set(model, pattern, up_to, value):
    if pattern in (None, "*") and up_to is None:
        model.trainable = value
        return [model.name]
    chosen = _select(model, pattern, up_to)
    for layer, owners in chosen:
        if value:
            # One rule: a layer trains only if every owner does, so thaw the whole chain
            # (the root, nested models) and leave each owner's other sublayers as they were.
            _thaw_chain(owners)
        layer.trainable = value
    return [layer.name for layer, _ in chosen]
def freeze(model: Any, pattern: str | Sequence[str] | None = None, *,
           up_to: str | int | None = None) -> list[str]:
    """Set ``trainable=False`` on the matching layers; returns their names."""
    return _set(model, pattern, up_to, False)


def unfreeze(model: Any, pattern: str | Sequence[str] | None = None, *,
             up_to: str | int | None = None) -> list[str]:
    """Set ``trainable=True`` on the matching layers and on every model or layer that owns
    them (so that they are effectively trainable); the owners' other sublayers keep their
    flags. Returns the names of the matched layers."""
    return _set(model, pattern, up_to, True)
