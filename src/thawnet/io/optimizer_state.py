"""A compiled model's optimizer state in files: slots, step count, learning rate, RNG.

The state is the Optax state in ``model._opt_state`` (keyed by weight path) for the weights in
``model._opt_paths``. Two layouts:

* **native** (``.thawnet``, member ``optimizer.safetensors``): every leaf by its key path, plus
  the training RNG key: exact for any optimizer, so ``fit`` continues bit for bit.
* **Keras** (``.keras``, group ``optimizer/vars`` of ``model.weights.h5``): Keras 3's variable
  list: ``iterations``, ``learning_rate`` (unless a schedule drives it), then the slots in
  Keras's order: one block per ``add_optimizer_variables`` call, interleaved per trainable
  variable (Adam: momentum and velocity of the first weight, then of the second...). Keras
  restores its optimizer from it, and so does thawnet (also from files Keras wrote). Mapped:
  Adam/AdamW (AMSGrad too), Adamax, SGD, Adagrad, Adadelta, Lion, RMSprop without momentum.
  Others (Nadam, RMSprop with momentum, raw optax) write no ``optimizer/vars``: Keras then
  warns and starts its optimizer fresh, and a ``.thawnet`` file is the exact format for them.
"""

from __future__ import annotations

import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from thawnet import optimizers as optimizers_lib
from thawnet.io import archive as archive_lib
from thawnet.io import compile_config as compile_lib
from thawnet.io import safetensors_io as st
from thawnet.io.errors import FileFormatError
from thawnet.io.keras_weights_writer import layer_groups
from thawnet.variables import materialize_all

_OPT_PREFIX = "opt"
RNG_KEY = "__rng__"


# -- native: every leaf by key path -------------------------------------------------------
def _rng_array(rng):
    if jnp.issubdtype(rng.dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(rng))
    return np.asarray(rng)


def optimizer_state_arrays(model) -> tuple[dict, dict] | None:
    """``(arrays, meta)`` of a compiled model's optimizer state and training RNG, or None
    when it has no state yet (compiled, never trained)."""
    state = getattr(model, "_opt_state", None)
    if not getattr(model, "compiled", False) or state is None:
        return None
    arrays = {RNG_KEY: _rng_array(model._rng)}
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    for (path, leaf), value in zip(leaves, jax.device_get([leaf for _, leaf in leaves])):
        arrays[_OPT_PREFIX + jax.tree_util.keystr(path)] = np.asarray(value)
    return arrays, {"opt_paths": list(model._opt_paths)}


def _fresh_state(model, paths):
    by_path = model.variables_by_path()
    missing = [p for p in paths if p not in by_path]
    if missing:
        raise FileFormatError(f"the optimizer state is for weights the model lacks: "
                              f"{missing[:5]}.")
    materialize_all([by_path[p] for p in paths])
    return model._tx.init({p: by_path[p].value for p in paths})


def restore_optimizer_state(model, arrays: dict, meta: dict, source: str) -> None:
    """Put the state written by :func:`optimizer_state_arrays` into a compiled ``model``.

    Raises:
        FileFormatError: the state does not fit the model's optimizer (a leaf missing or of
            another shape); the model keeps a fresh optimizer state then.
    """
    paths = meta.get("opt_paths")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise FileFormatError(f"{source}: the optimizer state lacks its list of weights "
                              "(opt_paths). The file is corrupted.")
    try:
        fresh = _fresh_state(model, paths)
    except FileFormatError as err:
        raise FileFormatError(f"{source}: {err}") from None
    leaves, treedef = jax.tree_util.tree_flatten_with_path(fresh)
    restored = []
    for path, leaf in leaves:
        key = _OPT_PREFIX + jax.tree_util.keystr(path)
        if key not in arrays or arrays[key].shape != np.shape(leaf):
            raise FileFormatError(
                f"{source}: the optimizer state does not fit {type(model.optimizer).__name__}: "
                f"{key} is missing or has another shape. The file's compile settings and "
                "optimizer state disagree; the file is corrupted.")
        restored.append(jnp.asarray(arrays[key], dtype=jnp.asarray(leaf).dtype))
    model._opt_state = jax.tree_util.tree_unflatten(treedef, restored)
    model._opt_paths = tuple(paths)
    if RNG_KEY in arrays:
        model._rng = jnp.asarray(arrays[RNG_KEY])


