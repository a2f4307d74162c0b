"""Hyperparameters that live in the optimizer state, read and assigned like Keras variables.

Keras exposes ``optimizer.learning_rate`` as a variable: a callback may write
``self.model.optimizer.learning_rate = 0.01`` (or ``.assign(0.01)``) and the
next step uses it. thawnet keeps these values in the Optax state
(``optax.inject_hyperparams``), never as constants of the compiled step, so an
assignment replaces one scalar of the state and the step runs again without
recompiling.

:class:`StateHyperparameter` is the class attribute (a descriptor) that makes
``optimizer.beta_1`` such a value; reading it gives a
:class:`HyperparameterValue`, a small variable-like handle whose value is read
from the state each time::

    >>> from thawnet import optimizers
    >>> opt = optimizers.SGD(learning_rate=0.1)
    >>> round(float(opt.learning_rate), 6)  # float32, as a Keras variable
    0.1
    >>> opt.learning_rate = 0.05
    >>> round(float(opt.learning_rate.numpy()), 4)
    0.05
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np


class HyperparameterValue:
    """A variable-like handle on one hyperparameter of an optimizer.

    The value is read when used (``float(h)``, ``h.numpy()``, ``h * 2``,
    ``np.array(h)``), so a handle kept by a callback always shows the current
    rate; for a schedule it is the rate of the next step.

    Args:
        optimizer: the owning optimizer.
        name: the hyperparameter (``"learning_rate"``, ``"beta_1"``, ...).
    """

    __slots__ = ("_optimizer", "name")
    shape = ()
    dtype = "float32"
    trainable = False

    def __init__(self, optimizer: Any, name: str) -> None:
        self._optimizer = optimizer
        self.name = name

    @property
    def path(self) -> str:
        """``"<optimizer name>/<hyperparameter>"``, as Keras names the variable."""
        return f"{self._optimizer.name}/{self.name}"

    @property
    def value(self) -> np.float32:
        """The current value, a NumPy float32 scalar."""
        return self._optimizer._read_hyperparameter(self.name)

    def numpy(self) -> np.float32:
        """The current value, a NumPy float32 scalar."""
        return self.value

    def assign(self, value: Any) -> "HyperparameterValue":
        """Set the value used from the next step on; returns this handle.

        Args:
            value: a number (or scalar array, or another handle).

        Returns:
            This handle.
        """
        setattr(self._optimizer, self.name, value)  # checked like `opt.name = value`
        return self

    def __float__(self) -> float:
        return float(self.value)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __format__(self, spec: str) -> str:
        return format(float(self), spec)

    def __repr__(self) -> str:
        return f"<HyperparameterValue path={self.path} value={float(self)!r}>"

    __hash__ = object.__hash__


def _binary(op: Callable, reflected: bool = False):
    def method(self, other):
        other = other.value if isinstance(other, HyperparameterValue) else other
        return op(other, self.value) if reflected else op(self.value, other)
    return method


for _name, _op in (("add", operator.add), ("sub", operator.sub),
                   ("mul", operator.mul), ("truediv", operator.truediv),
                   ("floordiv", operator.floordiv), ("pow", operator.pow),
                   ("mod", operator.mod)):
    setattr(HyperparameterValue, f"__{_name}__", _binary(_op))
    setattr(HyperparameterValue, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in (("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                   ("ge", operator.ge), ("eq", operator.eq), ("ne", operator.ne)):
    setattr(HyperparameterValue, f"__{_name}__", _binary(_op))
HyperparameterValue.__neg__ = lambda self: -self.value
HyperparameterValue.__abs__ = lambda self: abs(self.value)


class StateHyperparameter:
    """Class attribute making ``optimizer.<name>`` a state-backed hyperparameter.

    Reading gives a :class:`HyperparameterValue` (None while the configured
    value is None, e.g. no ``weight_decay``); assigning validates the value
    with ``check`` and stores it in the configuration and, once the optimizer
    is compiled into a model, in the optimizer state.

    Args:
        check: optional ``check(optimizer, value) -> value`` raising on a bad
            value (the learning rate must be ``>= 0``).
    """

    def __init__(self, check: Callable | None = None) -> None:
        self.check = check
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, optimizer, objtype=None):
        if optimizer is None:
            return self
        if optimizer._hyperparameter_config(self.name) is None and not \
                optimizer._state_may_hold(self.name):
            return None
        return HyperparameterValue(optimizer, self.name)

    def __set__(self, optimizer, value):
        if isinstance(value, HyperparameterValue):
            value = value.value
        if isinstance(value, np.ndarray) or type(value).__module__.startswith("jax"):
            value = float(np.asarray(value))  # a scalar array: keep it a Python number
        if self.check is not None:
            value = self.check(optimizer, value)
        optimizer._write_hyperparameter(self.name, value)
