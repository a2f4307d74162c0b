"""Readers for Keras weight files: Keras 3 ``.weights.h5`` and legacy Keras 2 ``.h5``.

Keras 3 layout: one group per saved object, keyed by *class* (``layers/conv2d``,
``layers/dense_1``, numbered per class in the order of ``model.layers``; nested models nest
their own ``layers/...``), each with a ``vars`` group holding the layer's own weights as
datasets ``0``, ``1``, ... and the layer's name in the attribute ``name``. A thawnet model is
mapped onto it by computing the same keys from its own layer order (so unnamed layers match by
order and class, whatever their names), falling back to the ``name`` attribute.

Legacy layout: root attribute ``layer_names``; one group per layer with attribute
``weight_names`` naming its datasets, in the order ``trainable + non-trainable``.

Both readers go through :mod:`thawnet.io.h5_guard`: the whole file is walked once, bounded,
refusing links, external or virtual storage and unknown filters anywhere in it; shapes and
dtypes are compared with the model from the headers; only then is data read, each dataset
bounded by the shape of the weight it is for. Every failure is a :class:`FileFormatError`
naming the user's file and the entry, and leaves the model's weights as they were.
"""

from __future__ import annotations

import os
import warnings

import h5py

from thawnet.io.errors import FileFormatError
from thawnet.io.model_classes import is_model, is_plain_graph_model, is_sequential
from thawnet.io.h5_guard import H5Reader, open_h5
from thawnet.io.keras_h5 import (Declared, _Skip, check_pairs, commit, keras_snake_case,
                                 read_pairs, require_weights)

_IGNORED_TOP_GROUPS = ("optimizer", "metrics", "compile_metrics", "loss")


def _keras_class_name(layer):
    if is_sequential(layer):
        return "Sequential"
    if is_plain_graph_model(layer):
        return "Functional"
    return type(layer).__name__


def _unique(base, used):
    if base not in used:
        used[base] = 0
        return base
    used[base] += 1
    return f"{base}_{used[base]}"


def _model_entries(layer, prefix, out, seen):
    """Append ``(file_key, layer, own_variables)`` for ``layer`` and its sublayers."""
    if id(layer) in seen:
        return
    seen.add(id(layer))
    own = layer._keras_file_weights()
    if own:
        out.append((f"{prefix}vars" if not prefix else f"{prefix}/vars", layer, own))
    base = f"{prefix}/" if prefix else ""
    if is_model(layer) and (layer.is_functional or is_sequential(layer)):
        used = {}
        for child in layer.layers:
            key = _unique(keras_snake_case(_keras_class_name(child)), used)
            _model_entries(child, f"{base}layers/{key}", out, seen)
        return
    children = layer._children()
    by_attr, private = {}, {}
    for attr, value in vars(layer).items():
        if attr.startswith("_"):
            # Keras walks private attributes too, after the public ones (GroupedQueryAttention
            # keeps its projections as ``_query_dense``...). Only a sublayer held directly
            # counts here: thawnet's own bookkeeping lists (``_sublayers``) are not names.
            if not attr.startswith("__") and any(value is c for c in children):
                private.setdefault(attr, value)
            continue
        if any(value is c for c in children):
            by_attr.setdefault(attr, value)
        elif isinstance(value, (list, tuple)):
            used = {}
            for item in value:
                if any(item is c for c in children):
                    key = _unique(keras_snake_case(_keras_class_name(item)), used)
                    _model_entries(item, f"{base}{attr}/{key}", out, seen)
    for attr in sorted(by_attr) + sorted(private):
        value = by_attr.get(attr, private.get(attr))
        _model_entries(value, f"{base}{attr}", out, seen)


def unlisted_weights(model, entries, objects_to_skip=()) -> list:
    """The weights of ``model`` that no file group of ``entries`` holds (a layer the walk
    did not reach), apart from those a layer leaves out of Keras files on purpose and those
    below ``objects_to_skip``: a save or load that would silently lose them must fail."""
    listed = {id(layer) for _, layer, _ in entries}
    skipped = {id(v) for o in objects_to_skip or () for v in getattr(o, "weights", ())}
    missing = []
    for layer in [model] + list(model._all_layers()):
        if id(layer) in listed:
            continue
        missing += [v for v in layer._keras_file_weights() if id(v) not in skipped]
    return missing


class _VarsEntry:
    """One ``.../vars`` group of a Keras 3 file: its datasets in order and its ``name``."""

    def __init__(self, reader: H5Reader, group: h5py.Group, path: str):
        names = reader.names(group, path)
        # Keras numbers a layer's variables 0..n-1; anything else (a renamed or missing
        # dataset) would silently shift weights into the wrong variables, so it is refused.
        expected = [str(i) for i in range(len(names))]
        if sorted(names, key=lambda n: (len(n), n)) != expected:
            raise reader.error(path, f"the datasets of a Keras 3 'vars' group must be named "
                                     f"'0'..'{len(names) - 1}'; found {sorted(names)[:8]}. The "
                                     "file was edited or corrupted; the weights' order cannot "
                                     "be trusted.")
        self.path = path
        self.group = group
        self.datasets = []
        for name in expected:
            obj = reader.child(group, name, path)
            if not isinstance(obj, h5py.Dataset):
                raise reader.error(f"{path}/{name}", "is a group; a weight must be a dataset.")
            self.datasets.append(Declared(f"{path}/{name}", obj, reader))
        self._reader = reader
        self._name = None

    @property
    def name(self) -> str:
        """The ``name`` attribute (Keras's layer name), read on first use only."""
        if self._name is None:
            self._name = self._reader.string_attr(self.group, "name", self.path) or ""
        return self._name


