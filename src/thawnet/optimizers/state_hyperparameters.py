"""How an optimizer reads and writes its state hyperparameters (mixed into ``Optimizer``).

The configured values (floats, a schedule, None) live in ``optimizer._hyper``. Once
``Model.compile`` attaches the optimizer to a model, the values the compiled step uses live
in that model's Optax state (``optax.inject_hyperparams``): reading
``optimizer.learning_rate`` takes the value from there, assigning writes both places, and
the next step runs with it without recompiling. Before the first step, the state is created
from the configured values (``to_optax()``'s ``init`` reads them when it runs).
"""

from __future__ import annotations

import weakref
from typing import Any

import jax
import numpy as np

from thawnet.optimizers.injected_state import (get_hyperparameter, schedule_step,
                                               set_hyperparameter)

# Hyperparameters whose zero value means "no such term" in the step (no optax
# transformation for it), so they are injected only when configured non-zero.
_STRUCTURAL = ("weight_decay", "momentum")
_COMPLEMENT = "one_minus_"


class StateHyperparameters:
    """Configured values, their place in a model's optimizer state, and the bridge."""

    # Names of the state hyperparameters beyond learning_rate and weight_decay.
    state_hyperparameters = ()
    # Of those, the ones whose ``1 - value`` the rule needs: kept in the state next to them
    # as ``one_minus_<name>``, computed in double precision (see transforms._moment).
    complemented = ()

    def _hyperparameter_config(self, name):
        """The configured value of ``name`` (float, schedule or None)."""
        if name.startswith(_COMPLEMENT):
            value = self._hyperparameter_config(name[len(_COMPLEMENT):])
            return None if value is None else 1.0 - value
        return self.__dict__.get("_hyper", {}).get(name)

    def _state_may_hold(self, name):
        return False

    def _injectable(self, name, value):
        """Whether ``name`` (configured as ``value``) goes into the state. A term
        that is absent (no weight decay, no momentum) stays out: it changes the
        structure of the step, not just a number."""
        return value is not None and (name not in _STRUCTURAL or value != 0)

    def _injected_names(self):
        names = ("learning_rate", "weight_decay") + tuple(self.state_hyperparameters)
        names = tuple(n for n in names
                      if self._injectable(n, self._hyperparameter_config(n)))
        return names + tuple(_COMPLEMENT + n for n in self.complemented if n in names)

    def _hp(self, name):
        """The value of ``name`` in the step being built: the injected (traced)
        scalar inside ``to_optax()``'s factory, the configured value otherwise."""
        tracing = self.__dict__.get("_tracing") or {}
        return tracing[name] if name in tracing else self._hyperparameter_config(name)

    def _has_term(self, name):
        """Whether the step being built has the (structural) term ``name``."""
        tracing = self.__dict__.get("_tracing")
        if tracing is not None:
            return name in tracing
        return self._injectable(name, self._hyperparameter_config(name))

    def _attach(self, owner):
        """Called by ``Model.compile``: the model holds this optimizer's state."""
        self._owner = weakref.ref(owner)

    def _owner_model(self):
        ref = self.__dict__.get("_owner")
        return None if ref is None else ref()

    def _live_state(self, ensure=False):
        owner = self._owner_model()
        if owner is None:
            return None
        return owner._current_opt_state(ensure=ensure)

    def _read_hyperparameter(self, name):
        """The current value of ``name`` (float32): from the model's optimizer
        state once there is one, else the configured value. A schedule gives
        its rate for the next step (the step count is in the state)."""
        config = self._hyperparameter_config(name)
        state = self._live_state()
        if state is not None and name in (self.__dict__.get("_compiled_names") or ()):
            if callable(config):
                return np.float32(config(jax.device_get(schedule_step(state, name))))
            return np.float32(jax.device_get(get_hyperparameter(state, name)))
        if callable(config):
            return np.float32(config(0))
        if config is None:
            raise ValueError(f"{type(self).__name__} has no {name}.")
        return np.float32(config)

    def _write_hyperparameter(self, name, value):
        """Store ``value`` (already checked) as the configured value and, once
        compiled into a model, in its optimizer state."""
        hyper = self.__dict__.setdefault("_hyper", {})
        compiled = self.__dict__.get("_compiled_names")
        old = hyper.get(name)
        if compiled is not None and self._owner_model() is not None:
            who = f"{type(self).__name__}.{name}"
            if callable(old) and not callable(value):
                raise TypeError(
                    f"{who} is driven by the schedule {type(old).__name__} given to "
                    "the constructor; it cannot be set. Pass a float learning_rate to "
                    f"the constructor to set it between steps; received {value!r}.")
            if callable(value) and not callable(old):
                raise TypeError(
                    f"{who}: a schedule can only be given before compile(); create "
                    f"the optimizer with learning_rate={type(value).__name__}(...) "
                    "and compile again.")
            if name not in compiled and value != old:
                raise TypeError(
                    f"{who} was {old!r} when the model was compiled, so the compiled "
                    f"step has no {name} term; received {name}={value!r}. Pass "
                    f"{name}={value!r} to the constructor and compile again.")
        hyper[name] = value
        owner = self._owner_model()
        if owner is not None and compiled is not None and name in compiled \
                and not callable(value):
            owner._update_opt_state(
                lambda state, place: set_hyperparameter(state, name, value, place))
            if name in self.complemented:
                owner._update_opt_state(lambda state, place: set_hyperparameter(
                    state, _COMPLEMENT + name, 1.0 - value, place))

    def config_value(self, name: str | None) -> Any:
        """The current value of hyperparameter ``name`` as a Python float (None
        when unset); for configs and files."""
        config = self._hyperparameter_config(name)
        if config is None or callable(config):
            return config
        current = self._read_hyperparameter(name)
        # The state holds float32: keep the configured double when it is that number.
        return config if np.float32(config) == current else float(current)

    @property
    def learning_rate_schedule(self) -> Any:
        """The schedule driving the learning rate, or None for a constant rate."""
        config = self._hyperparameter_config("learning_rate")
        return config if callable(config) else None

