"""A model's architecture as plain JSON, and back: what ``Model.get_config()`` returns and
``Model.from_config()`` reads.

Sequential and functional models are described by their layers (class name, ``get_config()``,
``trainable``) and, for functional models, the graph: each layer's inbound nodes, whose input
tensors are references ``[layer_name, node_index, tensor_index]``; nested models are described
recursively. Loading resolves class names only through the class registry (:mod:`thawnet.backend.registry`)
and the caller's ``custom_objects``: nothing named in a config is imported or evaluated.
Problems raise :class:`~thawnet.backend.registry.ConfigError`; file readers add the file's name.

Structures of tensors (a node's inputs, the model's inputs and outputs) are encoded as: a
reference ``[name, node_index, tensor_index]``, ``{"list": [...]}``, ``{"dict": {...}}`` or, for
plain call arguments, ``{"value": v}``.
"""

from __future__ import annotations

from thawnet.backend.plain_json import plain
from thawnet.layers.call_inspection import accepts_argument
from thawnet.layers.input_layer import InputLayer
from thawnet.layers.layer import Layer
from thawnet.layers.node import SymbolicTensor, flatten
from thawnet.backend.registry import ConfigError, registered, registered_name, resolve

MAX_NESTING = 64


# -- architecture -> JSON ----------------------------------------------------------------------
def sequential_config(model) -> dict:
    """``get_config()`` of a Sequential model: its input and its layers in order."""
    return {"name": model.name, "trainable": model._trainable, "input": _input_config(model),
            "layers": [_layer_entry(layer) for layer in model.layers]}


def functional_config(model) -> dict:
    """``get_config()`` of a functional model: its layers with their inbound nodes."""
    return _functional(model)


def describe(model) -> dict:
    """The flat description files store: ``{"class_name": ..., **get_config()}``."""
    return {"class_name": registered_name(type(model)), **model.get_config()}


def _input_config(seq):
    if seq._input is None:
        return None
    return plain(seq._input.history[0].get_config(), f'input of "{seq.name}"')


def _layer_entry(layer):
    entry = {"class_name": registered_name(type(layer)), "name": layer.name,
             "trainable": layer._trainable}
    if _is_model_class(type(layer)):
        entry["config"] = describe(layer)
    else:
        entry["config"] = plain(layer.get_config(), f'layer "{layer.name}"')
    multiplier = getattr(layer, "lr_multiplier", None)
    if multiplier is not None and multiplier != 1.0:  # set_learning_rate_multiplier's choice
        entry["lr_multiplier"] = float(multiplier)
    return entry


