"""What the Layer base class inspects about a call: the shapes of an input tree, whether a
``call`` accepts an argument, and whether the weight maps given to ``stateless_call`` cover
the layer's weights exactly once."""

from __future__ import annotations

import inspect

import jax


def shapes_of(structure):
    return jax.tree_util.tree_map(
        lambda x: tuple(x.shape), structure,
        is_leaf=lambda x: hasattr(x, "shape") and hasattr(x, "dtype"))


_accepts_cache: dict = {}


def accepts_argument(fn, arg):
    key = (getattr(fn, "__func__", fn), arg)
    if key not in _accepts_cache:
        params = inspect.signature(fn).parameters
        _accepts_cache[key] = arg in params or any(
            p.kind == p.VAR_KEYWORD for p in params.values())
    return _accepts_cache[key]


def check_weight_maps(layer, by_path, trainable, non_trainable):
    given = set(trainable) | set(non_trainable)
    both = set(trainable) & set(non_trainable)
    missing = [p for p in by_path if p not in given]
    unknown = sorted(given - set(by_path))
    if missing or unknown or both:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unknown:
            parts.append(f"unknown {unknown[:5]}{' ...' if len(unknown) > 5 else ''}")
        if both:
            parts.append(f"in both maps {sorted(both)[:5]}")
        raise ValueError(
            f'stateless_call of "{layer.name}": the weight maps must cover each path of '
            f"{type(layer).__name__}.variables_by_path() exactly once; {'; '.join(parts)}. "
            "Build them with model.trainable_split() / model.variables_by_path().")