# -- Keras: optimizer/vars ------------------------------------------------------------------
def _slot_kinds(state, paths):
    """The slots of an Optax state grouped by kind: ``[{var_path: flat leaf index}]``, kinds in
    tree order (Adam: first moments, then second moments), plus the flat leaves."""
    wanted = set(paths)
    flat, treedef = jax.tree_util.tree_flatten_with_path(state)
    kinds = {}
    for i, (key_path, _) in enumerate(flat):
        var = next((k.key for k in key_path
                    if isinstance(k, jax.tree_util.DictKey) and k.key in wanted), None)
        if var is None:
            continue
        kind = jax.tree_util.keystr(tuple(k for k in key_path if not (
            isinstance(k, jax.tree_util.DictKey) and k.key == var)))
        kinds.setdefault(kind, {})[var] = i
    return list(kinds.values()), flat, treedef


def _count_indices(flat):
    return [i for i, (key_path, leaf) in enumerate(flat)
            if key_path and getattr(key_path[-1], "name", None) == "count"
            and np.ndim(leaf) == 0 and jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.integer)]


def _keras_blocks(optimizer, n_kinds):
    """Keras's slot layout for ``optimizer``: blocks of kind indices, each block interleaved
    per variable (one ``add_optimizer_variables`` call); None where thawnet does not map it."""
    if isinstance(optimizer, optimizers_lib.Adam):
        blocks = [[0, 1]] + ([[2]] if optimizer.amsgrad else [])
    elif isinstance(optimizer, optimizers_lib.Adamax):
        blocks = [[0, 1]]
    elif isinstance(optimizer, optimizers_lib.SGD):
        blocks = [[0]] if optimizer.momentum else []
    elif isinstance(optimizer, (optimizers_lib.Adagrad, optimizers_lib.Lion)):
        blocks = [[0]]
    elif isinstance(optimizer, optimizers_lib.Adadelta):
        blocks = [[0, 1]]
    elif isinstance(optimizer, optimizers_lib.RMSprop) and not optimizer.momentum:
        # velocity, then (centered) the average gradient; thawnet's momentum trace is the
        # negative of Keras's momentum, so RMSprop with momentum is not mapped.
        blocks = [[1], [0]] if optimizer.centered else [[0]]
    else:
        return None
    return blocks if sum(len(b) for b in blocks) == n_kinds else None


def _keras_order(model, paths):
    """``paths`` in Keras's variable order (layer by layer, as in the weights file), or None
    when some trainable weight has no place in that file."""
    wanted = set(paths)
    path_of = {id(v): p for p, v in model.variables_by_path().items()}
    order = [path_of[id(v)] for _, _, own in layer_groups(model) for v in own
             if path_of.get(id(v)) in wanted]
    return order if len(order) == len(wanted) else None


def _keras_layout(model, state, paths):
    """``(order, blocks, kinds, flat, treedef, uses_lr_variable)`` or None when unmapped."""
    kinds, flat, treedef = _slot_kinds(state, paths)
    blocks = _keras_blocks(model.optimizer, len(kinds))
    order = _keras_order(model, paths)
    if blocks is None or order is None:
        return None
    scheduled = isinstance(model.optimizer.get_config().get("learning_rate"), dict)
    return order, blocks, kinds, flat, treedef, not scheduled


def keras_optimizer_variables(model) -> list | None:
    """The arrays of Keras's ``optimizer/vars`` for a compiled, trained model, or None (never
    trained, or an optimizer whose Keras layout thawnet does not map: Keras then warns on
    load and starts its optimizer fresh, as it does for any count mismatch)."""
    state = getattr(model, "_opt_state", None)
    if not getattr(model, "compiled", False) or state is None:
        return None
    layout = _keras_layout(model, state, model._opt_paths)
    if layout is None:
        return None
    order, blocks, kinds, flat, _, uses_lr = layout
    values = jax.device_get([leaf for _, leaf in flat])
    counts = _count_indices(flat)
    iterations = np.asarray(values[counts[0]]) if counts else np.asarray(0, np.int32)
    out = [iterations]
    if uses_lr:
        out.append(np.asarray(optimizers_lib.get_learning_rate(state), dtype=np.float32))
    for block in blocks:
        for path in order:
            out.extend(np.asarray(values[kinds[k][path]]) for k in block)
    return out


