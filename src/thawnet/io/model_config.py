"""A model's architecture as plain JSON, and back.

Sequential and functional models are described by their layers (class name, ``get_config()``,
``trainable``) and, for functional models, the graph: each layer's inbound nodes, whose input
tensors are references ``[layer_name, node_index, tensor_index]``; nested models are described
recursively. Loading resolves class names only through thawnet's layer registry and the
caller's ``custom_objects``: nothing named in a file is imported or evaluated.

Structures of tensors (a node's inputs, the model's inputs and outputs) are encoded as: a
reference ``[name, node_index, tensor_index]``, ``{"list": [...]}``, ``{"dict": {...}}`` or, for
plain call arguments, ``{"value": v}``.
"""

from __future__ import annotations

import numpy as np

from thawnet.io.errors import FileFormatError

MAX_NESTING = 64


# -- architecture -> JSON ----------------------------------------------------------------------
def architecture(model):
    """The architecture of a Sequential or functional ``model`` as JSON-ready dicts.

    Raises:
        ValueError: for a subclassed model (its structure lives in Python code) or a layer
            whose config holds something JSON cannot represent.
    """
    from thawnet.models import Model, Sequential

    if type(model) is Sequential:
        return {"class_name": "Sequential", "name": model.name, "trainable": model._trainable,
                "input": _input_config(model), "layers": [_layer_entry(l) for l in model.layers]}
    if type(model) is Model and model.is_functional:
        return _functional(model)
    raise ValueError(
        f'Cannot save the architecture of model "{model.name}" ({type(model).__name__}): only '
        "Sequential and functional models (Model(inputs, outputs)) can be described as data; a "
        "subclassed model's structure lives in its Python code. Save its weights with "
        "model.save_weights('weights.safetensors') and rebuild the model in code.")


def _input_config(seq):
    if seq._input is None:
        return None
    return plain(seq._input.history[0].get_config(), f'input of "{seq.name}"')


def _layer_entry(layer):
    from thawnet.models import Model

    entry = {"class_name": type(layer).__name__, "name": layer.name,
             "trainable": layer._trainable}
    if isinstance(layer, Model):
        entry["config"] = architecture(layer)
    else:
        entry["config"] = plain(layer.get_config(), f'layer "{layer.name}"')
    return entry


def _functional(model):
    graph = model._graph
    index = {}  # (id(layer), original node index) -> index among this model's nodes
    per_layer = {}
    for node in sorted(graph.nodes, key=lambda n: n.index):
        per_layer.setdefault(id(node.layer), []).append(node)
    for nodes in per_layer.values():
        for i, node in enumerate(nodes):
            index[(id(node.layer), node.index)] = i

    def ref(tensor):
        layer, node_index, tensor_index = tensor.history
        return [layer.name, index[(id(layer), node_index)], tensor_index]

    layers = []
    for layer in graph.layers:
        entry = _layer_entry(layer)
        nodes = [n for n in per_layer.get(id(layer), []) if n.input_tensors]
        entry["inbound_nodes"] = [_node_record(n, ref, layer.name) for n in nodes]
        layers.append(entry)
    return {"class_name": "Model", "name": model.name, "trainable": model._trainable,
            "layers": layers, "inputs": encode_structure(graph.inputs, ref, model.name),
            "outputs": encode_structure(graph.outputs, ref, model.name)}


def _node_record(node, ref, name):
    record = {"args": encode_structure(node.inputs, ref, name)}
    extra = node.call_kwargs.get("_args", ())
    kwargs = {k: v for k, v in node.call_kwargs.items() if k != "_args"}
    if extra:
        record["extra_args"] = [encode_structure(a, ref, name) for a in extra]
    if kwargs:
        record["kwargs"] = {k: encode_structure(v, ref, name) for k, v in kwargs.items()}
    return record


def encode_structure(value, ref, where):
    """Encode tensors as references and containers as tagged objects (see module doc)."""
    from thawnet.layers.node import SymbolicTensor

    if isinstance(value, SymbolicTensor):
        return ref(value)
    if isinstance(value, (list, tuple)):
        return {"list": [encode_structure(v, ref, where) for v in value]}
    if isinstance(value, dict):
        return {"dict": {str(k): encode_structure(v, ref, where) for k, v in value.items()}}
    return {"value": plain(value, where)}