def _is_model_class(cls) -> bool:
    model_cls = registered("Model")
    return model_cls is not None and isinstance(cls, type) and issubclass(cls, model_cls)


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
    return {"name": model.name, "trainable": model._trainable, "layers": layers, "inputs": encode_structure(graph.inputs, ref, model.name),
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
    if isinstance(value, SymbolicTensor):
        return ref(value)
    if isinstance(value, (list, tuple)):
        return {"list": [encode_structure(v, ref, where) for v in value]}
    if isinstance(value, dict):
        return {"dict": {str(k): encode_structure(v, ref, where) for k, v in value.items()}}
    return {"value": plain(value, where)}


# -- JSON -> model -----------------------------------------------------------------------------
def model_from_config(cls, config, custom_objects=None, layers=None):
    """Build a ``cls`` model (Sequential-like or functional) from its ``get_config()``.

    Args:
        cls: the model class (``Sequential``, ``Model`` or a registered subclass).
        config: what ``get_config()`` returned (a ``class_name`` entry is ignored).
        custom_objects: ``{class_name: class}`` for classes outside the registry.
        layers: ``{name: layer}`` to use instead of building those layers from their
            configs (``clone_model`` passes the clones).

    Returns:
        The model, built (weights created, not loaded), with every layer's trainable flag as
        in the config.
    """
    builder = _Builder(custom_objects or {}, layers or {})
    model = builder.model(cls, dict(config), 0)
    for obj, flag in builder.flags:
        obj._trainable = flag  # exact flags, without the setter's propagation to sublayers
    return model


def deserialize_model(description, custom_objects=None):
    """The model of a flat description (:func:`describe`), its class from the registry."""
    if not isinstance(description, dict):
        raise ConfigError("a model description must be an object; found "
                          f"{type(description).__name__}.")
    cls = resolve(description.get("class_name"), custom_objects, "model")
    if not _is_model_class(cls):
        raise ConfigError(f"class {description.get('class_name')!r} is not a model.")
    config = {k: v for k, v in description.items() if k != "class_name"}
    return cls.from_config(config, custom_objects=custom_objects)


class _Builder:
    def __init__(self, custom_objects, given_layers):
        if not isinstance(custom_objects, dict):
            raise TypeError("custom_objects must be a dict {class_name: class}; received "
                            f"{type(custom_objects).__name__}.")
        self.custom_objects = custom_objects
        self.given_layers = given_layers
        self.flags = []

    def fail(self, message):
        raise ConfigError(message)

    def model(self, cls, arch, depth):
        if depth > MAX_NESTING:
            self.fail(f"models nested more than {MAX_NESTING} deep; the config is corrupted.")
        if not isinstance(arch, dict):
            self.fail(f"a model description must be an object; found {type(arch).__name__}.")
        name = arch.get("name")
        if not isinstance(name, str) or not isinstance(arch.get("layers"), list):
            self.fail(f'model {name!r}: needs a string "name" and a "layers" list.')
        if "inputs" in arch:  # functional: layers with inbound nodes
            tensors = {}
            layers = [self.layer(entry, depth) for entry in arch["layers"]]
            self._run_nodes(arch["layers"], layers, tensors)
            inputs = self.decode(arch.get("inputs"), tensors, name)
            outputs = self.decode(arch.get("outputs"), tensors, name)
            model = self._guard(name, cls, lambda: cls(inputs, outputs, name=name))
        else:  # Sequential-like: an input, then a stack of layers
            model = self._guard(name, cls, lambda: cls(name=name))
            if arch.get("input") is not None:
                self._guard(name, cls, lambda: model.add(self._construct(
                    "InputLayer", arch["input"], name)))
            for entry in arch["layers"]:
                layer = self.layer(entry, depth)
                self._guard(entry.get("name"), type(layer), lambda: model.add(layer))
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
        if name in self.given_layers:
            return self.given_layers[name]
        cls = self.resolve(kind, name)
        if _is_model_class(cls) and isinstance(entry.get("config"), dict) and isinstance(
                entry["config"].get("layers"), list):
            layer = self.model(cls, entry["config"], depth + 1)
        else:
            layer = self._construct(kind, entry.get("config"), name)
            self.flags.append((layer, self._flag(entry, name)))
        if layer.name != name:
            self.fail(f'layer "{name}": its config names it "{layer.name}".')
        if "lr_multiplier" in entry:  # written by _layer_entry when not 1
            factor = entry["lr_multiplier"]
            if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not (
                    0 <= factor < float("inf")):
                self.fail(f'layer "{name}": "lr_multiplier" must be a finite number >= 0; '
                          f"found {factor!r}.")
            layer.lr_multiplier = float(factor)
        return layer

    def resolve(self, kind, name):
        try:
            cls = resolve(kind, self.custom_objects)
        except ConfigError as e:
            self.fail(f'layer "{name}": {e}')
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(f"custom_objects[{kind!r}] must be a Layer subclass; received "
                            f"{cls!r}.")
        return cls

    def _construct(self, kind, config, name):
        cls = self.resolve(kind, name)
        if not isinstance(config, dict):
            self.fail(f'layer "{name}": its config must be an object; found {config!r:.80}.')
        if accepts_argument(cls.from_config, "custom_objects"):  # a wrapper: its inner layers
            return self._guard(name, cls, lambda: cls.from_config(
                dict(config), custom_objects=self.custom_objects))
        return self._guard(name, cls, lambda: cls.from_config(dict(config)))

    def _guard(self, name, cls, fn):
        try:
            return fn()
        except ConfigError:
            raise
        except Exception as e:  # a layer refusing its config: the file does not fit thawnet
            self.fail(f'layer "{name}" ({getattr(cls, "__name__", cls)}) could not be rebuilt '
                      f"from the file: {type(e).__name__}: {e}")

    def _run_nodes(self, entries, layers, tensors):
        """Call each layer on its inbound nodes' inputs, in an order where inputs exist.
        Tensors are keyed by the names in the config (a clone may carry another name)."""
        pending = []
        for entry, layer in zip(entries, layers):
            key = entry["name"]
            if isinstance(layer, InputLayer):
                tensors[(key, 0)] = [layer.output]
            nodes = entry.get("inbound_nodes", [])
            if not isinstance(nodes, list):
                self.fail(f'layer "{key}": "inbound_nodes" must be a list.')
            if any(other == key for _, _, _, other in pending):
                self.fail(f'two layers are named "{key}"; names must be unique.')
            pending.append((layer, list(nodes), [0 if isinstance(layer, InputLayer) else -1],
                            key))
        while any(nodes for _, nodes, _, _ in pending):
            progress = False
            for layer, nodes, last, key in pending:
                while nodes and self._ready(nodes[0], tensors):
                    self._call(layer, key, nodes.pop(0), tensors, last)
                    progress = True
            if not progress:
                waiting = [key for _, nodes, _, key in pending if nodes]
                self.fail(f"the graph cannot be rebuilt: layers {waiting[:5]} wait for tensors "
                          "that no layer produces.")

    def _ready(self, record, tensors):
        refs = []
        if not isinstance(record, dict):
            self.fail(f"an inbound node must be an object; found {record!r:.80}.")
        _collect_refs([record.get("args"), record.get("extra_args"), record.get("kwargs")], refs)
        return all((r[0], r[1]) in tensors for r in refs)

    def _call(self, layer, key, record, tensors, last):
        args = self.decode(record.get("args"), tensors, layer.name)
        extra, kwargs = record.get("extra_args", []), record.get("kwargs", {})
        if not isinstance(extra, list) or not isinstance(kwargs, dict):
            self.fail(f'layer "{layer.name}": a node\'s extra_args must be a list and its '
                      "kwargs an object.")
        extra = [self.decode(a, tensors, layer.name) for a in extra]
        kwargs = {k: self.decode(v, tensors, layer.name) for k, v in kwargs.items()}
        out = self._guard(layer.name, type(layer), lambda: layer(args, *extra, **kwargs))
        last[0] += 1
        tensors[(key, last[0])] = flatten(out)

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


__all__ = ["describe", "deserialize_model", "encode_structure", "functional_config",
           "model_from_config", "plain", "sequential_config", "MAX_NESTING"]
