"""Rebuild a thawnet model from a Keras 3 ``config.json`` — without executing anything.

Every class is looked up by name in ``custom_objects`` and then in thawnet's layer registry;
nothing is imported by module path, unpickled or unmarshalled. Refused with a ValueError that
says why: Lambda layers and any serialized Python function (``__lambda__``), classes neither
registered nor in ``custom_objects``, a ``module``/``registered_name`` pointing outside Keras
for a class the caller did not provide, and configuration values thawnet cannot honour (an
argument thawnet lacks, set to something other than its default).

The JSON itself is bounded before it is parsed (:func:`parse_config_json`): its size, how
deeply it nests and how many objects and lists it holds, so a small hostile file cannot make
the parser or the builder use much memory or time.
"""

from __future__ import annotations

import inspect
import json
import re

import numpy as np

from thawnet.io.errors import KerasConfigError
from thawnet.io.keras_config_args import is_keras_module, layer_kwargs
from thawnet.io.model_classes import model_class, sequential_class
from thawnet.layers.call_inspection import accepts_argument
from thawnet.layers.input_layer import InputLayer
from thawnet.layers.layer import Layer, registered
from thawnet.layers.node import flatten

_MODEL_CLASSES = ("Functional", "Model", "Sequential")
MAX_CONFIG_BYTES = 32 << 20
MAX_JSON_DEPTH = 64            # Keras configs nest ~12 deep, +6 per nested model
MAX_JSON_CONTAINERS = 500_000  # ~40 objects and lists per layer: room for 10,000 layers
MAX_LAYERS = 20_000
# A JSON string literal (possessive, so an unterminated one cannot backtrack).
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_BRACKET_STEP = np.zeros(256, np.int8)   # +1 for [ and {, -1 for ] and }, 0 otherwise
_BRACKET_STEP[list(b"[{")], _BRACKET_STEP[list(b"]}")] = 1, -1


def parse_config_json(data: bytes, source: str) -> dict:
    """Parse a Keras ``config.json`` after bounding its size, nesting and object count.

    Args:
        data: the member's bytes.
        source: the file and member, for messages (``"'m.keras' config.json"``).

    Returns:
        The decoded JSON object.

    Raises:
        KerasConfigError: too large, too deep, too many containers, or not a JSON object.
    """
    if len(data) > MAX_CONFIG_BYTES:
        raise KerasConfigError(f"{source}: {len(data)} bytes, over the limit of "
                               f"{MAX_CONFIG_BYTES}.")
    # Count brackets outside string literals, vectorised: the depth is the running sum.
    steps = _BRACKET_STEP[np.frombuffer(_STRING.sub(b'""', data), np.uint8)]
    depth = int(np.cumsum(steps, dtype=np.int32).max()) if steps.size else 0
    containers = int(np.count_nonzero(steps == 1))
    if depth > MAX_JSON_DEPTH:
        raise KerasConfigError(f"{source}: the JSON nests {depth} levels deep (limit "
                               f"{MAX_JSON_DEPTH}); a Keras config nests far less. The file "
                               "is corrupted or hostile.")
    if containers > MAX_JSON_CONTAINERS:
        raise KerasConfigError(f"{source}: the JSON holds {containers} objects and lists "
                               f"(limit {MAX_JSON_CONTAINERS}).")
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise KerasConfigError(f"{source} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise KerasConfigError(f"{source} must hold a JSON object; it holds a "
                               f"{type(value).__name__}.")
    return value


def count_layers(node, limit: int = MAX_LAYERS) -> int:
    """The number of layer entries (objects with ``class_name``) in a config, bounded.

    Raises:
        KerasConfigError: more than ``limit``.
    """
    count, stack = 0, [node]
    while stack:   # iterative: the depth was bounded by parse_config_json, the work by limit
        item = stack.pop()
        if isinstance(item, dict):
            count += "class_name" in item and "config" in item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        if count > limit:
            raise KerasConfigError(f"config.json: more than {limit} layer and object entries.")
    return count


def scan_for_code(node, where="config.json"):
    """Refuse any serialized Python code anywhere in the config tree.

    Args:
        node: a decoded JSON value.
        where: location for messages.

    Raises:
        KerasConfigError: for a Lambda layer or a ``__lambda__`` / pickled function.
    """
    if isinstance(node, dict):
        class_name = node.get("class_name")
        if class_name in ("Lambda", "__lambda__", "TFOpLambda", "SlicingOpLambda") or \
                "function_type" in node or "__pickle__" in node:
            raise KerasConfigError(
                f"{where}: refusing {class_name or 'an object'!r}: it stores Python code "
                "(a lambda or marshalled function), and thawnet never executes code from a file. "
                "Rebuild that part of the model in Python and load the weights with "
                "model.load_weights(...).")
        for key, value in node.items():
            scan_for_code(value, f"{where} > {node.get('name', key) if key == 'config' else key}")
    elif isinstance(node, list):
        for item in node:
            scan_for_code(item, where)


