"""Writing Keras 3's ``.weights.h5`` layout from a thawnet model.

The layout is the one :mod:`thawnet.io.keras_weights` reads (and Keras 3 writes): one group
per layer keyed by its class in snake case, numbered per class in the order of
``model.layers`` (``layers/dense``, ``layers/dense_1``; nested models nest their own
``layers/...``; sublayers of a layer sit under the attribute that holds them), each with a
``vars`` group whose attribute ``name`` is the layer's name and whose datasets ``0``, ``1``,
... are the layer's own weights in Keras's order (BatchNormalization: gamma, beta,
moving_mean, moving_variance). The keys are computed by the reader's own walk
(:func:`thawnet.io.keras_weights._model_entries`), so what is written is exactly what is read.

A compiled model's optimizer goes under ``optimizer/vars`` in Keras's variable order (see
:func:`thawnet.io.compile_config.keras_optimizer_variables`). Writes are atomic.
"""

from __future__ import annotations

import io
import os

import h5py
import jax
import numpy as np

from thawnet.io.atomic import atomic_write_bytes
from thawnet.io.keras_weights import _model_entries, unlisted_weights
from thawnet.variables import materialize_all


def layer_groups(model, objects_to_skip=()) -> list[tuple[str, object, list]]:
    """``(group path, layer, own variables)`` for every layer of ``model`` that has weights.

    Args:
        model: a thawnet model or layer.
        objects_to_skip: layers left out, with everything below them (Keras's argument).

    Returns:
        The list, in Keras's order; group paths end in ``vars`` (``"layers/dense/vars"``).
    """
    entries = []
    _model_entries(model, "", entries, {id(o) for o in objects_to_skip or ()})
    unreached = unlisted_weights(model, entries, objects_to_skip)
    if unreached:  # a file without them would lose them silently on the next load
        raise ValueError(
            f'Model "{model.name}": thawnet cannot place {len(unreached)} weight(s) in a Keras '
            f"weights file ({[getattr(v, 'path', '?') for v in unreached][:5]}); nothing was "
            "written. Save this model as .thawnet instead.")
    return entries


def weights_h5_bytes(model, optimizer_vars: list | None = None,
                     optimizer_name: str | None = None, objects_to_skip=()) -> bytes:
    """The bytes of a Keras 3 ``.weights.h5`` file holding ``model``'s weights.

    Args:
        model: a built thawnet model.
        optimizer_vars: arrays to store under ``optimizer/vars`` (Keras's order), or None.
        optimizer_name: the optimizer's name (the group's ``name`` attribute).
        objects_to_skip: layers whose weights are not written (see :func:`layer_groups`).

    Returns:
        The HDF5 file as bytes.
    """
    entries = layer_groups(model, objects_to_skip)
    variables = [v for _, _, own in entries for v in own]
    materialize_all(variables)
    values = jax.device_get([v.value for v in variables])
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        position = 0
        for key, layer, own in entries:
            group = handle.require_group(key)
            group.attrs["name"] = layer.name
            for i in range(len(own)):
                _dataset(group, str(i), values[position])
                position += 1
        if optimizer_vars is not None:
            group = handle.require_group("optimizer/vars")
            group.attrs["name"] = optimizer_name or "optimizer"
            for i, array in enumerate(optimizer_vars):
                _dataset(group, str(i), array)
    return buffer.getvalue()


def _dataset(group, name, value) -> None:
    """One weight; bfloat16 as Keras 3 writes it (2-byte opaque data tagged ``dtype``)."""
    array = np.asarray(value)
    dataset = group.create_dataset(name, data=array)
    if array.dtype.name == "bfloat16":
        dataset.attrs["dtype"] = "bfloat16"


def save_keras3_weights(model, path, overwrite: bool = True, objects_to_skip=None) -> None:
    """``model.save_weights("w.weights.h5")``: Keras 3's weights layout, written atomically.

    Keras's ``save_weights`` stores the model's variables only (no optimizer), and so does
    this; ``model.save("m.keras")`` adds the optimizer.

    Args:
        model: a built thawnet model or layer.
        path: a name ending in ``.weights.h5``.
        overwrite: when False, an existing file raises FileExistsError.
        objects_to_skip: layers (with their sublayers) whose weights are left out.
    """
    path = os.fspath(path)
    if not path.lower().endswith(".weights.h5"):
        raise ValueError(f"save_weights: {path!r} must end in .weights.h5 for Keras 3's "
                         "layout (or .safetensors for thawnet's native weights).")
    if not model.weights:
        raise ValueError(f'save_weights: model "{model.name}" has no weights yet, so '
                         f"{path!r} would be empty. Build it first (call it on data, or give "
                         "it an Input).")
    atomic_write_bytes(path, weights_h5_bytes(model, objects_to_skip=objects_to_skip),
                       overwrite=overwrite)


__all__ = ["save_keras3_weights", "weights_h5_bytes", "layer_groups"]
