"""Reading and replacing hyperparameters held in an Optax state.

``optax.inject_hyperparams`` keeps a transformation's numeric hyperparameters
(learning rate, ``beta_1``, ``weight_decay``, ...) in its state,
``state.hyperparams[name]``, instead of baking them into the compiled update.
These functions find that node anywhere in a (possibly nested) state and
return a *new* state with one value replaced: the arrays keep their dtype and
shape, so a jitted step that receives the new state does not retrace.

A hyperparameter driven by a schedule is recomputed from the step count at
every update; it has an entry in ``state.hyperparams_states`` and cannot be
replaced.
"""

from __future__ import annotations

from typing import Any, Callable

import jax.numpy as jnp


def _holds(node: Any, name: str) -> bool:
    hyperparams = getattr(node, "hyperparams", None)
    return isinstance(node, tuple) and isinstance(hyperparams, dict) and (
        name in hyperparams
    )


def _children(node):
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, (tuple, list)):
        return list(node)
    return []


def find_injected(opt_state: Any, name: str = "learning_rate"):
    """The first state node holding the injected hyperparameter ``name``.

    Args:
        opt_state: an Optax state, possibly nested in tuples, lists and dicts.
        name: the hyperparameter.

    Returns:
        The ``InjectHyperparamsState``-like node, or None.
    """
    if _holds(opt_state, name):
        return opt_state
    for child in _children(opt_state):
        found = find_injected(child, name)
        if found is not None:
            return found
    return None


def _rebuild(node, name, fn):
    if _holds(node, name):
        return fn(node)
    if isinstance(node, dict):
        return type(node)((k, _rebuild(v, name, fn)) for k, v in node.items())
    if isinstance(node, tuple):
        items = [_rebuild(c, name, fn) for c in node]
        return type(node)(*items) if hasattr(node, "_fields") else \
            type(node)(items)
    if isinstance(node, list):
        return [_rebuild(c, name, fn) for c in node]
    return node


def _missing(name):
    return ValueError(
        f"This optimizer state has no injected {name!r} (build the "
        f"transformation with optax.inject_hyperparams and a {name!r} "
        "argument)."
    )


def is_scheduled(opt_state: Any, name: str = "learning_rate") -> bool:
    """Whether ``name`` is recomputed from a schedule at every update."""
    node = find_injected(opt_state, name)
    states = getattr(node, "hyperparams_states", None) or {}
    return name in states


def schedule_step(opt_state: Any, name: str = "learning_rate"):
    """The step count that the next update gives the schedule of ``name``."""
    node = find_injected(opt_state, name)
    if node is None:
        raise _missing(name)
    state = (getattr(node, "hyperparams_states", None) or {}).get(name)
    return getattr(state, "count", node.count)


def get_hyperparameter(opt_state: Any, name: str = "learning_rate") -> Any:
    """The value of the injected hyperparameter ``name`` (a ``jnp`` scalar).

    For a schedule it is the value the most recent update used.

    Args:
        opt_state: see :func:`find_injected`.
        name: the hyperparameter.

    Returns:
        A ``jnp`` scalar.

    Raises:
        ValueError: if the state holds no such injected hyperparameter.
    """
    node = find_injected(opt_state, name)
    if node is None:
        raise _missing(name)
    return node.hyperparams[name]


def set_hyperparameter(opt_state: Any, name: str, value: Any,
                       place: Callable | None = None) -> Any:
    """A copy of ``opt_state`` whose hyperparameter ``name`` is ``value``.

    Pure (the old state is unchanged) and jit-safe. The new scalar keeps the
    old one's dtype and shape, so the next step reuses its compiled program.

    Args:
        opt_state: see :func:`find_injected`.
        name: the hyperparameter.
        value: the new value (float or scalar array).
        place: optional function putting the new scalar where the state lives
            (the devices of a data-parallel mesh).

    Returns:
        The new optimizer state.

    Raises:
        ValueError: if the state holds no such injected hyperparameter.
        TypeError: if a schedule drives it (it would be overwritten at the
            next step).
    """

    def replace(node):
        if name in (getattr(node, "hyperparams_states", None) or {}):
            raise TypeError(
                f"The {name} is driven by a schedule; it cannot be set. Pass "
                "a float to the optimizer's constructor (and compile again) "
                "to set it between steps."
            )
        old = node.hyperparams[name]
        new = jnp.asarray(value, dtype=jnp.result_type(old)).reshape(
            jnp.shape(old))
        if place is not None:
            new = place(new)
        return node._replace(hyperparams={**node.hyperparams, name: new})

    if find_injected(opt_state, name) is None:
        raise _missing(name)
    return _rebuild(opt_state, name, replace)