def resolve_class(entry, custom_objects):
    """The class an entry of ``config.json`` names, from custom_objects or the registry."""
    class_name = entry.get("class_name")
    registered_name = entry.get("registered_name")
    module = entry.get("module")
    name = (entry.get("config") or {}).get("name", "?")
    for key in (registered_name, class_name):
        if key and key in custom_objects:
            return custom_objects[key]
    known = registered(class_name) if isinstance(class_name, str) else None
    if known is not None and module is not None and module == known.__module__ and \
            not is_keras_module(module):
        return known   # a custom class registered in this process, from the module the file names
    if not is_keras_module(module):
        raise KerasConfigError(
            f'layer "{name}": class {class_name!r} comes from module {module!r}, outside Keras. '
            "thawnet does not import modules named in files; pass the class as "
            f"custom_objects={{{class_name!r}: YourClass}} if you trust it.")
    if registered_name not in (None, class_name) and class_name not in _MODEL_CLASSES:
        raise KerasConfigError(
            f'layer "{name}": registered_name {registered_name!r} names a custom class. Pass it '
            f"as custom_objects={{{registered_name!r}: YourClass}}.")
    cls = registered(class_name) if isinstance(class_name, str) else None
    if cls is None or not (inspect.isclass(cls) and issubclass(cls, Layer)):
        raise KerasConfigError(
            f'layer "{name}": class {class_name!r} is not a thawnet layer. Pass it as '
            f"custom_objects={{{class_name!r}: YourLayerClass}}, or rebuild the model in Python.")
    return cls


def build_from_config(entry, custom_objects=None):
    """Build the model (or layer) described by one entry of ``config.json``.

    Args:
        entry: ``{"class_name": ..., "config": {...}, ...}``.
        custom_objects: ``{name: class}`` for classes outside thawnet's registry.

    Returns:
        A thawnet Model, Sequential or Layer.
    """
    custom_objects = dict(custom_objects or {})
    scan_for_code(entry)
    return _build(entry, custom_objects)


def _build(entry, custom_objects):
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise KerasConfigError(f"config.json: expected an object with 'class_name'; received "
                               f"{str(entry)[:80]!r}.")
    class_name = entry["class_name"]
    config = entry.get("config") or {}
    if class_name not in custom_objects:
        if class_name == "Sequential":
            return _build_sequential(config, custom_objects)
        if class_name in ("Functional", "Model") and "layers" in config:
            return _build_functional(config, custom_objects)
    cls = resolve_class(entry, custom_objects)
    kwargs = _layer_arguments(cls, entry, custom_objects)
    try:  # from_config, as Keras: a wrapper deserializes the layers it holds there
        if accepts_argument(cls.from_config, "custom_objects"):
            return cls.from_config(kwargs, custom_objects=custom_objects)
        return cls.from_config(kwargs)
    except (TypeError, ValueError) as err:
        raise KerasConfigError(f'layer "{config.get("name", "?")}" ({class_name}): thawnet '
                               f"could not build it from the Keras config: {err}") from err


def _is_layer_entry(value, custom_objects):
    """A serialized layer inside a layer's config (``TimeDistributed(layer=...)``, an RNN's
    cell, ``StackedRNNCells(cells=[...])``): its class is a layer that thawnet knows."""
    if not (isinstance(value, dict) and isinstance(value.get("class_name"), str)
            and isinstance(value.get("config"), dict)):
        return False
    key = _custom_key(value, custom_objects)
    cls = custom_objects[key] if key is not None else registered(value["class_name"])
    return inspect.isclass(cls) and issubclass(cls, Layer)


def _custom_key(entry, custom_objects):
    """The key of ``custom_objects`` that names the entry's class (as resolve_class reads)."""
    for key in (entry.get("registered_name"), entry.get("class_name")):
        if isinstance(key, str) and key in custom_objects:
            return key
    return None