def _file_entries(reader: H5Reader) -> dict:
    """``{group_path/vars: _VarsEntry}`` for every ``vars`` group; no data is read."""
    found = {}
    for path, obj in reader.walk():
        parts = path.split("/") if path else []
        if not isinstance(obj, h5py.Group) or not parts or parts[-1] != "vars":
            continue
        if parts[0] in _IGNORED_TOP_GROUPS or "seed_generator" in parts:
            continue   # optimizer/metric state and Keras's RNG state: thawnet keeps none
        found[path] = _VarsEntry(reader, obj, path)
    return found


def _is_legacy_layout(reader: H5Reader) -> bool:
    """True for a Keras 2 layout (``layer_names``), whatever the file is called."""
    root = reader.handle
    return (reader.has_attr(root, "layer_names") or reader.has_attr(root, "layer_names0")
            or (root.id.links.exists(b"model_weights") and not root.id.links.exists(b"layers")))


def _source(path, source):
    return source if source is not None else repr(os.fspath(path))


def load_keras3_weights(model, path, skip_mismatch=False, source=None, objects_to_skip=None):
    """Load a Keras 3 ``.weights.h5`` file into ``model`` (all or nothing).

    Args:
        model: a built thawnet model with the architecture the file was saved from.
        path: the ``.weights.h5`` file.
        skip_mismatch: leave layers whose weights do not fit (count or shape) as they are,
            with a warning, instead of raising.
        source: how to name the file in messages (default: ``repr(path)``); the ``.keras``
            reader passes the archive's name, not its temporary copy's.
        objects_to_skip: layers of ``model`` (with their sublayers) left as they are; the
            file's entries for them are not read (Keras's argument).

    Returns:
        None.

    Raises:
        FileFormatError: the file is damaged, refers outside itself, or its weights do not fit
            (names the layer, expected vs found shapes); nothing is assigned then.
        FileNotFoundError: no such file.
    """
    source = _source(path, source)
    what = f'Loading Keras 3 weights from {source} into "{model.name}"'
    require_weights(model, source, what)
    with open_h5(path, source) as reader:
        if _is_legacy_layout(reader):
            pairs = _legacy_pairs(reader, model, False, skip_mismatch,
                                  f'Loading Keras 2 HDF5 weights from {source} into '
                                  f'"{model.name}"')
        else:
            pairs = _keras3_pairs(reader, model, skip_mismatch, what, objects_to_skip)
        arrays = read_pairs(reader, pairs)
    commit(arrays)


def _keras3_pairs(reader, model, skip_mismatch, what, objects_to_skip=None):
    entries = []
    _model_entries(model, "", entries, {id(o) for o in objects_to_skip or ()})
    unreached = unlisted_weights(model, entries, objects_to_skip)
    if unreached:
        raise ValueError(
            f"{what}: thawnet cannot map {len(unreached)} weight(s) of the model to groups of "
            f"a Keras weights file ({[getattr(v, 'path', '?') for v in unreached][:5]}); "
            "nothing was loaded. Save and load this model as .thawnet instead.")
    file_entries = _file_entries(reader)
    pairs, used = [], set()
    if objects_to_skip:  # the skipped layers' entries in the file are left unread
        every = []
        _model_entries(model, "", every, set())
        used = {key for key, _, _ in every} - {key for key, _, _ in entries}
    for key, layer, variables in entries:
        if key not in file_entries or key in used:
            named = [k for k, entry in file_entries.items()
                     if entry.datasets and k not in used and entry.name == layer.name]
            if len(named) != 1:
                message = (f'{what}: layer "{layer.name}" ({type(layer).__name__}, weights '
                           f"{[tuple(v.shape) for v in variables]}) has no entry in the file "
                           f"(looked for {key!r}). Was the file saved from a model of the "
                           "same architecture?")
                if skip_mismatch:
                    warnings.warn(message + " Skipped.", stacklevel=3)
                    continue
                raise FileFormatError(message)
            key = named[0]
        used.add(key)
        try:
            pairs.extend(check_pairs(layer.name, variables, file_entries[key].datasets, key,
                                     skip_mismatch))
        except _Skip:
            continue
        except FileFormatError as err:
            raise FileFormatError(f"{what}: {err} The model keeps its old weights.") from err
    extra = [k for k, entry in file_entries.items() if entry.datasets and k not in used]
    if extra and skip_mismatch:
        warnings.warn(f"{what}: ignoring file entries no model layer matches: {extra[:5]}.",
                      stacklevel=3)
    elif extra:
        raise FileFormatError(
            f"{what}: the file holds weights for {len(extra)} object(s) the model has no layer "
            f"for: {extra[:5]}. The model has fewer weighted layers than the file; build the "
            "same architecture, or pass skip_mismatch=True. The model keeps its old weights.")
    return pairs