def restore_keras_optimizer_variables(model, arrays: list, source: str) -> bool:
    """Load Keras's ``optimizer/vars`` into a freshly compiled ``model``.

    Args:
        model: compiled, with the architecture and trainable flags the file was saved with.
        arrays: the datasets ``0``, ``1``, ... of ``optimizer/vars``.
        source: the file, for messages.

    Returns:
        True when restored. A count or shape that does not fit gives a warning (as in Keras)
        and a fresh optimizer state.
    """
    paths = tuple(model.trainable_split()[0])
    state = _fresh_state(model, paths)
    layout = _keras_layout(model, state, paths)
    if layout is None:
        warnings.warn(f"load_model({source}): the optimizer state of "
                      f"{type(model.optimizer).__name__} is not restored from Keras's layout; "
                      "training continues with a fresh optimizer state.", stacklevel=3)
        return False
    order, blocks, kinds, flat, treedef, uses_lr = layout
    expected = 1 + int(uses_lr) + sum(len(b) for b in blocks) * len(order)
    leaves = [leaf for _, leaf in flat]
    slots = [(kinds[k][path]) for block in blocks for path in order for k in block]
    offset = 1 + int(uses_lr)
    problem = None
    if any(np.ndim(a) for a in arrays[:offset]):
        problem = "its iterations / learning_rate variables are not scalars"
    elif len(arrays) == offset and len(arrays) < expected:
        slots = []   # saved before the optimizer was built (never trained): no slots yet
    elif len(arrays) != expected:
        problem = f"it holds {len(arrays)} variables, the optimizer has {expected}"
    else:
        for n, index in enumerate(slots):
            if tuple(arrays[offset + n].shape) != tuple(np.shape(leaves[index])):
                problem = (f"variable {offset + n} has shape {tuple(arrays[offset + n].shape)}, "
                           f"the optimizer expects {tuple(np.shape(leaves[index]))}")
                break
    if problem is not None:
        warnings.warn(f"load_model({source}): skipping the optimizer state: {problem}. "
                      "Training continues with a fresh optimizer state.", stacklevel=3)
        return False
    for n, index in enumerate(slots):
        leaves[index] = jnp.asarray(arrays[offset + n], dtype=jnp.asarray(leaves[index]).dtype)
    for index in _count_indices(flat):
        leaves[index] = jnp.asarray(arrays[0], dtype=jnp.asarray(leaves[index]).dtype)
    state = jax.tree_util.tree_unflatten(treedef, leaves)
    if uses_lr:
        state = optimizers_lib.set_learning_rate(state, np.float32(arrays[1]))
    model._opt_state, model._opt_paths = state, paths
    return True


# -- the native file's parts ---------------------------------------------------------------
_META_KEY = "thawnet_optimizer"


def native_parts(model) -> tuple[dict | None, bytes | None]:
    """``(compile_config, optimizer.safetensors bytes)`` for a ``.thawnet`` file.

    Args:
        model: the model being saved.

    Returns:
        ``(None, None)`` for an uncompiled model (or one whose compile settings a file cannot
        hold); the bytes are None until the model has trained (no optimizer state yet).
    """
    config = compile_lib.compile_config(model)
    if config is None:
        return None, None
    config["thawnet"] = {"seed": int(getattr(model, "_seed", 0)),
                         "steps_per_execution": getattr(model, "_steps_per_execution", 1)}
    parts = optimizer_state_arrays(model)
    if parts is None:
        return config, None
    arrays, meta = parts
    return config, st.encode(arrays, {_META_KEY: json.dumps(meta, sort_keys=True)})


def restore_native(model, config: dict | None, arc, source: str) -> bool:
    """Compile a model loaded from a ``.thawnet`` file and restore its optimizer state.

    Args:
        model: the rebuilt model, weights loaded.
        config: the file's ``compile_config`` (None: the model stays uncompiled).
        arc: the open :class:`thawnet.io.archive.Archive`.
        source: the file, for messages.

    Returns:
        True when the model was compiled.
    """
    if not compile_lib.compile_from_config(model, config, source):
        return False
    if not arc.has(archive_lib.OPTIMIZER):
        return True
    arrays, header = st.decode(arc.read(archive_lib.OPTIMIZER),
                               f"{source} {archive_lib.OPTIMIZER}")
    try:
        meta = json.loads(header.metadata.get(_META_KEY, ""))
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise FileFormatError(f"{source}: {archive_lib.OPTIMIZER} lacks its metadata "
                              f"{_META_KEY!r}. The file is corrupted.")
    restore_optimizer_state(model, arrays, meta, source)
    return True


__all__ = ["optimizer_state_arrays", "restore_optimizer_state", "keras_optimizer_variables",
           "restore_keras_optimizer_variables", "native_parts", "restore_native", "RNG_KEY"]