def _layer_arguments(cls, entry, custom_objects, depth=0):
    """``cls``'s constructor arguments from a Keras entry; each nested layer entry becomes a
    thawnet entry ``{"class_name", "config"}`` with its arguments converted the same way (its
    class checked by :func:`resolve_class`), for the wrapper's ``from_config`` to build."""
    config = entry.get("config") or {}
    custom = _custom_key(entry, custom_objects) is not None
    kwargs = layer_kwargs(cls, config, custom=custom)
    if custom or depth > MAX_JSON_DEPTH:   # a custom class reads its own config, as in Keras
        return kwargs

    def convert(value):
        if isinstance(value, dict) and value.get("class_name") in _MODEL_CLASSES and \
                _custom_key(value, custom_objects) is None:
            return _build(value, custom_objects)   # a model in a wrapper: passed built
        if _is_layer_entry(value, custom_objects):
            inner = resolve_class(value, custom_objects)
            # The name the wrapper's from_config resolves: the caller's key, else thawnet's.
            return {"class_name": _custom_key(value, custom_objects) or value["class_name"],
                    "config": _layer_arguments(inner, value, custom_objects, depth + 1)}
        if isinstance(value, list) and value and all(
                _is_layer_entry(v, custom_objects) for v in value):
            return [convert(v) for v in value]
        return value
    return {key: convert(value) for key, value in kwargs.items()}


def _build_sequential(config, custom_objects):
    model = sequential_class()(name=config.get("name"))
    for layer_entry in config.get("layers", []):
        model.add(_build(layer_entry, custom_objects))
    shape = config.get("build_input_shape")
    if model._graph is None and shape:
        model.build(tuple(shape))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _is_ref(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _node_args(node_data):
    """``(args, kwargs)`` of one inbound node, in Keras 3's or Keras 2's notation."""
    if isinstance(node_data, dict):
        return node_data.get("args", []), dict(node_data.get("kwargs") or {})
    refs = [{"class_name": "__keras_tensor__", "config": {"keras_history": item[:3]}}
            for item in node_data]
    kwargs = dict(node_data[0][3]) if node_data and len(node_data[0]) > 3 else {}
    return [refs[0] if len(refs) == 1 else refs], kwargs


def _refs_in(value):
    if _is_ref(value):
        return [value["config"]["keras_history"]]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs_in(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs_in(v)]
    return []


def _resolve(value, outputs):
    if _is_ref(value):
        name, node_index, tensor_index = value["config"]["keras_history"]
        return outputs[name][node_index][tensor_index]
    if isinstance(value, (list, tuple)):
        return [_resolve(v, outputs) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, outputs) for k, v in value.items()}
    return value


def _history_list(spec):
    """``input_layers`` / ``output_layers``: one ``[name, node, index]`` or a list of them."""
    if spec and isinstance(spec[0], str):
        return [spec], True
    return [list(s) for s in spec], False


def _build_functional(config, custom_objects):
    layers, pending, outputs = {}, [], {}
    for layer_entry in config.get("layers", []):
        layer = _build(layer_entry, custom_objects)
        name = layer_entry.get("name") or layer.name
        layers[name] = layer
        outputs[name] = []
        if isinstance(layer, InputLayer):
            outputs[name].append([layer.output])
            continue
        for node_data in layer_entry.get("inbound_nodes", []):
            pending.append((name, node_data))
    while pending:
        progressed, waiting = False, []
        for name, node_data in pending:
            args, kwargs = _node_args(node_data)
            ready = all(ref[0] in outputs and len(outputs[ref[0]]) > ref[1]
                        for ref in _refs_in([args, kwargs]))
            if not ready or any(n == name for n, _ in waiting):
                waiting.append((name, node_data))
                continue
            args = _resolve(args, outputs)
            # Keras 3 records a layer's resolved ``training`` (the default True of its random
            # image layers), and the model's own training flag overrides it in predict, fit
            # and evaluate: the flag is not kept in the graph, so the model's call decides.
            kwargs = {k: v for k, v in _resolve(kwargs, outputs).items()
                      if not (k == "mask" and v is None) and k != "training"}
            try:
                result = layers[name](*args, **kwargs)
            except (TypeError, ValueError) as err:
                raise KerasConfigError(f'config.json: calling layer "{name}" on its inputs '
                                       f"failed while rebuilding the graph: {err}") from err
            outputs[name].append(flatten(result))
            progressed = True
        if not progressed:
            raise KerasConfigError(
                "config.json: the functional graph cannot be rebuilt: layers "
                f"{sorted({n for n, _ in waiting})[:5]} wait for inputs no layer produces.")
        pending = waiting

    def tensors(spec, key):
        refs, single = _history_list(spec)
        try:
            found = [outputs[n][i][j] for n, i, j in refs]
        except (KeyError, IndexError) as err:
            raise KerasConfigError(f"config.json: {key} names {refs!r}, which the graph does "
                                   "not produce.") from err
        return found[0] if single else found

    model = model_class()(tensors(config.get("input_layers", []), "input_layers"),
                          tensors(config.get("output_layers", []), "output_layers"),
                          name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model
