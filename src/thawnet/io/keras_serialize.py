"""A thawnet model's architecture in Keras 3's serialization format (``config.json``).

Keras 3 writes every object as ``{"module", "class_name", "config", "registered_name"}``, adds
``build_config`` (the input shape the layer was built for) to layers, and describes a
functional graph by each layer's ``inbound_nodes`` (``{"args": [...], "kwargs": {...}}`` whose
tensors are ``{"class_name": "__keras_tensor__", "config": {"shape", "dtype",
"keras_history": [layer, node, tensor]}}``) plus ``input_layers`` / ``output_layers``. thawnet's
layers take Keras's constructor arguments, so a layer's ``get_config()`` is the Keras config
once its nested objects (dtype, initializers, regularizers, constraints) are wrapped the way
Keras wraps them. This module only produces JSON-ready dicts; :mod:`thawnet.io.keras_writer`
writes them.

Classes that are not Keras's own (layers registered with ``@thawnet.layers.layer.register``
or ``thawnet.saving.register_keras_serializable``) are written as Keras writes registered
custom objects: their Python module and ``registered_name`` ``"package>ClassName"``, so that
both Keras (with the class registered there) and thawnet's reader (with the class in its
registry or ``custom_objects``) know what they are.
"""

from __future__ import annotations

from thawnet.backend.plain_json import plain
from thawnet.io.keras_objects import class_identity, dtype_policy, keras_object
from thawnet.io.model_classes import is_graph_model, is_model, is_sequential
from thawnet.layers.input_layer import InputLayer
from thawnet.layers.layer import Layer, registered
from thawnet.layers.node import SymbolicTensor
from thawnet.layers.op_layer import OpLayer

# Keys of thawnet configs that Keras's constructors do not take: written nowhere (the input
# shape travels in the InputLayer / build_config instead).
_THAWNET_ONLY_KEYS = ("batch_input_shape",)
# Where Keras keeps the classes of nested config objects, by the argument's suffix.
_OBJECT_MODULES = (("_initializer", "keras.initializers"), ("_regularizer", "keras.regularizers"),
                   ("_constraint", "keras.constraints"))


def _wrap_nested(key: str, value, where: str):
    """Wrap the ``{"class_name", "config"}`` dicts of a config as Keras does: initializers,
    regularizers and constraints by the argument's suffix, and layers held by wrapper layers
    (``TimeDistributed(layer=...)``, ``Bidirectional``, ``StackedRNNCells(cells=[...])``) as
    serialized layers."""
    if isinstance(value, list):
        return [_wrap_nested(key, v, where) for v in value]
    if not (isinstance(value, dict) and "class_name" in value and "module" not in value):
        return value
    for suffix, module in _OBJECT_MODULES:
        if key.endswith(suffix) or key == suffix[1:]:
            return keras_object(module, value["class_name"], plain(value.get("config") or {},
                                                                   where))
    cls = registered(value["class_name"]) if isinstance(value["class_name"], str) else None
    if isinstance(cls, type) and issubclass(cls, Layer) and isinstance(value.get("config"), dict):
        module, registered_name = class_identity(cls, "keras.layers")
        return keras_object(module, value["class_name"],
                            _keras_config(value["config"], where), registered_name)
    return value


def _keras_config(config: dict, where: str, dtype_as_policy: bool = True) -> dict:
    """A thawnet config dict in Keras's notation (DTypePolicy, wrapped nested objects)."""
    out = {}
    for key, value in config.items():
        if key in _THAWNET_ONLY_KEYS:
            continue
        if key == "dtype" and isinstance(value, str) and dtype_as_policy:
            value = dtype_policy(value)
        out[key] = _wrap_nested(key, value, where)
    return out


def layer_config(layer) -> dict:
    """The ``config`` of a (non-model) layer in Keras's notation.

    Args:
        layer: a thawnet layer.

    Returns:
        A JSON-ready dict: the layer's ``get_config()`` with its own trainable flag, a
        ``DTypePolicy`` and Keras-wrapped nested objects.
    """
    where = f'layer "{layer.name}"'
    out = _keras_config(plain(layer.get_config(), where), where,
                        dtype_as_policy=not isinstance(layer, InputLayer))
    if "trainable" in out:
        out["trainable"] = bool(layer._trainable)   # the layer's own flag, not the effective one
    return out


def _shape(shape) -> list:
    return [None if d is None else int(d) for d in shape]


def _input_shapes(layer, graph) -> list | None:
    """The input shape(s) of ``layer``'s first call in ``graph`` (Keras's build_config)."""
    if graph is None:
        return None
    for node in graph.nodes:
        if node.layer is layer and node.input_tensors:
            shapes = [_shape(t.shape) for t in node.input_tensors]
            return shapes[0] if len(shapes) == 1 and not isinstance(node.inputs, (list, tuple)) \
                else shapes
    return None


