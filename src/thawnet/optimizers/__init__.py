"""Keras-style optimizers compiled to optax, plus learning-rate helpers.

``Optimizer.to_optax()`` gives an ``optax.GradientTransformation`` whose
updates are added to the params. Params and gradients given to it are dicts
``{path: array}`` of the trainable weights only (so weight decay only
touches trainable weights).

The learning rate (and ``beta_1``, ``weight_decay``, ...) lives in the
optimizer state (``optax.inject_hyperparams``) and can be read or replaced
between steps without recompiling, on a state::

    lr = get_learning_rate(opt_state)
    opt_state = set_learning_rate(opt_state, lr * 0.1)

or, once the optimizer is compiled into a model, on the optimizer, as in
Keras: ``model.optimizer.learning_rate = 0.01`` (see ``hyperparameters.py``).
"""

from __future__ import annotations

from typing import Any

import optax

from thawnet.optimizers import schedules
from thawnet.optimizers.adam import Adam, Adamax, AdamW, Nadam
from thawnet.optimizers.base import Optimizer, OptaxOptimizer
from thawnet.optimizers.classic import SGD, Adadelta, Adagrad, Lion, RMSprop
from thawnet.optimizers.hyperparameters import HyperparameterValue, StateHyperparameter
from thawnet.optimizers.injected_state import get_hyperparameter, set_hyperparameter
from thawnet.optimizers.loss_scale_optimizer import LossScaleOptimizer
from thawnet.backend.identifiers import IdentifierKind
from thawnet.backend.types import Identifier, PyTree

_BY_NAME = {cls.__name__.lower(): cls for cls in (
    SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion,
)}
_LR = "learning_rate"


def valid_names() -> list[str]:
    """Returns the sorted optimizer names accepted by :func:`get`."""
    return sorted(_BY_NAME)


def _optimizer_named(name):
    cls = _BY_NAME.get(name.lower())  # names are case-insensitive ("Adam", "adam")
    return cls() if cls is not None else None


def _optimizer_class(name):
    # LossScaleOptimizer is found by class (in configs), not by name: it needs an inner one.
    if str(name).lower() == "lossscaleoptimizer":
        return LossScaleOptimizer
    return _BY_NAME.get(str(name).lower())


def _not_an_optimizer(fn):
    raise ValueError(f"could not interpret optimizer {fn!r}: pass a name (known: "
                     f"{valid_names()}), an Optimizer or an optax.GradientTransformation.")


_KIND = IdentifierKind("optimizer", by_name=_optimizer_named, class_named=_optimizer_class,
                       known=valid_names, base=(Optimizer,), wrap=_not_an_optimizer)


def get(identifier: Identifier) -> Optimizer:
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
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    return _KIND.get(identifier)


LossScaleOptimizer.resolve_inner = staticmethod(get)  # inner optimizers given by name/config


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Optimizer:
    """The optimizer a config dict ``{"class_name": ..., "config": {...}}`` describes, resolved
    as :func:`get` resolves one (``custom_objects`` first)."""
    return _KIND.deserialize(config, custom_objects=custom_objects)

def get_learning_rate(opt_state: PyTree) -> Any:
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
    return get_hyperparameter(opt_state, _LR)


def set_learning_rate(opt_state: PyTree, value: Any) -> Any:
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
    return set_hyperparameter(opt_state, _LR, value)


__all__ = [
    "Optimizer", "OptaxOptimizer", "SGD", "Adam", "AdamW", "RMSprop",
    "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "schedules", "get", "deserialize",
    "get_learning_rate", "set_learning_rate", "get_hyperparameter",
    "set_hyperparameter", "HyperparameterValue", "StateHyperparameter",
    "valid_names", "LossScaleOptimizer",
]
