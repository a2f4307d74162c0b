"""Carry optimizer state across a change of the trainable split.

Optax states mirror the parameter dict (``mu['dense_1/kernel']``) next to shared scalars (the
step count, injected hyperparameters such as the learning rate). When the split changes, the
transformation is initialised for the new trainable dict, then every leaf that existed before
under the same key path (and shape) takes its old value: weights that stay trainable keep their
moments, newly trainable weights start fresh, newly frozen ones simply drop out, and the step
count and learning rate carry on.
"""

from __future__ import annotations

import jax


def transfer_opt_state(old_state, fresh_state):
    old = {jax.tree_util.keystr(path): leaf
           for path, leaf in jax.tree_util.tree_flatten_with_path(old_state)[0]}
    leaves, treedef = jax.tree_util.tree_flatten_with_path(fresh_state)
    merged = []
    for path, leaf in leaves:
        previous = old.get(jax.tree_util.keystr(path))
        if previous is not None and getattr(previous, "shape", None) == getattr(
                leaf, "shape", None):
            merged.append(previous)
        else:
            merged.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, merged)