def _layer_entry(layer, graph) -> dict:
    if is_model(layer):
        return serialize_model(layer)
    if isinstance(layer, OpLayer):
        raise ValueError(
            f'Cannot write layer "{layer.name}" (ops.{layer.op_name} on symbolic tensors) to a '
            ".keras file: Keras's format stores ops differently. Save as .thawnet (which keeps "
            "ops), or use a layer instead (layers.Add/Multiply/Concatenate, or a registered "
            "custom layer calling the op).")
    module, registered = class_identity(type(layer), "keras.layers")
    # A class Keras writes under another name (GroupedQueryAttention as "GroupQueryAttention")
    # says so itself; looked up on the class only, so a user subclass keeps its own name.
    class_name = type(layer).__dict__.get("keras_class_name", type(layer).__name__)
    entry = keras_object(module, class_name, layer_config(layer), registered)
    shapes = _input_shapes(layer, graph)
    # Keras writes build_config for the layers that have their own build(); which those are
    # differs between Keras and thawnet (pooling, Flatten), and Keras builds a layer from a
    # build_config whether it needs one or not, so every layer gets it.
    own = getattr(layer, "get_build_config", None)
    own = own() if callable(own) else None
    if own is not None:
        # A layer built from several shapes (MultiHeadAttention: query/value/key) says how
        # Keras must call its build: ``{"shapes_dict": {...}}`` -> build(**shapes_dict).
        entry["build_config"] = plain(_lists(own), f'layer "{layer.name}"')
    elif shapes is not None and not isinstance(layer, InputLayer):
        entry["build_config"] = {"input_shape": shapes}
    return entry


def _lists(value):
    """Tuples as lists, all the way down (JSON has no tuples; Keras writes lists)."""
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def _input_entry(input_layer) -> dict:
    config = layer_config(input_layer)
    config.setdefault("sparse", False)
    config.setdefault("ragged", False)
    config.setdefault("optional", False)
    config.pop("trainable", None)
    return keras_object("keras.layers", "InputLayer", config)


def _sequential(model) -> dict:
    graph = model._graph
    layers = []
    if model._input is not None:
        layers.append(_input_entry(model._input.history[0]))
    layers.extend(_layer_entry(layer, graph) for layer in model.layers)
    config = {"name": model.name, "trainable": bool(model._trainable),
              "dtype": dtype_policy(model.dtype_policy.name), "layers": layers}
    entry = keras_object("keras", "Sequential", config)
    if model._input is not None:
        shape = _shape(model._input.shape)
        config["build_input_shape"] = shape
        entry["build_config"] = {"input_shape": shape}
    return entry


def _node_indices(graph) -> dict:
    """``(id(layer), node.index) -> index among this graph's nodes of that layer``: Keras
    numbers a layer's nodes per model, so a layer shared with another model starts at 0."""
    per_layer, index = {}, {}
    for node in sorted(graph.nodes, key=lambda n: n.index):
        per_layer.setdefault(id(node.layer), []).append(node)
    for nodes in per_layer.values():
        for i, node in enumerate(nodes):
            index[(id(node.layer), node.index)] = i
    return index


def _functional(model) -> dict:
    graph = model._graph
    index = _node_indices(graph)

    def history(tensor):
        layer, node_index, tensor_index = tensor.history
        return [layer.name, index[(id(layer), node_index)], tensor_index]

    def encode(value, where):
        if isinstance(value, SymbolicTensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": _shape(value.shape), "dtype": str(value.dtype),
                               "keras_history": history(value)}}
        if isinstance(value, (list, tuple)):
            return [encode(v, where) for v in value]
        if isinstance(value, dict):
            return {str(k): encode(v, where) for k, v in value.items()}
        return plain(value, where)

    def structure(value):
        if isinstance(value, SymbolicTensor):
            return history(value)
        if isinstance(value, (list, tuple)):
            return [structure(v) for v in value]
        return {str(k): structure(v) for k, v in value.items()}

    layers = []
    for layer in graph.layers:
        if isinstance(layer, InputLayer):
            entry = _input_entry(layer)
        else:
            entry = _layer_entry(layer, graph)
        entry["name"] = layer.name
        nodes = sorted((n for n in graph.nodes if n.layer is layer and n.input_tensors),
                       key=lambda n: n.index)
        records = []
        for node in nodes:
            where = f'call of layer "{layer.name}"'
            extra = node.call_kwargs.get("_args", ())
            kwargs = {k: encode(v, where) for k, v in node.call_kwargs.items() if k != "_args"}
            records.append({"args": [encode(node.inputs, where)]
                            + [encode(a, where) for a in extra], "kwargs": kwargs})
        entry["inbound_nodes"] = records
        layers.append(entry)
    config = {"name": model.name, "trainable": bool(model._trainable), "layers": layers,
              "input_layers": structure(graph.inputs), "output_layers": structure(graph.outputs)}
    entry = keras_object("keras.src.models.functional", "Functional", config, "Functional")
    shapes = [_shape(t.shape) for t in graph.input_tensors]
    entry["build_config"] = {"input_shape": shapes[0] if len(shapes) == 1 else shapes}
    return entry


def serialize_model(model) -> dict:
    """The Keras 3 ``config.json`` entry of a Sequential or functional thawnet model.

    Args:
        model: a built Sequential model or a functional ``Model(inputs, outputs)``; nested
            models are serialized recursively.

    Returns:
        A JSON-ready dict (without ``compile_config``; the writer adds it).

    Raises:
        ValueError: for a subclassed model (its structure lives in Python code), an unbuilt
            model, or a layer whose config holds something JSON cannot represent.
    """
    if is_sequential(model):
        if model._input is None:
            raise ValueError(f'Cannot write Sequential "{model.name}" as a .keras file: it has '
                             "no input shape yet. Start it with Input(shape=...) or call it on "
                             "data before saving.")
        return _sequential(model)
    if is_graph_model(model):
        return _functional(model)
    raise ValueError(
        f'Cannot write model "{model.name}" ({type(model).__name__}) as a .keras file: only '
        "Sequential and functional models (Model(inputs, outputs)) can be described as a Keras "
        "config; a subclassed model's structure lives in its Python code. Save its weights "
        "with model.save_weights('model.weights.h5') and rebuild the model in code.")


__all__ = ["serialize_model", "layer_config"]