def _legacy_weights(layer):
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _legacy_file_layers(reader: H5Reader):
    """``[(layer_name, [Declared])]`` in the file's order, for layers that have weights."""
    for _ in reader.walk():
        pass   # refuse links / outside storage anywhere before trusting any name in the file
    root, where = reader.handle, ""
    if not (reader.has_attr(root, "layer_names") or reader.has_attr(root, "layer_names0")) \
            and root.id.links.exists(b"model_weights"):
        root, where = reader.child(root, "model_weights", ""), "model_weights"
    names = reader.chunked_strings_attr(root, "layer_names", where)
    if not names:
        raise reader.error(where, "the file has no 'layer_names' attribute, so it is not a Keras "
                                  "2 weights file (Keras 3 writes *.weights.h5: name the file so).")
    if len(set(names)) != len(names):
        raise reader.error(where, "'layer_names' lists a layer twice.")
    out = []
    for name in names:
        group = reader.child(root, name, where)
        path = f"{where}/{name}" if where else name
        if not isinstance(group, h5py.Group):
            raise reader.error(path, "a layer entry must be a group.")
        declared = []
        for weight in reader.chunked_strings_attr(group, "weight_names", path):
            dataset = reader.resolve(weight.split("/"), group, path)
            if not isinstance(dataset, h5py.Dataset):
                raise reader.error(f"{path}/{weight}", "a weight must be a dataset.")
            declared.append(Declared(f"{path}/{weight}", dataset, reader))
        if declared:
            out.append((name, declared))
    return out


def _first_mismatch(layers, file_layers):
    for layer, (name, arrays) in zip(layers, file_layers):
        expected = [tuple(v.shape) for v in _legacy_weights(layer)]
        found = [tuple(a.shape) for a in arrays]
        if expected != found:
            return (f'; the first that differs is model layer "{layer.name}" (weight shapes '
                    f"{expected}) against file layer {name!r} ({found})")
    return ""


def load_legacy_h5_weights(model, path, by_name=False, skip_mismatch=False, source=None):
    """Load a legacy Keras 2 HDF5 weight file (e.g. a ``keras.applications`` download).

    Args:
        model: a built thawnet model.
        path: the ``.h5`` / ``.hdf5`` file.
        by_name: match file layers to model layers by name (layers absent from the file keep
            their weights); otherwise pair the layers that have weights in order, as Keras does.
        skip_mismatch: leave layers whose weights do not fit as they are, with a warning.
        source: how to name the file in messages (default: ``repr(path)``).

    Returns:
        None.

    Raises:
        FileFormatError: the file is damaged or refers outside itself, the layer counts differ
            (topological mode), or a layer's weights do not fit (names the layer, expected vs
            found shapes); nothing is assigned then.
        FileNotFoundError: no such file.
    """
    source = _source(path, source)
    what = f'Loading Keras 2 HDF5 weights from {source} into "{model.name}"'
    require_weights(model, source, what)
    with open_h5(path, source) as reader:
        if not _is_legacy_layout(reader):
            if by_name:
                raise FileFormatError(f"{what}: the file has Keras 3's layout, which keys "
                                      "weights by layer order, not by name; load it with "
                                      "by_name=False.")
            pairs = _keras3_pairs(reader, model, skip_mismatch,
                                  f'Loading Keras 3 weights from {source} into "{model.name}"')
        else:
            pairs = _legacy_pairs(reader, model, by_name, skip_mismatch, what)
        arrays = read_pairs(reader, pairs)
    commit(arrays)


def _legacy_pairs(reader, model, by_name, skip_mismatch, what):
    layers = [layer for layer in model.layers if _legacy_weights(layer)]
    file_layers = _legacy_file_layers(reader)
    by_file_name = dict(file_layers)
    if by_name:
        matches = [(layer, layer.name) for layer in layers if layer.name in by_file_name]
    else:
        if len(file_layers) != len(layers):
            raise FileFormatError(
                f"{what}: the file has weights for {len(file_layers)} layer(s) but the model "
                f"has {len(layers)} layer(s) with weights{_first_mismatch(layers, file_layers)}."
                " Use the same architecture, or by_name=True to load matching layer names "
                "only. The model keeps its old weights.")
        matches = [(layer, name) for layer, (name, _) in zip(layers, file_layers)]
    pairs = []
    for layer, name in matches:
        try:
            pairs.extend(check_pairs(layer.name, _legacy_weights(layer), by_file_name[name],
                                     name, skip_mismatch))
        except _Skip:
            continue
        except FileFormatError as err:
            raise FileFormatError(f"{what}: {err} The model keeps its old weights.") from err
    return pairs
