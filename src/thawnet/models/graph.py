"""Functional graphs: which layers a model holds, and the order to run them in.

The order follows Keras's: nodes get a depth (0 at the outputs, growing toward the inputs);
layers are listed from the deepest (the inputs) to the outputs, ties broken by the order in
which a walk back from the outputs first met them. Using Keras's order matters: it is the order
of ``model.weights`` and therefore of ``get_weights``/``set_weights`` and weight files.
"""

from __future__ import annotations

from thawnet.layers.input_layer import InputLayer
from thawnet.backend.masking import get_keras_mask
from thawnet.layers.node import SymbolicTensor, flatten, producer


class Graph:
    """The nodes between ``inputs`` and ``outputs`` of a functional model."""

    def __init__(self, inputs, outputs, model_name):
        self.inputs = inputs
        self.outputs = outputs
        self.input_tensors = flatten(inputs)
        self.output_tensors = flatten(outputs)
        for t in self.input_tensors + self.output_tensors:
            if not isinstance(t, SymbolicTensor):
                raise ValueError(
                    f'Model "{model_name}": inputs and outputs must be symbolic tensors made with '
                    f"Input(...) and layer calls; received {t!r}.")
        for t in self.input_tensors:
            layer = t.history[0]
            if not isinstance(layer, InputLayer):
                raise ValueError(
                    f'Model "{model_name}": every input must come from Input(...); received the '
                    f'output of layer "{layer.name}". Use the Input tensor that starts the graph.')
        self.nodes, self.layers = self._map(model_name)

    def _map(self, model_name):
        input_ids = {id(t) for t in self.input_tensors}
        finished, in_progress = set(), set()
        layer_order = {}
        nodes_post_order = []

        def visit(tensor):
            if tensor.history is None and producer(tensor) is not None:
                tensor = producer(tensor)  # a symbolic mask: the run reads it off its tensor
            layer, node_index, _ = tensor.history
            node = layer._inbound_nodes[node_index]
            if node.id in finished:
                return
            if node.id in in_progress:
                raise ValueError(f'Model "{model_name}": the graph has a cycle at layer '
                                 f'"{layer.name}".')
            layer_order.setdefault(id(layer), (len(layer_order), layer))
            in_progress.add(node.id)
            if id(tensor) not in input_ids:
                if not node.input_tensors and isinstance(layer, InputLayer):
                    raise ValueError(
                        f'Model "{model_name}": output depends on Input "{layer.name}", which is '
                        "not among the model's inputs. Add it to inputs=[...].")
                for t in node.input_tensors:
                    visit(t)
            in_progress.discard(node.id)
            finished.add(node.id)
            nodes_post_order.append(node)

        for t in self.output_tensors:
            visit(t)
        for t in self.input_tensors:  # an input no output depends on still belongs to the model
            visit(t)

        node_depth, layer_depth = {}, {}
        by_id = {n.id: n for n in nodes_post_order}
        for node in reversed(nodes_post_order):
            depth = max(node_depth.setdefault(node.id, 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = depth
            node_depth[node.id] = depth
            if not _is_model_input(node, input_ids):
                for parent in node.parent_nodes:
                    if parent.id in by_id:
                        node_depth[parent.id] = max(depth + 1, node_depth.get(parent.id, 0))
        # A shared layer's depth may have risen after its parents were set: settle once more.
        nodes = sorted(nodes_post_order, key=lambda n: (-node_depth[n.id], n.id))
        layers = sorted((entry for entry in layer_order.values()),
                        key=lambda e: (-layer_depth[id(e[1])], e[0]))
        return nodes, [layer for _, layer in layers]

    def run(self, inputs, training):
        """Evaluate the graph on concrete (or traced) ``inputs`` with the same structure."""
        values = {}
        for t, x in zip(self.input_tensors, inputs):
            values[id(t)] = x
        for node in self.nodes:
            if not node.input_tensors:
                continue  # an InputLayer: its value was given
            if all(id(t) in values for t in node.output_tensors):
                continue
            args = _replace(node.inputs, values)
            extra = _replace(node.call_kwargs.get("_args", ()), values)
            kwargs = {k: _replace(v, values) for k, v in node.call_kwargs.items() if k != "_args"}
            node_training = kwargs.pop("training", training)  # fixed in the graph, or the call's
            outs = node.layer(args, *extra, training=node_training, **kwargs)
            for t, v in zip(node.output_tensors, flatten(outs)):
                values[id(t)] = v
        return _replace(self.outputs, values)


def _is_model_input(node, input_ids):
    return any(id(t) in input_ids for t in node.output_tensors)


def _replace(structure, values):
    if isinstance(structure, SymbolicTensor):
        if id(structure) not in values and producer(structure) is not structure \
                and producer(structure) is not None:
            return get_keras_mask(values[id(producer(structure))])  # a symbolic mask
        return values[id(structure)]
    if isinstance(structure, (list, tuple)):
        return type(structure)(_replace(s, values) for s in structure)
    if isinstance(structure, dict):
        return {k: _replace(v, values) for k, v in structure.items()}
    return structure