def plain(value, where):
    """``value`` as JSON types (tuples -> lists, NumPy values -> Python); raises ValueError
    naming ``where`` for anything else."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (list, tuple)):
        return [plain(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v, where) for k, v in value.items()}
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return np.asarray(value).tolist()
    raise ValueError(
        f"{where}: its config holds {value!r} (type {type(value).__name__}), which cannot be "
        "written as JSON. Use named activations/initializers/regularizers, or give the layer a "
        "get_config() that returns plain values.")


# -- JSON -> model -----------------------------------------------------------------------------
def build_model(arch, custom_objects=None, source="config.json"):
    """Rebuild a model from :func:`architecture`'s output.

    Args:
        arch: the architecture dict.
        custom_objects: ``{class_name: class}`` for layer classes outside thawnet.
        source: how to name the file in errors.

    Returns:
        The model, built (weights created, not loaded), with every layer's trainable flag as
        saved.
    """
    builder = _Builder(custom_objects or {}, source)
    model = builder.model(arch, 0)
    for obj, flag in builder.flags:
        obj._trainable = flag  # exact flags, without the setter's propagation to sublayers
    return model


class _Builder:
    def __init__(self, custom_objects, source):
        if not isinstance(custom_objects, dict):
            raise TypeError("custom_objects must be a dict {class_name: class}; received "
                            f"{type(custom_objects).__name__}.")
        self.custom_objects = custom_objects
        self.source = source
        self.flags = []

    def fail(self, message):
        raise FileFormatError(f"{self.source}: {message}")

    def model(self, arch, depth):
        from thawnet.models import Model, Sequential

        if depth > MAX_NESTING:
            self.fail(f"models nested more than {MAX_NESTING} deep; the file is corrupted.")
        if not isinstance(arch, dict):
            self.fail(f"a model description must be an object; found {type(arch).__name__}.")
        kind, name = arch.get("class_name"), arch.get("name")
        if not isinstance(name, str) or not isinstance(arch.get("layers"), list):
            self.fail(f'model {name!r}: needs a string "name" and a "layers" list.')
        if kind == "Sequential":
            model = self._guard(name, Sequential, lambda: Sequential(name=name))
            if arch.get("input") is not None:
                self._guard(name, Sequential, lambda: model.add(self._construct(
                    "InputLayer", arch["input"], name)))
            for entry in arch["layers"]:
                layer = self.layer(entry, depth)
                self._guard(entry.get("name"), type(layer), lambda: model.add(layer))
        elif kind == "Model":
            tensors = {}
            layers = [self.layer(entry, depth) for entry in arch["layers"]]
            self._run_nodes(arch["layers"], layers, tensors)
            inputs = self.decode(arch.get("inputs"), tensors, name)
            outputs = self.decode(arch.get("outputs"), tensors, name)
            model = self._guard(name, Model, lambda: Model(inputs, outputs, name=name))
        else:
            self.fail(f"model {name!r} has class {kind!r}; expected Sequential or Model.")
        self.flags.append((model, self._flag(arch, name)))
        return model

    def _flag(self, entry, name):
        flag = entry.get("trainable", True)
        if not isinstance(flag, bool):
            self.fail(f'layer "{name}": "trainable" must be true or false; found {flag!r}.')
        return flag

    def layer(self, entry, depth):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            self.fail(f"a layer entry must be an object with a string name; found {entry!r:.80}.")
        kind, name = entry.get("class_name"), entry["name"]
        if kind in ("Sequential", "Model"):
            layer = self.model(entry.get("config"), depth + 1)
        else:
            layer = self._construct(kind, entry.get("config"), name)
            self.flags.append((layer, self._flag(entry, name)))
        if layer.name != name:
            self.fail(f'layer "{name}": its config names it "{layer.name}".')
        return layer

    def resolve(self, kind, name):
        from thawnet.layers.layer import Layer, registered

        cls = self.custom_objects.get(kind) if isinstance(kind, str) else None
        if cls is None and isinstance(kind, str):
            cls = registered(kind)
        if cls is None:
            self.fail(f'layer "{name}" has class {kind!r}, which is neither a thawnet layer nor '
                      "in custom_objects. If it is your own layer class, pass "
                      f"custom_objects={{{kind!r}: {kind}}} to load_model.")
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(f"custom_objects[{kind!r}] must be a Layer subclass; received "
                            f"{cls!r}.")
        return cls

    def _construct(self, kind, config, name):
        cls = self.resolve(kind, name)
        if not isinstance(config, dict):
            self.fail(f'layer "{name}": its config must be an object; found {config!r:.80}.')
        return self._guard(name, cls, lambda: cls.from_config(dict(config)))

    def _guard(self, name, cls, fn):
        try:
            return fn()
        except FileFormatError:
            raise
        except Exception as e:  # a layer refusing its config: the file does not fit thawnet
            self.fail(f'layer "{name}" ({getattr(cls, "__name__", cls)}) could not be rebuilt '
                      f"from the file: {type(e).__name__}: {e}")

    def _run_nodes(self, entries, layers, tensors):
        """Call each layer on its inbound nodes' inputs, in an order where inputs exist."""
        from thawnet.layers.input_layer import InputLayer

        pending = []
        for entry, layer in zip(entries, layers):
            if isinstance(layer, InputLayer):
                tensors[(layer.name, 0)] = [layer.output]
            nodes = entry.get("inbound_nodes", [])
            if not isinstance(nodes, list):
                self.fail(f'layer "{layer.name}": "inbound_nodes" must be a list.')
            if any(other.name == layer.name for other, _, _ in pending):
                self.fail(f'two layers are named "{layer.name}"; names must be unique.')
            pending.append((layer, list(nodes), [0 if isinstance(layer, InputLayer) else -1]))
        while any(nodes for _, nodes, _ in pending):
            progress = False
            for layer, nodes, last in pending:
                while nodes and self._ready(nodes[0], tensors):
                    self._call(layer, nodes.pop(0), tensors, last)
                    progress = True
            if not progress:
                waiting = [l.name for l, nodes, _ in pending if nodes]
                self.fail(f"the graph cannot be rebuilt: layers {waiting[:5]} wait for tensors "
                          "that no layer produces.")

    def _ready(self, record, tensors):
        refs = []
        if not isinstance(record, dict):
            self.fail(f"an inbound node must be an object; found {record!r:.80}.")
        _collect_refs([record.get("args"), record.get("extra_args"), record.get("kwargs")], refs)
        return all((r[0], r[1]) in tensors for r in refs)

    def _call(self, layer, record, tensors, last):
        from thawnet.layers.node import flatten

        args = self.decode(record.get("args"), tensors, layer.name)
        extra, kwargs = record.get("extra_args", []), record.get("kwargs", {})
        if not isinstance(extra, list) or not isinstance(kwargs, dict):
            self.fail(f'layer "{layer.name}": a node\'s extra_args must be a list and its '
                      "kwargs an object.")
        extra = [self.decode(a, tensors, layer.name) for a in extra]
        kwargs = {k: self.decode(v, tensors, layer.name) for k, v in kwargs.items()}
        out = self._guard(layer.name, type(layer), lambda: layer(args, *extra, **kwargs))
        last[0] += 1
        tensors[(layer.name, last[0])] = flatten(out)

    def decode(self, value, tensors, where):
        if _is_ref(value):
            got = tensors.get((value[0], value[1]))
            if got is None or not 0 <= value[2] < len(got):
                self.fail(f'"{where}" refers to tensor {value}, which no layer produces.')
            return got[value[2]]
        if isinstance(value, dict) and len(value) == 1:
            (tag, inner), = value.items()
            if tag == "list" and isinstance(inner, list):
                return [self.decode(v, tensors, where) for v in inner]
            if tag == "dict" and isinstance(inner, dict):
                return {k: self.decode(v, tensors, where) for k, v in inner.items()}
            if tag == "value":
                return inner
        self.fail(f'"{where}": cannot read the tensor structure {value!r:.80}.')


def _is_ref(value):
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and type(value[1]) is int and type(value[2]) is int)


def _collect_refs(value, out):
    if _is_ref(value):
        out.append(value)
    elif isinstance(value, list):
        for v in value:
            _collect_refs(v, out)
    elif isinstance(value, dict) and "value" not in value:
        for v in value.values():
            _collect_refs(v, out)


__all__ = ["architecture", "build_model", "encode_structure", "plain", "MAX_NESTING"]
