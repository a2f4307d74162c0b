"""Training checkpoints that resume exactly.

A checkpoint is a folder ``<directory>/ckpt-<epoch>-<step>`` holding:

* ``weights.safetensors`` — the model's weights (native format, by path);
* ``trainer.safetensors`` — the optimizer state (by key path), the training RNG key, the
  metric accumulators of the running epoch (mid-epoch checkpoints), and the array parts of
  callback states (EarlyStopping's best weights...);
* ``state.json`` — epoch and step to continue from, the trainable split the optimizer state
  belongs to, the scalars of callback states, and the History of the epochs before.

The data order needs no saving: epoch ``e`` is shuffled with ``seed + e``, so skipping the
first ``step`` batches of that epoch puts a resumed run exactly where the interrupted one was.
The same holds for a :class:`thawnet.utils.PyDataset` (its batches are indexed, see
:mod:`thawnet.training.stream_dataset`); a generator cannot be rewound, so a resume inside one
of its epochs continues with its next batches and says so.
The metric accumulators make the resumed epoch's logs (its "loss" is the mean over all of the
epoch's batches, not only the ones after the resume) equal the uninterrupted run's, so every
callback that reads logs (``ReduceLROnPlateau``, ``EarlyStopping(monitor="loss")``) decides the
same, and the History is the uninterrupted one. With the same seed, the final weights are
bit-identical to an uninterrupted run.

Writes are atomic: the folder is written under a temporary name, fsynced and renamed, and only
then does the ``latest`` file (itself replaced atomically) point at it. A crash at any moment
leaves the previous checkpoint as ``latest``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from safetensors.numpy import load_file, save_file

from thawnet.io.atomic import atomic_write_bytes, fsync_folder, replace_folder

LATEST = "latest"
FORMAT_VERSION = 2  # 2 added the running epoch's metrics and the History


class Checkpoint(NamedTuple):
    """What :func:`load_checkpoint` restored, and where training continues.

    Attributes:
        epoch: the epoch to continue in.
        step: the number of batches of ``epoch`` already trained.
        callback_states: ``{name: state}`` as :func:`collect_callback_states` named them.
        metrics: the metric accumulators after those ``step`` batches (a pytree like
            ``MetricSet.init()``), or None at an epoch boundary.
        history: ``{"epoch": [...], "history": {key: [...]}}`` of the epochs before ``epoch``,
            or None when the checkpoint has none.
    """

    epoch: int
    step: int
    callback_states: dict
    metrics: Any
    history: dict | None


def _fsync_tree(folder):
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as f:
            os.fsync(f.fileno())
    fsync_folder(folder)


def _plain(value):
    """A JSON-able scalar: NumPy/JAX scalars become Python numbers."""
    return value.item() if isinstance(value, (np.generic, jax.Array)) else value


def _split_state(prefix, state, arrays):
    """JSON-able part of a callback state; arrays (and lists of arrays) go to ``arrays``."""
    plain = {}
    for key, value in (state or {}).items():
        if isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) > 0:
            arrays[f"{prefix}/{key}"] = np.asarray(value)
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, (np.ndarray, jax.Array)) for v in value):
            for i, v in enumerate(value):
                arrays[f"{prefix}/{key}/{i}"] = np.asarray(v)
            plain[key] = {"__arrays__": len(value)}
        else:
            plain[key] = _plain(value)
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


# -- callbacks and History -------------------------------------------------------------------
def collect_callback_states(callbacks) -> dict:
    """``{name: state}`` of the callbacks that have resumable state (non-empty ``get_state``).

    A callback is named by its class and its rank among the callbacks of that class
    (``"EarlyStopping:0"``), so a resumed ``fit`` finds each state again even when callbacks
    without state (BackupAndRestore, History, a progress bar) were added or removed.

    Args:
        callbacks: the callbacks of the ``fit``.

    Returns:
        The states, by name.
    """
    states, seen = {}, {}
    for callback in callbacks:
        rank = seen[type(callback).__name__] = seen.get(type(callback).__name__, -1) + 1
        state = callback.get_state()
        if state:
            states[f"{type(callback).__name__}:{rank}"] = state
    return states


def restore_callback_states(callbacks, states: dict) -> None:
    """Give each callback the state :func:`collect_callback_states` saved under its name.

    Args:
        callbacks: the callbacks of the resumed ``fit``.
        states: the saved states, by name (names without a callback are ignored).
    """
    seen = {}
    for callback in callbacks:
        rank = seen[type(callback).__name__] = seen.get(type(callback).__name__, -1) + 1
        name = f"{type(callback).__name__}:{rank}"
        if name in states:
            callback.set_state(states[name])


def history_records(history) -> dict:
    """What the History has recorded so far, to put in a checkpoint (at a backup point it
    holds exactly the epochs before the one the checkpoint continues in).

    Args:
        history: the fit's History callback (its ``epoch`` list and ``history`` dict).

    Returns:
        ``{"epoch": [...], "history": {key: [...]}}`` as plain JSON-able numbers.
    """
    return {"epoch": [int(e) for e in history.epoch],
            "history": {key: [_plain(v) for v in values]
                        for key, values in history.history.items()}}


def restore_history(history, records: dict | None) -> None:
    """Make ``history`` hold the epochs a checkpoint recorded (call after ``on_train_begin``,
    which empties the epoch list)."""
    if records is None:
        return
    history.epoch = list(records["epoch"])
    history.history = {key: list(values) for key, values in records["history"].items()}


# -- save ------------------------------------------------------------------------------------
def _key_data(rng):
    return np.asarray(jax.random.key_data(rng) if jnp.issubdtype(rng.dtype, jax.dtypes.prng_key)
                      else rng)


def _put_tree(arrays, prefix, tree):
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        arrays[prefix + jax.tree_util.keystr(path)] = np.asarray(leaf)


def save_checkpoint(model, directory, epoch, step, callback_states=None, keep=2,
                    history=None):
    """Write a checkpoint to continue at batch ``step`` of ``epoch``; returns its folder.

    Args:
        model: the model being trained (weights, optimizer state, RNG; for ``step > 0`` also
            the metric accumulators of the running epoch, which the trainer keeps up to date).
        directory: the folder of the checkpoints.
        epoch: the epoch to continue in.
        step: the number of batches of ``epoch`` already trained.
        callback_states: ``{name: state}`` (see :func:`collect_callback_states`).
        keep: number of checkpoints kept (older ones are removed).
        history: :func:`history_records` of the epochs before ``epoch``.

    Returns:
        The checkpoint's folder.
    """
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, f"ckpt-{epoch:05d}-{step:07d}")
    tmp = tempfile.mkdtemp(prefix=".tmp-ckpt-", dir=directory)
    try:
        model.save_weights(os.path.join(tmp, "weights.safetensors"))
        arrays = {"__rng__": _key_data(model._rng)}
        _put_tree(arrays, "opt", model._opt_state)
        metrics = getattr(model, "_epoch_metrics", None) if step > 0 else None
        if metrics is not None:
            _put_tree(arrays, "metrics", metrics)
        plain_states = {name: _split_state(f"callback:{name}", state, arrays)
                        for name, state in (callback_states or {}).items()}
        save_file(arrays, os.path.join(tmp, "trainer.safetensors"))
        meta = {"epoch": int(epoch), "step": int(step), "opt_paths": list(model._opt_paths),
                "callbacks": plain_states, "has_metrics": metrics is not None,
                "history": history, "format_version": FORMAT_VERSION}
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


# -- load ------------------------------------------------------------------------------------
def latest_checkpoint(directory):
    """The folder ``latest`` points at, or None when there is no complete checkpoint."""
    pointer = os.path.join(directory, LATEST)
    if not os.path.isfile(pointer):
        return None
    with open(pointer) as f:
        folder = os.path.join(directory, f.read().strip())
    return folder if os.path.isfile(os.path.join(folder, "state.json")) else None


def _take_tree(arrays, prefix, like, folder, what):
    """The tree shaped like ``like`` whose leaves were saved under ``prefix``."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(like)
    restored = []
    for path, leaf in leaves:
        key = prefix + jax.tree_util.keystr(path)
        if key not in arrays or arrays[key].shape != np.shape(leaf):
            raise ValueError(f"Checkpoint {folder!r} does not match this model's {what}: "
                             f"{key} missing or of another shape. Resume with the same model, "
                             "optimizer and metrics that wrote it.")
        restored.append(jnp.asarray(arrays[key], dtype=jnp.asarray(leaf).dtype))
    expected = {prefix + jax.tree_util.keystr(path) for path, _ in leaves}
    extra = sorted(k for k in arrays if k not in expected and (
        k == prefix or (k.startswith(prefix) and k[len(prefix):][:1] in "[.")))
    if extra:
        raise ValueError(f"Checkpoint {folder!r} does not match this model's {what}: it holds "
                         f"{len(extra)} value(s) this model has no place for (first {extra[0]})."
                         " Resume with the same model, optimizer and metrics that wrote it.")
    return jax.tree_util.tree_unflatten(treedef, restored)


