"""Readers for Keras weight files: Keras 3 ``.weights.h5`` and legacy Keras 2 ``.h5``.

Keras 3 layout: one group per saved object, keyed by *class* (``layers/conv2d``,
``layers/dense_1``, numbered per class in the order of ``model.layers``; nested models nest
their own ``layers/...``), each with a ``vars`` group holding the layer's own weights as
datasets ``0``, ``1``, ... and the layer's name in the attribute ``name``. A thawnet model is
mapped onto it by computing the same keys from its own layer order (so unnamed layers match by
order and class, whatever their names), falling back to the ``name`` attribute.

Legacy layout: root attribute ``layer_names``; one group per layer with attribute
``weight_names`` naming its datasets, in the order ``trainable + non-trainable``.
"""

from __future__ import annotations

import os
import warnings

from thawnet.io.keras_h5 import (_Skip, check_pairs, chunked_attr, commit, keras_snake_case,
                                 open_h5, read_dataset, require_weights)

_IGNORED_TOP_GROUPS = ("optimizer", "metrics", "compile_metrics", "loss")


def _keras_class_name(layer):
    from thawnet.models.model import Model
    from thawnet.models.sequential import Sequential

    if isinstance(layer, Sequential):
        return "Sequential"
    if type(layer) is Model and layer.is_functional:
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
    from thawnet.models.model import Model

    if id(layer) in seen:
        return
    seen.add(id(layer))
    own = layer._own_weights_in_order()
    if own:
        out.append((f"{prefix}vars" if not prefix else f"{prefix}/vars", layer, own))
    base = f"{prefix}/" if prefix else ""
    if isinstance(layer, Model) and (layer.is_functional or _keras_class_name(layer)
                                     == "Sequential"):
        used = {}
        for child in layer.layers:
            key = _unique(keras_snake_case(_keras_class_name(child)), used)
            _model_entries(child, f"{base}layers/{key}", out, seen)
        return
    children = layer._children()
    by_attr = {}
    for attr, value in vars(layer).items():
        if attr.startswith("_"):
            continue
        if any(value is c for c in children):
            by_attr.setdefault(attr, value)
        elif isinstance(value, (list, tuple)):
            used = {}
            for item in value:
                if any(item is c for c in children):
                    key = _unique(keras_snake_case(_keras_class_name(item)), used)
                    _model_entries(item, f"{base}{attr}/{key}", out, seen)
    for attr in sorted(by_attr):
        _model_entries(by_attr[attr], f"{base}{attr}", out, seen)


def _file_entries(handle):
    """``{group_path/vars: (name attribute, [arrays])}`` for every ``vars`` group."""
    found = {}

    def visit(name, obj):
        if name.split("/")[0] in _IGNORED_TOP_GROUPS or not name.endswith("vars"):
            return
        if name != "vars" and not name.endswith("/vars"):
            return
        if "seed_generator" in name.split("/"):
            return   # Keras's RNG state (Dropout, ...); thawnet keeps no such weight
        keys = sorted(obj.keys(), key=lambda k: int(k) if k.isdigit() else 1 << 30)
        found[name] = (str(obj.attrs.get("name", "")), [read_dataset(obj[k]) for k in keys])

    if "vars" in handle:
        visit("vars", handle["vars"])
    handle.visititems(visit)
    return found


def _is_legacy_layout(path, what):
    """True for a Keras 2 layout (``layer_names``), whatever the file is called."""
    with open_h5(path, what) as handle:
        return "layer_names" in handle.attrs or "layer_names0" in handle.attrs or (
            "model_weights" in handle and "layers" not in handle)


def load_keras3_weights(model, path, skip_mismatch=False):
    """Load a Keras 3 ``.weights.h5`` file into ``model`` (all or nothing).

    Args:
        model: a built thawnet model with the architecture the file was saved from.
        path: the ``.weights.h5`` file.
        skip_mismatch: leave layers whose weights do not fit (count or shape) as they are,
            with a warning, instead of raising.

    Returns:
        None.

    Raises:
        ValueError: a layer's weights do not fit (names the layer, expected vs found shapes),
            or the file has weights the model has no layer for; nothing is assigned then.
        OSError: the file is not a readable HDF5 file.
    """
    what = f'Loading Keras 3 weights into "{model.name}"'
    require_weights(model, path, what)
    if _is_legacy_layout(path, what):
        return load_legacy_h5_weights(model, path, skip_mismatch=skip_mismatch)
    entries = []
    _model_entries(model, "", entries, set())
    pairs, used = [], set()
    with open_h5(path, what) as handle:
        file_entries = _file_entries(handle)
        for key, layer, variables in entries:
            if key not in file_entries or key in used:
                named = [k for k, (n, arrays) in file_entries.items()
                         if n == layer.name and arrays and k not in used]
                if len(named) != 1:
                    message = (f'{what}: layer "{layer.name}" ({type(layer).__name__}, weights '
                               f"{[tuple(v.shape) for v in variables]}) has no entry in "
                               f"{os.fspath(path)!r} (looked for {key!r}). Was the file saved "
                               "from a model of the same architecture?")
                    if skip_mismatch:
                        warnings.warn(message + " Skipped.", stacklevel=2)
                        continue
                    raise ValueError(message)
                key = named[0]
            used.add(key)
            try:
                pairs.extend(check_pairs(layer.name, variables, file_entries[key][1], key,
                                         skip_mismatch))
            except _Skip:
                continue
            except ValueError as err:
                raise ValueError(f"{what}: {err} The model keeps its old weights.") from err
        extra = [k for k, (_, arrays) in file_entries.items() if arrays and k not in used]
        if extra and skip_mismatch:
            warnings.warn(f"{what}: ignoring file entries no model layer matches: {extra[:5]}.",
                          stacklevel=2)
        elif extra:
            raise ValueError(
                f"{what}: {os.fspath(path)!r} holds weights for {len(extra)} object(s) the model "
                f"has no layer for: {extra[:5]}. The model has fewer weighted layers than the "
                "file; build the same architecture, or pass skip_mismatch=True. The model keeps "
                "its old weights.")
    commit(pairs)


