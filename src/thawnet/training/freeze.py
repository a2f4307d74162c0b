"""freeze / unfreeze: set ``trainable`` on layers chosen by name pattern or position.

    thawnet.freeze(model)                       # everything
    thawnet.freeze(model, "conv*")              # glob on layer names (nested models included)
    thawnet.freeze(model, up_to="mixed7")       # every top-level layer up to and including mixed7
    thawnet.unfreeze(model, "block5_*")         # then thaw the top block to fine-tune it

Changes apply at the next training step; no recompile is needed.
"""

from __future__ import annotations

import fnmatch


def _walk_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers") and layer is not model:
            yield from _walk_layers(layer)


def _select(model, pattern, up_to):
    if up_to is not None:
        layers = model.layers
        names = [layer.name for layer in layers]
        if up_to not in names:
            raise ValueError(f'Model "{model.name}" has no layer named "{up_to}" (up_to=). '
                             f"Layers: {names}.")
        chosen = layers[: names.index(up_to) + 1]
        if pattern not in (None, "*"):
            chosen = [layer for layer in chosen if fnmatch.fnmatchcase(layer.name, pattern)]
        return chosen
    pattern = "*" if pattern is None else pattern
    chosen = [layer for layer in _walk_layers(model) if fnmatch.fnmatchcase(layer.name, pattern)]
    if not chosen:
        raise ValueError(f'No layer of model "{model.name}" matches {pattern!r}. Layer names: '
                         f"{[layer.name for layer in _walk_layers(model)]}.")
    return chosen


def _set(model, pattern, up_to, value):
    if pattern in (None, "*") and up_to is None:
        model.trainable = value
        return [model.name]
    chosen = _select(model, pattern, up_to)
    if value:
        model._trainable = True  # an unfrozen layer inside a frozen model would stay frozen
    for layer in chosen:
        layer.trainable = value
    return [layer.name for layer in chosen]


def freeze(model, pattern=None, *, up_to=None):
    """Set ``trainable=False`` on the matching layers; returns their names."""
    return _set(model, pattern, up_to, False)


def unfreeze(model, pattern=None, *, up_to=None):
    """Set ``trainable=True`` on the matching layers; returns their names."""
    return _set(model, pattern, up_to, True)
