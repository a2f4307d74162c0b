"""The arguments of ``Layer.add_weight``, in either of its two accepted forms.

Keras 3's form is keyword-first: ``add_weight(shape=None, initializer=None, dtype=None,
trainable=True, autocast=True, regularizer=None, constraint=None, aggregation="none",
overwrite_with_gradient=False, name=None)``, whose positional order starts with ``shape``.
thawnet's earlier form starts with the name: ``add_weight(name, shape, initializer, dtype,
trainable, role, regularizer, constraint)``. A first positional string selects the earlier form.
"""

from __future__ import annotations

from typing import Any

KERAS_ORDER = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer",
               "constraint", "aggregation", "overwrite_with_gradient", "name")
NAME_FIRST_ORDER = ("name", "shape", "initializer", "dtype", "trainable", "role", "regularizer",
                    "constraint")
DEFAULTS = {"shape": (), "initializer": None, "dtype": None, "trainable": True,
            "autocast": True, "regularizer": None, "constraint": None, "aggregation": "none",
            "overwrite_with_gradient": False, "name": None, "role": None}


def weight_arguments(layer: Any, args: tuple, kwargs: dict) -> dict:
    """All ``add_weight`` arguments by name, defaults filled in; errors name the layer."""
    where = f'{type(layer).__name__} "{layer.name}".add_weight'
    order = NAME_FIRST_ORDER if args and isinstance(args[0], str) else KERAS_ORDER
    if len(args) > len(order):
        raise TypeError(f"{where}: takes at most {len(order)} positional arguments "
                        f"({', '.join(order)}); received {len(args)}.")
    unknown = sorted(set(kwargs) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"{where}: unexpected keyword argument(s) {unknown}; known: "
                        f"{sorted(DEFAULTS)}.")
    given = dict(zip(order, args))
    twice = sorted(set(given) & set(kwargs))
    if twice:
        raise TypeError(f"{where}: {twice} given both by position and by keyword.")
    out = dict(DEFAULTS, **given, **kwargs)
    shape = () if out["shape"] is None else out["shape"]
    try:
        out["shape"] = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: shape must be a tuple of non-negative ints; received "
                         f"shape={shape!r}.") from None
    if any(d < 0 for d in out["shape"]):
        raise ValueError(f"{where}: shape must be a tuple of non-negative ints; received "
                         f"shape={shape!r}.")
    if not isinstance(out["trainable"], bool) and out["trainable"] not in (0, 1):
        raise ValueError(f"{where}: trainable must be True or False; received "
                         f"trainable={out['trainable']!r}.")
    out["trainable"] = bool(out["trainable"])
    return out