def _legacy_weights(layer):
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _legacy_file_layers(handle):
    """``[(layer_name, [arrays])]`` in the file's order, for layers that have weights."""
    group = handle
    if "layer_names" not in handle.attrs and "model_weights" in handle:
        group = handle["model_weights"]   # a whole-model .h5 (model.save in Keras 2)
    names = chunked_attr(group, "layer_names")
    if not names:
        raise ValueError("the file has no 'layer_names' attribute, so it is not a Keras 2 "
                         "weights file (Keras 3 writes *.weights.h5: name the file so)")
    out = []
    for name in names:
        layer_group = group[name]
        arrays = [read_dataset(layer_group[w]) for w in chunked_attr(layer_group, "weight_names")]
        if arrays:
            out.append((name, arrays))
    return out


def _first_mismatch(layers, file_layers):
    for layer, (name, arrays) in zip(layers, file_layers):
        expected = [tuple(v.shape) for v in _legacy_weights(layer)]
        found = [tuple(a.shape) for a in arrays]
        if expected != found:
            return (f'; the first that differs is model layer "{layer.name}" (weight shapes '
                    f"{expected}) against file layer {name!r} ({found})")
    return ""


def load_legacy_h5_weights(model, path, by_name=False, skip_mismatch=False):
    """Load a legacy Keras 2 HDF5 weight file (e.g. a ``keras.applications`` download).

    Args:
        model: a built thawnet model.
        path: the ``.h5`` / ``.hdf5`` file.
        by_name: match file layers to model layers by name (layers absent from the file keep
            their weights); otherwise pair the layers that have weights in order, as Keras does.
        skip_mismatch: leave layers whose weights do not fit as they are, with a warning.

    Returns:
        None.

    Raises:
        ValueError: the layer counts differ (topological mode) or a layer's weights do not fit
            (names the layer, expected vs found shapes); nothing is assigned then.
        OSError: the file is not a readable HDF5 file.
    """
    what = f'Loading Keras 2 HDF5 weights into "{model.name}"'
    require_weights(model, path, what)
    if not _is_legacy_layout(path, what):
        if by_name:
            raise ValueError(f"{what}: {os.fspath(path)!r} has Keras 3's layout, which keys "
                             "weights by layer order, not by name; load it with by_name=False.")
        return load_keras3_weights(model, path, skip_mismatch=skip_mismatch)
    layers = [layer for layer in model.layers if _legacy_weights(layer)]
    pairs = []
    with open_h5(path, what) as handle:
        try:
            file_layers = _legacy_file_layers(handle)
        except ValueError as err:
            raise ValueError(f"{what}: {os.fspath(path)!r}: {err}.") from err
        if by_name:
            by_file_name = dict(file_layers)
            matches = [(layer, layer.name) for layer in layers if layer.name in by_file_name]
        else:
            if len(file_layers) != len(layers):
                raise ValueError(
                    f"{what}: {os.fspath(path)!r} has weights for {len(file_layers)} layer(s) "
                    f"but the model has {len(layers)} layer(s) with weights"
                    f"{_first_mismatch(layers, file_layers)}. Use the same architecture, or "
                    "by_name=True to load matching layer names only. The model keeps its old "
                    "weights.")
            matches = [(layer, name) for layer, (name, _) in zip(layers, file_layers)]
            by_file_name = dict(file_layers)
        for layer, name in matches:
            try:
                pairs.extend(check_pairs(layer.name, _legacy_weights(layer), by_file_name[name],
                                         name, skip_mismatch))
            except _Skip:
                continue
            except ValueError as err:
                raise ValueError(f"{what}: {err} The model keeps its old weights.") from err
    commit(pairs)
