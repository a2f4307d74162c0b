"""Ops on symbolic tensors: each call becomes a weightless layer in the functional graph.

``thawnet.ops.concatenate([a, b])`` or ``a + b`` on tensors from ``Input`` cannot compute, so
the op's call is recorded: an :class:`OpLayer` holds the op and its non-tensor arguments, and
a :class:`~thawnet.layers.node.Node` connects it to the symbolic arguments. When the model
runs, the layer calls the same op on arrays. Each op gets its own class named after it
(``ops.add`` -> ``Add``, ``get_item`` -> ``GetItem``), so a summary reads as Keras's does:
``add_1 (Add)``, 0 params.

This module installs the handler that :mod:`thawnet.ops.dispatch` calls; ``thawnet``'s
``__init__`` imports it, so the handler is in place before any symbolic tensor can exist.
"""

from __future__ import annotations

from typing import Any, Callable

from thawnet import ops as ops_lib
from thawnet.backend.plain_json import plain
from thawnet.backend.registry import register
from thawnet.backend.shapes import TensorSpec
from thawnet.layers.layer import Layer
from thawnet.ops import dispatch


class _Slot:
    """Where the ``index``-th symbolic argument goes back when the op runs."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __repr__(self):
        return f"<tensor {self.index}>"


def _template(value, tensors: list):
    """``value`` with each symbolic tensor replaced by a :class:`_Slot` (one per distinct
    tensor, appended to ``tensors``)."""
    if isinstance(value, TensorSpec):
        for i, t in enumerate(tensors):
            if t is value:
                return _Slot(i)
        tensors.append(value)
        return _Slot(len(tensors) - 1)
    if isinstance(value, (list, tuple)):
        filled = [_template(v, tensors) for v in value]
        return filled if isinstance(value, list) else tuple(filled)
    if isinstance(value, dict):
        return {k: _template(v, tensors) for k, v in value.items()}
    return value


def _encode(value, where):
    """Plain JSON for an op's arguments: slots, slices, Ellipsis and tuples tagged."""
    if isinstance(value, _Slot):
        return {"tensor": value.index}
    if isinstance(value, slice):
        return {"slice": [_encode(v, where) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return {"dict": {str(k): _encode(v, where) for k, v in value.items()}}
    return plain(value, where)


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        if tag == "tensor" and type(inner) is int:
            return _Slot(inner)
        if tag == "slice" and isinstance(inner, list) and len(inner) == 3:
            return slice(*[_decode(v) for v in inner])
        if tag == "ellipsis":
            return Ellipsis
        if tag == "tuple" and isinstance(inner, list):
            return tuple(_decode(v) for v in inner)
        if tag == "dict" and isinstance(inner, dict):
            return {k: _decode(v) for k, v in inner.items()}
    if isinstance(value, dict):
        raise ValueError(f"OpLayer: cannot read the argument {value!r:.80}.")
    return value


def _fill(value, arrays):
    if isinstance(value, _Slot):
        return arrays[value.index]
    if isinstance(value, (list, tuple)):
        filled = [_fill(v, arrays) for v in value]
        return filled if isinstance(value, list) else tuple(filled)
    if isinstance(value, dict):
        return {k: _fill(v, arrays) for k, v in value.items()}
    return value


@register
class OpLayer(Layer):
    """The layer of one op call in a functional graph: no weights, the op's math in ``call``.

    Args:
        op: a ``thawnet.ops`` op (its ``raw`` function is what runs).
        args: positional arguments, symbolic tensors replaced by slots.
        kwargs: keyword arguments, likewise.
        name: layer name; by default the op's name numbered from 1 (``add_1``).
    """

    op_name = "op"

    def __init__(self, op: Callable, args: tuple, kwargs: dict, name: str | None = None):
        super().__init__(name=name)
        self.op = op
        self.arguments = (args, kwargs)
        self.built = True

    def call(self, inputs):
        args, kwargs = _fill(self.arguments, list(inputs))
        return getattr(self.op, "raw", self.op)(*args, **kwargs)

    # Configs name the op, never code: loading looks the name up in thawnet.ops only.
    config_class_name = "OpLayer"

    def get_config(self):
        where = f'Layer "{self.name}" (ops.{self.op_name})'
        return {"name": self.name, "op": self.op_name,
                "arguments": _encode(list(self.arguments), where)}

    @classmethod
    def from_config(cls, config):
        name = config.get("op")
        op = getattr(ops_lib, name, None) if isinstance(name, str) else None
        if op is None or not hasattr(op, "raw") or name.startswith("_"):
            raise ValueError(f"OpLayer: {name!r} is not a thawnet.ops op; a config can only "
                             "name ops of thawnet.ops.")
        args, kwargs = _decode(config.get("arguments", [[], {}]))
        return op_layer_class(name)(op, tuple(args), dict(kwargs), name=config.get("name"))

    def __repr__(self):
        return f"<{type(self).__name__} op=ops.{self.op_name} name={self.name}>"


_classes: dict[str, type] = {}


def op_layer_class(op_name: str) -> type:
    """The :class:`OpLayer` subclass for ``op_name``, named in CamelCase like Keras's op
    classes (``get_item`` -> ``GetItem``). Not registered: configs never name it."""
    cls = _classes.get(op_name)
    if cls is None:
        camel = "".join(part.capitalize() for part in op_name.split("_"))
        cls = type(camel, (OpLayer,), {"op_name": op_name, "__module__": __name__,
                                        "__doc__": f"The graph node of ``ops.{op_name}``."})
        _classes[op_name] = cls
    return cls


def record_op(op: Callable, args: tuple, kwargs: dict) -> Any:
    """Record ``op(*args, **kwargs)`` on symbolic tensors as a graph node; return its
    symbolic outputs (shapes and dtypes by abstract evaluation)."""
    tensors: list = []
    template_args, template_kwargs = _template((tuple(args), dict(kwargs)), tensors)
    layer = op_layer_class(op.__name__)(op, template_args, template_kwargs)
    return layer(tensors)


dispatch.set_symbolic_handler(record_op)

__all__ = ["OpLayer", "op_layer_class", "record_op"]