def load_checkpoint(model, directory) -> Checkpoint:
    """Restore weights, optimizer state and RNG from the latest checkpoint in ``directory``.

    Args:
        model: the compiled model to restore into.
        directory: a folder written by :func:`save_checkpoint`.

    Returns:
        A :class:`Checkpoint`: where to continue, the callback states, the running epoch's
        metric accumulators and the History (for the trainer to put back).
    """
    folder = latest_checkpoint(directory)
    if folder is None:
        raise FileNotFoundError(f"No checkpoint in {directory!r} (no 'latest' pointing at a "
                                "complete checkpoint folder).")
    with open(os.path.join(folder, "state.json")) as f:
        meta = json.load(f)
    arrays = load_file(os.path.join(folder, "trainer.safetensors"))
    # Check everything against the model before changing any of it.
    by_path = model.variables_by_path()
    paths = tuple(meta["opt_paths"])
    opt_state = _take_tree(arrays, "opt", model._tx.init({p: by_path[p].value for p in paths}),
                           folder, "optimizer")
    metrics = None
    if meta.get("has_metrics"):
        metrics = _take_tree(arrays, "metrics", model._metric_set.init(), folder, "metrics")
    model.load_weights(os.path.join(folder, "weights.safetensors"))
    model._opt_state, model._opt_paths = opt_state, paths
    model._rng = jnp.asarray(arrays["__rng__"])
    states = {name: _join_state(f"callback:{name}", plain, arrays)
              for name, plain in meta.get("callbacks", {}).items()}
    return Checkpoint(meta["epoch"], meta["step"], states, metrics, meta.get("history"))


def resume_training(model, directory, callbacks) -> Checkpoint:
    """Load the latest checkpoint of ``directory`` and give the callbacks their states.

    The trainer then continues at ``(epoch, step)`` with the returned metrics, and puts the
    History back after ``on_train_begin`` (see :func:`restore_history`).

    Args:
        model: the compiled model.
        directory: the checkpoint folder.
        callbacks: the callbacks of the ``fit`` being resumed.

    Returns:
        The :class:`Checkpoint`.
    """
    checkpoint = load_checkpoint(model, directory)
    restore_callback_states(callbacks, checkpoint.callback_states)
    return checkpoint
