"""The functional graph: symbolic tensors and the nodes that connect layers.

Calling a layer on a :class:`SymbolicTensor` does not compute anything: it records a
:class:`Node` (this layer, applied to these tensors, produced those) and returns new symbolic
tensors whose shapes come from abstract evaluation. ``Model(inputs, outputs)`` walks the nodes
back from ``outputs`` to find its layers and the order to run them in.
"""

from __future__ import annotations

import itertools

import jax

from thawnet.backend.shapes import TensorSpec

_node_ids = itertools.count()


class SymbolicTensor(TensorSpec):
    """A placeholder for a tensor in a functional graph: shape, dtype and where it came from.

    ``history`` is ``(layer, node_index, tensor_index)``: the node of ``layer`` that produced
    it and its position among that node's outputs.
    """

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


def is_symbolic(x) -> bool:
    return isinstance(x, SymbolicTensor)


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
        self.input_tensors = flatten(inputs)
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
            if t.history is not None:
                layer, node_index, _ = t.history
                out.append(layer._inbound_nodes[node_index])
        return out

    def describe_inputs(self):
        """Keras's "Connected to" entries: ``layer_name[node_index][tensor_index]``."""
        return [f"{t.history[0].name}[{t.history[1]}][{t.history[2]}]"
                for t in self.input_tensors if t.history is not None]
