"""Keras-style optimizers compiled to optax, plus learning-rate helpers.

``Optimizer.to_optax()`` gives an ``optax.GradientTransformation`` whose
updates are added to the params. Params and gradients given to it are dicts
``{path: array}`` of the trainable weights only (so weight decay only
touches trainable weights).

The learning rate lives in the optimizer state (``optax.inject_hyperparams``)
and can be read or replaced between steps without recompiling::

    lr = get_learning_rate(opt_state)
    opt_state = set_learning_rate(opt_state, lr * 0.1)
"""

import inspect

import jax.numpy as jnp
import optax

from thawnet.optimizers import schedules
from thawnet.optimizers.adam import Adam, Adamax, AdamW, Nadam
from thawnet.optimizers.base import Optimizer, OptaxOptimizer
from thawnet.optimizers.classic import SGD, Adadelta, Adagrad, Lion, RMSprop

_BY_NAME = {cls.__name__.lower(): cls for cls in (
    SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion,
)}
_LR = "learning_rate"


def valid_names():
    """Returns the sorted optimizer names accepted by :func:`get`."""
    return sorted(_BY_NAME)


def get(identifier):
    """Resolves an optimizer identifier to an :class:`Optimizer`.

    Args:
        identifier: a name (case-insensitive: ``"sgd"``, ``"adam"``,
            ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, ``"adadelta"``,
            ``"adamax"``, ``"nadam"``, ``"lion"``) giving an instance with
            Keras's defaults; a dict ``{"class_name": ..., "config": ...}``;
            an :class:`Optimizer` instance (returned as is) or subclass; or an
            ``optax.GradientTransformation``, wrapped in
            :class:`OptaxOptimizer` so that ``to_optax()`` returns it.

    Returns:
        An :class:`Optimizer`.

    Raises:
        ValueError: for an unknown name (the message lists valid names) or an
            uninterpretable identifier.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(str(identifier.get("class_name")).lower())
        if cls is None:
            raise ValueError(
                f"Unknown optimizer {identifier.get('class_name')!r}. "
                f"Valid names: {', '.join(valid_names())}."
            )
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"Unknown optimizer {identifier!r}. "
                f"Valid names: {', '.join(valid_names())}."
            )
        return cls()
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}"
    )


def _is_injected(node):
    hyperparams = getattr(node, "hyperparams", None)
    return isinstance(node, tuple) and isinstance(hyperparams, dict) and (
        _LR in hyperparams
    )


def _children(node):
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, (tuple, list)):
        return list(node)
    return []


def _find_injected(node):
    """First state node holding an injected learning rate, else None."""
    if _is_injected(node):
        return node
    for child in _children(node):
        found = _find_injected(child)
        if found is not None:
            return found
    return None


def _replace_injected(node, fn):
    """Rebuilds ``node`` with ``fn`` applied to every injected state."""
    if _is_injected(node):
        return fn(node)
    if isinstance(node, dict):
        return type(node)(
            (k, _replace_injected(v, fn)) for k, v in node.items()
        )
    if isinstance(node, tuple):
        items = [_replace_injected(c, fn) for c in node]
        return type(node)(*items) if hasattr(node, "_fields") else \
            type(node)(items)
    if isinstance(node, list):
        return [_replace_injected(c, fn) for c in node]
    return node


def get_learning_rate(opt_state):
    """Returns the current learning rate stored in an optimizer state.

    For a schedule this is the value used by the most recent update (or the
    value at step 0 before any update).

    Args:
        opt_state: a state of a transformation from ``Optimizer.to_optax()``
            (or any ``optax.inject_hyperparams`` transformation with a
            ``learning_rate`` argument), possibly nested in other states.

    Returns:
        A float32 ``jnp`` scalar.

    Raises:
        ValueError: if the state holds no injected learning rate.
    """
    node = _find_injected(opt_state)
    if node is None:
        raise ValueError(
            "This optimizer state has no injected learning rate (build the "
            "transformation with optax.inject_hyperparams)."
        )
    return node.hyperparams[_LR]


def set_learning_rate(opt_state, value):
    """Returns a copy of ``opt_state`` whose learning rate is ``value``.

    Pure: the old state is unchanged. The new value keeps the dtype and shape
    of the old one, so passing the new state to a jitted step does not
    retrace. Works inside ``jax.jit`` too.

    Args:
        opt_state: see :func:`get_learning_rate`.
        value: the new learning rate (float or scalar array).

    Returns:
        The new optimizer state.

    Raises:
        ValueError: if the state holds no injected learning rate.
        TypeError: if the learning rate is driven by a schedule (it would be
            overwritten at the next step).
    """

    def replace(node):
        schedule_states = getattr(node, "hyperparams_states", None) or {}
        if _LR in schedule_states:
            raise TypeError(
                "The learning rate is driven by a schedule; it cannot be set."
            )
        old = node.hyperparams[_LR]
        new = jnp.asarray(value, dtype=jnp.result_type(old)).reshape(
            jnp.shape(old)
        )
        return node._replace(hyperparams={**node.hyperparams, _LR: new})

    if _find_injected(opt_state) is None:
        raise ValueError(
            "This optimizer state has no injected learning rate (build the "
            "transformation with optax.inject_hyperparams)."
        )
    return _replace_injected(opt_state, replace)


__all__ = [
    "Optimizer", "OptaxOptimizer", "SGD", "Adam", "AdamW", "RMSprop",
    "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "schedules", "get",
    "get_learning_rate", "set_learning_rate", "valid_names",
]
