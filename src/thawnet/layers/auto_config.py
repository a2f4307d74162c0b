"""Constructor arguments recorded at creation, for custom layers without a ``get_config``.

Keras 3 remembers the arguments a layer was created with when they are all plain values
(str, int, float, bool, None, and lists/tuples/dicts of them), and a layer class that does not
define ``get_config`` returns them, so ``from_config(get_config())`` rebuilds it. thawnet's
:class:`~thawnet.layers.layer.Layer` does the same (``Layer.__new__`` calls :func:`record`;
``Layer.get_config`` adds the record when the class has no ``get_config`` of its own). A
layer created with other values (a layer, an array, a function) records nothing and keeps
the base config, as before.
"""

from __future__ import annotations

import inspect
from typing import Any

_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return isinstance(value, _PLAIN)


def record(cls: type, args: tuple, kwargs: dict) -> dict | None:
    """The constructor arguments of ``cls(*args, **kwargs)`` by name, defaults included,
    without ``name``; None when they cannot rebuild the layer by keyword (positional-only or
    extra positional arguments, arguments that do not bind, values that are not plain)."""
    try:
        signature = inspect.signature(cls.__init__)
        bound = signature.bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    params = list(signature.parameters.values())[1:]  # without self
    if any(p.kind == inspect.Parameter.POSITIONAL_ONLY for p in params):
        return None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(signature.parameters)), None)  # self
    for p in params:
        if p.kind == inspect.Parameter.VAR_KEYWORD:
            arguments.update(arguments.pop(p.name, {}))
        elif p.kind == inspect.Parameter.VAR_POSITIONAL and arguments.pop(p.name, ()):
            return None
    arguments.pop("name", None)
    return arguments if _plain(arguments) else None


__all__ = ["record"]
