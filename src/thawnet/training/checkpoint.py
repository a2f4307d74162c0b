"""Training checkpoints that resume exactly.

A checkpoint is a folder ``<directory>/ckpt-<epoch>-<step>`` holding:

* ``weights.safetensors`` — the model's weights (native format, by path);
* ``trainer.safetensors`` — the optimizer state (by key path), the training RNG key, and the
  array parts of callback states (EarlyStopping's best weights...);
* ``state.json`` — epoch and step to continue from, the trainable split the optimizer state
  belongs to, the learning-rate-independent scalars of callback states.

The data order needs no saving: epoch ``e`` is shuffled with ``seed + e``, so skipping the
first ``step`` batches of that epoch puts a resumed run exactly where the interrupted one was.
With the same seed, the final weights are bit-identical to an uninterrupted run.

Writes are atomic: the folder is written under a temporary name, fsynced and renamed, and only
then does the ``latest`` file (itself replaced atomically) point at it. A crash at any moment
leaves the previous checkpoint as ``latest``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
from safetensors.numpy import load_file, save_file

from thawnet.io.atomic import atomic_write_bytes, fsync_folder, replace_folder

LATEST = "latest"


def _fsync_tree(folder):
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as f:
            os.fsync(f.fileno())
    fsync_folder(folder)


def _split_state(prefix, state, arrays):
    """JSON-able part of a callback state; arrays (and lists of arrays) go to ``arrays``."""
    plain = {}
    for key, value in (state or {}).items():
        if isinstance(value, (np.ndarray, jax.Array)):
            arrays[f"{prefix}/{key}"] = np.asarray(value)
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, (np.ndarray, jax.Array)) for v in value):
            for i, v in enumerate(value):
                arrays[f"{prefix}/{key}/{i}"] = np.asarray(v)
            plain[key] = {"__arrays__": len(value)}
        else:
            plain[key] = float(value) if isinstance(value, np.generic) else value
    return plain


def _join_state(prefix, plain, arrays):
    state = {}
    for key, value in plain.items():
        if isinstance(value, dict) and "__arrays__" in value:
            state[key] = [arrays[f"{prefix}/{key}/{i}"] for i in range(value["__arrays__"])]
        else:
            state[key] = value
    for name, value in arrays.items():
        if name.startswith(prefix + "/") and name.count("/") == prefix.count("/") + 1:
            state[name.split("/")[-1]] = value
    return state


def save_checkpoint(model, directory, epoch, step, callback_states=None, keep=2):
    """Write a checkpoint to continue at batch ``step`` of ``epoch``; returns its folder."""
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, f"ckpt-{epoch:05d}-{step:07d}")
    tmp = tempfile.mkdtemp(prefix=".tmp-ckpt-", dir=directory)
    try:
        model.save_weights(os.path.join(tmp, "weights.safetensors"))
        arrays = {"__rng__": np.asarray(jax.random.key_data(model._rng)
                                        if jnp.issubdtype(model._rng.dtype, jax.dtypes.prng_key)
                                        else model._rng)}
        for path, leaf in jax.tree_util.tree_flatten_with_path(model._opt_state)[0]:
            arrays["opt" + jax.tree_util.keystr(path)] = np.asarray(leaf)
        plain_states = {name: _split_state(f"callback:{name}", state, arrays)
                        for name, state in (callback_states or {}).items()}
        save_file(arrays, os.path.join(tmp, "trainer.safetensors"))
        meta = {"epoch": int(epoch), "step": int(step), "opt_paths": list(model._opt_paths),
                "callbacks": plain_states, "format_version": 1}
        with open(os.path.join(tmp, "state.json"), "w") as f:
            json.dump(meta, f)
        _fsync_tree(tmp)
        # Swapped in one step: deleting an existing one first (same epoch and step, which
        # ``latest`` may name) would leave no complete checkpoint there after a crash.
        replace_folder(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_bytes(os.path.join(directory, LATEST), os.path.basename(final).encode())
    _prune(directory, keep)
    return final


def _prune(directory, keep):
    names = sorted(n for n in os.listdir(directory) if n.startswith("ckpt-"))
    for name in names[:-keep] if keep else []:
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
    for name in os.listdir(directory):  # leftovers of writes that were killed
        if name.startswith(".tmp-ckpt-"):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def latest_checkpoint(directory):
    """The folder ``latest`` points at, or None when there is no complete checkpoint."""
    pointer = os.path.join(directory, LATEST)
    if not os.path.isfile(pointer):
        return None
    with open(pointer) as f:
        folder = os.path.join(directory, f.read().strip())
    return folder if os.path.isfile(os.path.join(folder, "state.json")) else None


def load_checkpoint(model, directory):
    """Restore weights, optimizer state and RNG; returns ``(epoch, step, callback_states)``."""
    folder = latest_checkpoint(directory)
    if folder is None:
        raise FileNotFoundError(f"No checkpoint in {directory!r} (no 'latest' pointing at a "
                                "complete checkpoint folder).")
    with open(os.path.join(folder, "state.json")) as f:
        meta = json.load(f)
    arrays = load_file(os.path.join(folder, "trainer.safetensors"))
    model.load_weights(os.path.join(folder, "weights.safetensors"))
    by_path = model.variables_by_path()
    paths = tuple(meta["opt_paths"])
    fresh = model._tx.init({p: by_path[p].value for p in paths})
    leaves, treedef = jax.tree_util.tree_flatten_with_path(fresh)
    restored = []
    for path, leaf in leaves:
        key = "opt" + jax.tree_util.keystr(path)
        if key not in arrays or arrays[key].shape != np.shape(leaf):
            raise ValueError(f"Checkpoint {folder!r} does not match this model's optimizer: "
                             f"{key} missing or of another shape. Resume with the same model "
                             "and optimizer that wrote it.")
        restored.append(jnp.asarray(arrays[key], dtype=jnp.asarray(leaf).dtype))
    model._opt_state = jax.tree_util.tree_unflatten(treedef, restored)
    model._opt_paths = paths
    model._rng = jnp.asarray(arrays["__rng__"])
    states = {name: _join_state(f"callback:{name}", plain, arrays)
              for name, plain in meta.get("callbacks", {}).items()}
    return meta["epoch"], meta["step"], states
