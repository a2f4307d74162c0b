"""The functional graph: symbolic tensors and the nodes that connect layers.

Calling a layer on a :class:`SymbolicTensor` does not compute anything: it records a
:class:`Node` (this layer, applied to these tensors, produced those) and returns new symbolic
tensors whose shapes come from abstract evaluation. ``Model(inputs, outputs)`` walks the nodes
back from ``outputs`` to find its layers and the order to run them in.

Python operators on symbolic tensors (``x + y``, ``x[:, 0]``, ``x @ w``, ``x > 0``) are the
matching ``thawnet.ops`` calls, which record nodes of op layers (:mod:`thawnet.layers.op_layer`).
"""

from __future__ import annotations

import itertools

import jax

from thawnet import ops
from thawnet.backend.shapes import TensorSpec

_node_ids = itertools.count()


class SymbolicTensor(TensorSpec):
    """A placeholder for a tensor in a functional graph: shape, dtype and where it came from.

    ``history`` is ``(layer, node_index, tensor_index)``: the node of ``layer`` that produced
    it and its position among that node's outputs.
    """

    sparse = False  # Keras's tensor flags: thawnet tensors are always dense
    ragged = False

    def __init__(self, shape, dtype="float32", history=None, name=None):
        super().__init__(shape, dtype)
        self.history = history
        self.name = name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        src = f", from={self.history[0].name}" if self.history else ""
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype.name}{src}>"

    # -- no value: refuse conversions with the fix ---------------------------------------------
    __array_ufunc__ = None  # NumPy defers to our reflected operators (np_array + x)

    def _no_value(self, what):
        raise ValueError(
            f"{self!r} is symbolic: a placeholder for a shape and dtype in a functional model, "
            f"with no value, so it cannot be converted to {what}. Use thawnet.ops or layers on "
            "it, or wrap other code in a layer: class MyLayer(Layer): def call(self, x): "
            "return jax_fn(x).")

    def __array__(self, dtype=None, copy=None):
        self._no_value("a NumPy array")

    def __jax_array__(self):
        self._no_value("a JAX array (a jax.numpy function was called on it)")

    def __bool__(self):
        self._no_value("a bool (it was used in an if or while condition; use ops.cond)")

    def __int__(self):
        self._no_value("an int")

    def __float__(self):
        self._no_value("a float")

    def __iter__(self):
        self._no_value("an iterator (use ops.unstack or indexing)")

    # -- methods and operators: graph nodes through thawnet.ops --------------------------------
    def reshape(self, newshape):
        return ops.reshape(self, newshape)

    def squeeze(self, axis=None):
        return ops.squeeze(self, axis)

    @property
    def T(self):  # noqa: N802 (NumPy's name)
        return ops.transpose(self)

    def __getitem__(self, key):
        return ops.get_item(self, key)

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.subtract(self, other)

    def __rsub__(self, other):
        return ops.subtract(other, self)

    def __mul__(self, other):
        return ops.multiply(self, other)

    def __rmul__(self, other):
        return ops.multiply(other, self)

    def __truediv__(self, other):
        return ops.true_divide(self, other)

    def __rtruediv__(self, other):
        return ops.true_divide(other, self)

    def __floordiv__(self, other):
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return ops.floor_divide(other, self)

    def __mod__(self, other):
        return ops.mod(self, other)

    def __rmod__(self, other):
        return ops.mod(other, self)

    def __pow__(self, other):
        return ops.power(self, other)

    def __rpow__(self, other):
        return ops.power(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.absolute(self)

    def __round__(self, ndigits=None):
        return ops.round(self, ndigits or 0)

    # No __eq__: tensors stay hashable and comparable by identity (lists, dicts, `in`), as
    # Keras's; use ops.equal for the elementwise comparison.
    def __ne__(self, other):
        return ops.not_equal(self, other)

    def __lt__(self, other):
        return ops.less(self, other)

    def __le__(self, other):
        return ops.less_equal(self, other)

    def __gt__(self, other):
        return ops.greater(self, other)

    def __ge__(self, other):
        return ops.greater_equal(self, other)

    def __and__(self, other):
        return ops.logical_and(self, other)

    def __rand__(self, other):
        return ops.logical_and(other, self)

    def __or__(self, other):
        return ops.logical_or(self, other)

    def __ror__(self, other):
        return ops.logical_or(other, self)

    def __xor__(self, other):
        return ops.logical_xor(self, other)

    def __rxor__(self, other):
        return ops.logical_xor(other, self)

    def __invert__(self):
        return ops.logical_not(self)


def is_symbolic(x) -> bool:
    return isinstance(x, SymbolicTensor)


def producer(tensor):
    """The tensor whose node makes ``tensor``: itself, or for a symbolic *mask* (no node of
    its own, see masking_support) the layer output it is the mask of; None for neither."""
    if tensor.history is not None:
        return tensor
    return getattr(tensor, "_mask_source", None)


def flatten(structure):
    """Leaves of a nested list/tuple/dict of tensors, in a stable order."""
    return jax.tree_util.tree_leaves(structure, is_leaf=lambda x: isinstance(x, TensorSpec))


def tree_map(fn, structure):
    return jax.tree_util.tree_map(fn, structure, is_leaf=lambda x: isinstance(x, TensorSpec))


class Node:
    """One application of ``layer`` to symbolic ``inputs``, producing symbolic ``outputs``."""

    def __init__(self, layer, inputs, outputs, call_kwargs):
        self.id = next(_node_ids)
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.call_kwargs = call_kwargs
        # Every symbolic tensor the call used: the main input, then any given as further
        # positional or keyword arguments (``layer(x, y)``, ``attention(q, value=v)``).
        self.input_tensors = [t for t in flatten([inputs, call_kwargs])
                              if isinstance(t, SymbolicTensor)]
        self.output_tensors = flatten(outputs)
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t.history = (layer, self.index, i)

    @property
    def parent_nodes(self):
        """The nodes that produced this node's inputs."""
        out = []
        for t in self.input_tensors:
            source = producer(t)
            if source is not None:
                layer, node_index, _ = source.history
                out.append(layer._inbound_nodes[node_index])
        return out

    def describe_inputs(self):
        """Keras's "Connected to" entries: ``layer_name[node_index][tensor_index]``."""
        return [f"{t.history[0].name}[{t.history[1]}][{t.history[2]}]"
                for t in self.input_tensors if t.history is not None]
