"""How an op meets the functional API: the one check every op makes on its arguments.

``thawnet.ops`` sits below ``thawnet.layers`` (layers compute with ops), so an op cannot import
the graph machinery. Instead the layers package installs a handler here when it is imported
(:mod:`thawnet.layers.op_layer`); symbolic tensors only exist once it has been, so whenever an
op receives one the handler is in place. The handler records a graph node that calls the same
op on arrays when the model runs.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from thawnet.backend.shapes import TensorSpec
from thawnet.backend.types import Array, Axis, TensorLike
from thawnet.variables import Variable

# (handler(op, args, kwargs) -> symbolic outputs), installed by thawnet.layers.op_layer.
_handler: list = [None]


def set_symbolic_handler(handler: Callable | None) -> None:
    """Install the function that turns an op call on symbolic tensors into a graph node."""
    _handler[0] = handler


def _is_placeholder(x) -> bool:
    # Symbolic tensors subclass TensorSpec; a plain TensorSpec is never an op argument.
    return isinstance(x, TensorSpec)


def _read(value):
    if isinstance(value, Variable):
        return value.value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Variable) for v in value):
        return type(value)(v.value if isinstance(v, Variable) else v for v in value)
    return value


def has_symbolic(args, kwargs) -> bool:
    """Whether any argument (or an element of a list/tuple/dict argument) is symbolic."""
    for value in (*args, *kwargs.values()):
        if _is_placeholder(value):
            return True
        if isinstance(value, (list, tuple)):
            if any(_is_placeholder(v) or (isinstance(v, (list, tuple)) and has_symbolic(v, {}))
                   for v in value):
                return True
        elif isinstance(value, dict) and has_symbolic(tuple(value.values()), {}):
            return True
    return False


def op(fn: Callable) -> Callable:
    """Make ``fn`` an op: on arrays it computes; on symbolic tensors it records a graph node.

    The wrapped function keeps ``fn``'s name, signature and docstring; ``wrapper.raw`` is
    ``fn`` itself (what the graph node runs).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any):
        if _handler[0] is not None and has_symbolic(args, kwargs):
            return _handler[0](wrapper, args, kwargs)
        # Variables are read as their values (JAX's jitted functions take arrays only).
        args = tuple(_read(a) for a in args)
        kwargs = {k: _read(v) for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    wrapper.raw = fn
    return wrapper


def elementwise(jax_fn: Callable, name: str, arity: int = 1, doc: str | None = None):
    """An op applying ``jax_fn`` elementwise, with Keras's argument names (``x`` or
    ``x1, x2``)."""
    if arity == 1:
        def fn(x: TensorLike) -> Array:
            return jax_fn(x)
    else:
        def fn(x1: TensorLike, x2: TensorLike) -> Array:
            return jax_fn(x1, x2)
    fn.__name__ = fn.__qualname__ = name
    args = "x: a tensor." if arity == 1 else "x1: a tensor.\n        x2: a tensor."
    fn.__doc__ = (f"{doc or 'Elementwise ' + name.replace('_', ' ')}, as ``jax.numpy`` computes "
                  f"it.\n\n    Args:\n        {args}\n\n    Returns:\n        A tensor.\n    ")
    return op(fn)


def reduction(jax_fn: Callable, name: str, doc: str | None = None):
    """An op ``name(x, axis=None, keepdims=False)`` reducing with ``jax_fn``."""

    def fn(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Array:
        return jax_fn(x, axis=_axis(axis), keepdims=keepdims)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{doc or name.replace('_', ' ').capitalize()} over ``axis``.\n\n    Args:\n"
                  "        x: a tensor.\n        axis: int, tuple of ints or None (all axes).\n"
                  "        keepdims: keep reduced axes with size 1.\n\n    Returns:\n"
                  "        A tensor.\n    ")
    return op(fn)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis
