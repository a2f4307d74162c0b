"""How a layer call's arguments are bound, as in Keras 3: the first input given by keyword,
and *call-context arguments* that an outer call hands down to the layers it calls.

``training`` is the built-in call-context argument (thawnet carries it in its own context
variable, see ``layer.py``). A layer declares more with ``_register_call_context_args("x")``
(Keras 3's name): a value given to its call, or, when none is given, the value an enclosing
call received, is passed to its ``call`` if that accepts the argument, and handed on to the
layers called inside. A layer that did not declare the name does not read it.
"""

from __future__ import annotations

import contextvars
import inspect

import jax

from thawnet.layers.call_inspection import accepts_argument

# name -> value of the call-context arguments given by the enclosing calls (innermost wins).
_context: contextvars.ContextVar = contextvars.ContextVar("thawnet_call_context", default={})


class CallContextArgs:
    """Mixin of Layer: declaring call-context arguments."""

    def _register_call_context_args(self, *names: str) -> None:
        """Declare argument names this layer reads from, and hands down to, nested calls.

        Raises:
            RuntimeError: after the layer has been called (its calls are already traced).
        """
        if self.__dict__.get("_was_called"):
            raise RuntimeError(
                f'Layer "{self.name}": Cannot add call-context args after the layer has been '
                f"called; received {names}. Register them in __init__.")
        known = self.__dict__.get("_context_arg_names", ())
        object.__setattr__(self, "_context_arg_names", tuple(dict.fromkeys(known + names)))

    @property
    def _call_context_args(self) -> frozenset:
        return frozenset(self.__dict__.get("_context_arg_names", ())) | {"training"}


def split_inputs(layer, args: tuple, kwargs: dict) -> tuple:
    """``(inputs, other positional args, kwargs)`` of a call; ``layer(x1=a, x2=b)`` gives
    ``a`` as the inputs (the first parameter of ``call``), as in Keras."""
    if args:
        if not getattr(layer, "_allow_non_tensor_positional_args", False):
            _check_tensors(layer, args[1:])
        return args[0], args[1:], kwargs
    params = [p for p in inspect.signature(layer.call).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    first = params[0].name if params else "inputs"
    for name in (first, "inputs"):
        if name in kwargs:
            kwargs = dict(kwargs)
            return kwargs.pop(name), (), kwargs
    raise TypeError(f'Layer "{layer.name}" was called without inputs: pass them as the first '
                    f"positional argument or as {first}=...; received keyword arguments "
                    f"{sorted(kwargs)}.")


def _check_tensors(layer, args: tuple) -> None:
    for arg in jax.tree_util.tree_leaves(args):
        if not (hasattr(arg, "shape") and hasattr(arg, "dtype")):
            raise ValueError(
                f'Layer "{layer.name}": Only input tensors may be passed as positional '
                f"arguments after the first; received {arg!r} (of type {type(arg).__name__}). "
                "Pass it as a keyword argument (name=value) instead.")


def enter(layer, kwargs: dict):
    """Resolve the layer's declared call-context arguments into ``kwargs`` (in place) and
    make them visible to nested calls; returns the token for :func:`leave` (or None)."""
    object.__setattr__(layer, "_was_called", True)
    names = layer.__dict__.get("_context_arg_names", ())
    if not names:
        return None
    context = dict(_context.get())
    for name in names:
        value = kwargs.get(name)
        if value is None:
            value = context.get(name)
        if accepts_argument(layer.call, name):
            if value is not None:
                kwargs[name] = value
        else:
            kwargs.pop(name, None)  # handed down only: this layer's call does not take it
        if value is not None:
            context[name] = value
    return _context.set(context)


def leave(token) -> None:
    if token is not None:
        _context.reset(token)
