"""Weight constraints: projections applied to a weight after every optimizer step.

A constraint is a callable ``w -> w'`` (the projected value, same shape and dtype). Layers take
them by name (``kernel_constraint="non_neg"``), by object (``MaxNorm(2.0)``) or by config dict;
the layer resolves the argument with :func:`get` and stores it on the weight's
:class:`~thawnet.variables.Variable`. The compiled training step then maps each trainable
weight through its constraint right after the update (see ``training/steps.py``). A frozen
weight is not updated, so its constraint is never applied and it keeps its exact bits.

Norm-based constraints compute ``norms = sqrt(sum(w**2, axis, keepdims=True))`` over ``axis``
(default 0: for a Dense kernel ``(in, out)``, the incoming weights of each unit) and rescale
``w`` by ``desired / (eps + norms)`` with ``eps = 1e-7``, as Keras does.

>>> import numpy as np
>>> from thawnet import constraints
>>> [float(v) for v in constraints.get("non_neg")(np.array([-1.0, 2.0]))]
[0.0, 2.0]
"""

from __future__ import annotations

from typing import Any, Callable

import jax.numpy as jnp

from thawnet.backend.identifiers import IdentifierKind
from thawnet.backend.types import Array, Axis, Config, TensorLike

# Keras's backend.epsilon(): keeps the rescaling finite for an all-zero weight vector.
_EPSILON = 1e-7


class Constraint:
    """Base class of weight constraints; subclass it and override ``__call__``.

    ``__call__(w)`` returns the projected weight; the base class returns ``w`` unchanged.
    ``get_config()`` returns the constructor arguments, so ``cls(**get_config())`` rebuilds it.

    >>> import jax.numpy as jnp
    >>> class Clip(Constraint):
    ...     def __init__(self, limit=1.0):
    ...         self.limit = limit
    ...     def __call__(self, w):
    ...         return jnp.clip(w, -self.limit, self.limit)
    ...     def get_config(self):
    ...         return {"limit": self.limit}
    >>> [float(v) for v in Clip(0.5)(jnp.array([-2.0, 0.25]))]
    [-0.5, 0.25]
    """

    def __call__(self, w: TensorLike) -> Array:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Constraint":
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _norms(w, axis):
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


def _axis(axis):
    # Keras stores axis as given (an int or a list); JAX needs an int or a tuple.
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


class MaxNorm(Constraint):
    """Rescale each weight vector along ``axis`` whose L2 norm exceeds ``max_value``.

    ``w * clip(norms, 0, max_value) / (eps + norms)``.

    Args:
        max_value: the largest norm allowed (default 2).
        axis: int or list of ints, the axes the norm is taken over (default 0; for a Conv2D
            kernel ``(kh, kw, in, out)`` use ``[0, 1, 2]`` for one norm per filter).
    """

    def __init__(self, max_value: int = 2, axis: Axis = 0) -> None:
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: TensorLike) -> Array:
        w = jnp.asarray(w)
        norms = _norms(w, _axis(self.axis))
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> Config:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clip negative entries to zero: ``maximum(w, 0)``."""

    def __call__(self, w: TensorLike) -> Array:
        return jnp.maximum(jnp.asarray(w), 0)


class UnitNorm(Constraint):
    """Rescale each weight vector along ``axis`` to unit L2 norm: ``w / (eps + norms)``.

    Args:
        axis: int or list of ints, the axes the norm is taken over (default 0).
    """

    def __init__(self, axis: Axis = 0) -> None:
        self.axis = axis

    def __call__(self, w: TensorLike) -> Array:
        w = jnp.asarray(w)
        return w / (_EPSILON + _norms(w, _axis(self.axis)))

    def get_config(self) -> Config:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each weight vector's L2 norm into ``[min_value, max_value]`` at speed ``rate``.

    ``desired = rate * clip(norms, min_value, max_value) + (1 - rate) * norms`` and the result
    is ``w * desired / (eps + norms)``; ``rate=1`` enforces the bounds strictly.

    Args:
        min_value: the smallest norm (default 0).
        max_value: the largest norm (default 1).
        rate: float in [0, 1], how far to move towards the bounds in one projection.
        axis: int or list of ints, the axes the norm is taken over (default 0).
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: Axis = 0) -> None:
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w: TensorLike) -> Array:
        w = jnp.asarray(w)
        norms = _norms(w, _axis(self.axis))
        desired = (self.rate * jnp.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> Config:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras's names: the class names and their snake-case forms ("max_norm", "non_neg", ...).
_CLASSES = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_BY_NAME = {**_CLASSES, "constraint": Constraint, "max_norm": MaxNorm,
            "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm}

# Keras 3 also exports the lowercase aliases as names of the classes.
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm


def deserialize(config: dict, custom_objects: dict | None = None, where: str = ""
                ) -> Constraint:
    """A constraint from ``{"class_name": ..., "config": {...}}`` (Keras's extra keys
    ``module`` and ``registered_name`` are accepted).

    Args:
        config: the dict written by :func:`serialize` or by Keras.
        custom_objects: ``{class_name: Constraint subclass}`` for your own classes.
        where: prefix for error messages (e.g. ``'Dense "dense_1": kernel_constraint: '``).

    Returns:
        A new constraint object.
    """
    return _KIND.deserialize(config, where, custom_objects)


def get(identifier: Any, where: str = "", custom_objects: dict | None = None
        ) -> Callable | None:
    """Resolve a constraint argument: None, a name, a config dict, a class, or a callable.

    Args:
        identifier: ``None``; a Keras name (``"non_neg"``, ``"NonNeg"``, ``"max_norm"`` ...);
            a dict from :func:`serialize`; a Constraint subclass (instantiated with its
            defaults); a Constraint object or any callable ``w -> w``.
        where: prefix naming the layer and argument in error messages.
        custom_objects: ``{class_name: Constraint subclass}`` for config dicts.

    Returns:
        The callable constraint, or None.

    Raises:
        ValueError: an unknown name, or a value that is not a constraint.
    """
    return _KIND.get(identifier, where, custom_objects)


_KIND = IdentifierKind("constraint", by_name=lambda name: _BY_NAME[name]() if name in _BY_NAME
                       else None, class_named=_BY_NAME.get, known=lambda: _BY_NAME,
                       base=(Constraint,))


def serialize(constraint: Any) -> dict | None:
    """``{"class_name": ..., "config": ...}`` for a Constraint object; None for None.

    Raises:
        ValueError: a plain function, which has no config to write; use a Constraint subclass.
    """
    if constraint is None:
        return None
    if isinstance(constraint, Constraint):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    raise ValueError(f"cannot serialize constraint {constraint!r}: only Constraint objects have "
                     "a config. Subclass thawnet.constraints.Constraint and give it get_config().")


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "get", "serialize", "deserialize"]
