"""The ``hp`` object a build function receives: define-by-run hyperparameters.

A build function asks for values as it goes::

    def build(hp):
        n = hp.Int("hidden_layers", 1, 4)
        model = thawnet.Sequential([thawnet.layers.Input((8,))])
        for k in range(1, n + 1):
            model.add(Dense(hp.Int(f"units_{k}", 4, 64, step=4), activation="relu"))
        ...
        model.compile(optimizer=Adam(hp.Float("lr", 1e-4, 1e-1, log=True)), loss="mse")
        return model

A parameter that a trial never asks (``units_3`` when ``hidden_layers`` is 2) is neither
recorded in that trial's params nor seen by the sampler. ``conditional_scope`` says the same
thing explicitly: inside an inactive scope every ask returns the parameter's default and
records nothing.

The signatures are KerasTuner's (``min_value``, ``max_value``, ``step``,
``sampling="linear"/"log"/"reverse_log"``, ``default``, ``parent_name``, ``parent_values``),
so KerasTuner build functions run unchanged; ``log=True`` is thawnet's older spelling of
``sampling="log"``. ``HyperParameters()`` alone answers every ask with its default.

Where values come from is a *source*: an ``optuna.Trial`` during a search, a fixed dict when
the best model is rebuilt, a path through the grid while the grid is enumerated
(:mod:`thawnet.tuning.grid`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Iterator, Sequence

from thawnet.tuning.hp_sources import DefaultSource, FixedSource, OptunaSource, geometric
from thawnet.backend.types import TensorLike

__all__ = ["DefaultSource", "FixedSource", "HyperParameters", "OptunaSource", "ParamSpec"]

_PRIMITIVES = (bool, int, float, str, type(None))


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter's definition (what was asked, not its value).

    Attributes:
        kind: "int", "float", "choice" or "boolean".
        name: the parameter's name.
        low, high, step, log: the range of "int" / "float" parameters.
        reverse: KerasTuner's ``sampling="reverse_log"``: Optuna samples ``v`` on the log
            scale and the value is ``low + high - v`` (dense near ``high``).
        values: the options of "choice" / "boolean" parameters.
        default: the value returned where the parameter is inactive.
    """

    kind: str
    name: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    values: tuple = ()
    default: object = None
    reverse: bool = False

    def grid_values(self) -> list:
        """Every value of this parameter on a grid (needs ``step`` for floats).

        Returns:
            A list of values, in increasing order (options in their given order).
        """
        if self.kind in ("choice", "boolean"):
            return list(self.values)
        if self.kind == "int":
            if self.log:
                return list(range(int(self.low), int(self.high) + 1))
            return list(range(int(self.low), int(self.high) + 1, int(self.step)))
        if self.step is None:
            raise ValueError(
                f"grid search: Float({self.name!r}, {self.low}, {self.high}) has no step, so "
                "its grid is infinite; give step=... or use hp.Choice with the values to try.")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [float(round(self.low + k * self.step, 12)) for k in range(count)]


def _check_name(name):
    if not isinstance(name, str) or not name:
        raise TypeError(f"hyperparameter names must be non-empty strings; received {name!r}.")


def _check_range(kind, name, low, high, step, log):
    number = int if kind == "int" else (int, float)
    for label, value in (("min_value", low), ("max_value", high)):
        if isinstance(value, bool) or not isinstance(value, number):
            raise TypeError(f"hp.{kind.title()}({name!r}): {label} must be "
                            f"{'an int' if kind == 'int' else 'a number'}; received {value!r}.")
    if low > high:
        raise ValueError(f"hp.{kind.title()}({name!r}): min_value {low} is above max_value "
                         f"{high}; swap them.")
    if step is not None and not step > 0:
        raise ValueError(f"hp.{kind.title()}({name!r}): step must be positive; received "
                         f"{step!r}.")
    if log and low <= 0:
        raise ValueError(f"hp.{kind.title()}({name!r}, log=True): min_value must be > 0 for a "
                         f"log scale; received {low}.")
    if kind == "float" and log and step is not None:
        raise ValueError(f"hp.Float({name!r}): step and log=True cannot be combined; for a log "
                         f"grid use hp.Choice({name!r}, [1e-4, 1e-3, ...]).")
    if kind == "int" and log and step not in (None, 1):
        raise ValueError(f"hp.Int({name!r}): log=True needs step=1; received step={step}.")


class HyperParameters:
    """The hyperparameters of one trial: ask with ``Int``/``Float``/``Choice``/``Boolean``.

    Args:
        source: where values come from; an object with ``value(spec) -> value``. Use the
            constructors :meth:`from_trial`, :meth:`from_values` rather than passing it.
            None (KerasTuner's ``HyperParameters()``): every ask returns its default.

    Attributes:
        values: a dict of the values asked (and active) so far, in asking order.
        space: the :class:`ParamSpec` of each of them.
    """

    def __init__(self, source: Any = None) -> None:
        self._source = DefaultSource() if source is None else source
        self.values = {}
        self.space = {}
        self.fixed = {}
        self.conditions = {}  # name -> [(parent, parent values)] active when it was asked
        self._conditions = []

    @classmethod
    def from_trial(cls, trial: Any) -> HyperParameters:
        """Values suggested by an ``optuna.Trial`` (define-by-run)."""
        return cls(OptunaSource(trial))

    @classmethod
    def from_values(cls, values: TensorLike, strict: bool = True) -> HyperParameters:
        """Values from a dict (a finished trial's params), e.g. to rebuild the best model.

        Args:
            values: {name: value}.
            strict: raise if a parameter is asked that ``values`` lacks; otherwise use its
                default.
        """
        return cls(FixedSource(values, strict))

    # -- asking ------------------------------------------------------------------------------
    def Int(self, name: str | None, min_value: float, max_value: float | None,
            step: int | None = None, sampling: str | None = None, default: Any = None,
            parent_name: str | None = None, parent_values: Sequence[Any] | None = None, *,
            log: bool = False) -> Any:
        """An integer in ``[min_value, max_value]`` (both included), KerasTuner's signature.

        Args:
            name: the parameter's name (unique in the search space).
            min_value, max_value: the range.
            step: spacing of the allowed values (default 1); with ``sampling="log"`` a
                factor (KerasTuner: ``min_value * step**k``).
            sampling: "linear" (default), "log" or "reverse_log" (denser near
                ``max_value``).
            default: the value where the parameter is inactive (default ``min_value``).
            parent_name, parent_values: active only when that parameter's value is one of
                these (a one-parameter :meth:`conditional_scope`).
            log: thawnet's older spelling of ``sampling="log"`` (needs step 1).

        Returns:
            The trial's value (an int).
        """
        return self._ranged("int", name, min_value, max_value, step, sampling, default,
                            parent_name, parent_values, log)

    def Float(self, name: str | None, min_value: float, max_value: float | None,
              step: int | None = None, sampling: str | None = None, default: Any = None,
              parent_name: str | None = None, parent_values: Sequence[Any] | None = None, *,
              log: bool = False) -> Any:
        """A float in ``[min_value, max_value]``, KerasTuner's signature.

        Args:
            name: the parameter's name.
            min_value, max_value: the range.
            step: optional spacing (a discrete range; required by grid search); with
                ``sampling="log"`` a factor, as in KerasTuner.
            sampling: "linear" (default), "log" or "reverse_log".
            default: the value where the parameter is inactive (default ``min_value``).
            parent_name, parent_values: as in :meth:`Int`.
            log: thawnet's older spelling of ``sampling="log"`` (not with ``step``).

        Returns:
            The trial's value (a float).
        """
        return self._ranged("float", name, min_value, max_value, step, sampling, default,
                            parent_name, parent_values, log)

    def _ranged(self, kind, name, low, high, step, sampling, default, parent_name,
                parent_values, log):
        _check_name(name)
        if isinstance(sampling, bool):  # Int(name, lo, hi, step, True): the old log flag
            sampling, log = None, sampling
        if sampling not in (None, "linear", "log", "reverse_log"):
            raise ValueError(f"hp.{kind.title()}({name!r}): sampling must be 'linear', 'log' or "
                             f"'reverse_log'; received sampling={sampling!r}.")
        keras_log = sampling in ("log", "reverse_log")
        _check_range(kind, name, low, high, None if keras_log else step, log or keras_log)
        with self._parent(parent_name, parent_values):
            if keras_log and step is not None:
                # KerasTuner's log step is a factor: the options are min_value * step**k.
                return self.Choice(name, geometric(kind, name, low, high, step, sampling),
                                   default=default, ordered=True)
            cast = int if kind == "int" else float
            spec = ParamSpec(kind, name, cast(low), cast(high),
                             (step or 1) if kind == "int" else (None if step is None
                                                                 else float(step)),
                             bool(log or keras_log), default=cast(low) if default is None
                             else default, reverse=sampling == "reverse_log")
            return self._ask(spec)

    def Choice(self, name: str | None, values: TensorLike, ordered: Any = None, default: Any = None,
               parent_name: str | None = None, parent_values: Sequence[Any] | None = None) -> Any:
        """One of ``values`` (bools, ints, floats, strings or None).

        Args:
            name: the parameter's name.
            values: a non-empty list of distinct options.
            ordered: accepted for KerasTuner (Optuna treats the options as categories).
            default: the value where the parameter is inactive (default ``values[0]``).
            parent_name, parent_values: as in :meth:`Int`.

        Returns:
            The chosen option.
        """
        _check_name(name)
        values = tuple(values) if not isinstance(values, str) else (values,)
        if not values:
            raise ValueError(f"hp.Choice({name!r}): values is empty; give at least one option.")
        bad = [v for v in values if not isinstance(v, _PRIMITIVES)]
        if bad:
            raise TypeError(f"hp.Choice({name!r}): options must be bool, int, float, str or "
                            f"None (they are stored in the study); received {bad[0]!r}. Choose "
                            "a name and map it to the object in the build function.")
        if len(set(values)) != len(values):
            raise ValueError(f"hp.Choice({name!r}): options must be distinct; received "
                             f"{list(values)}.")
        if default is not None and default not in values:
            raise ValueError(f"hp.Choice({name!r}): default {default!r} is not one of "
                             f"{list(values)}.")
        spec = ParamSpec("choice", name, values=values,
                         default=values[0] if default is None else default)
        with self._parent(parent_name, parent_values):
            return self._ask(spec)

    def Boolean(self, name: str | None, default: bool = False, parent_name: str | None = None,
                parent_values: Sequence[Any] | None = None) -> Any:
        """True or False.

        Args:
            name: the parameter's name.
            default: the value where the parameter is inactive.
            parent_name, parent_values: as in :meth:`Int`.

        Returns:
            The trial's value (a bool).
        """
        _check_name(name)
        with self._parent(parent_name, parent_values):
            return self._ask(ParamSpec("boolean", name, values=(False, True),
                                       default=bool(default)))

    def Fixed(self, name: str | None, value: Any, parent_name: str | None = None,
              parent_values: Sequence[Any] | None = None) -> Any:
        """A constant: returned as is and recorded in ``fixed`` (not searched).

        Returns:
            ``value``.
        """
        _check_name(name)
        with self._parent(parent_name, parent_values):
            if self._active():
                self.fixed[name] = value
        return value

    def _parent(self, parent_name, parent_values):
        if parent_name is None:
            return contextlib.nullcontext()
        if parent_values is None:
            raise ValueError(f"parent_name={parent_name!r} needs parent_values=[...]: the "
                             "parent's values for which this parameter is active.")
        return self.conditional_scope(parent_name, parent_values)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str | None, parent_values: Sequence[Any] | None
            ) -> Iterator[Any]:
        """Parameters asked inside are active only when ``parent_name``'s value is in
        ``parent_values``; where inactive, asks return defaults and record nothing.

        Args:
            parent_name: a parameter asked before the scope.
            parent_values: a value or list of values of the parent that activate the scope.
        """
        if parent_name not in self.values and self._active():
            raise ValueError(
                f"conditional_scope({parent_name!r}, ...): {parent_name!r} has not been asked "
                f"in this trial (asked so far: {sorted(self.values) or 'none'}); ask for it "
                "(e.g. hp.Int(...)) before opening the scope.")
        if isinstance(parent_values, (list, tuple, set, frozenset, range)):
            parent_values = tuple(parent_values)
        else:
            parent_values = (parent_values,)
        self._conditions.append((parent_name, parent_values))
        try:
            yield
        finally:
            self._conditions.pop()

    def is_active(self) -> bool:
        """Whether parameters asked here (in the current scopes) are active."""
        return self._active()

    # -- reading ------------------------------------------------------------------------------
    def get(self, name: str | None) -> Any:
        """The value of a parameter asked earlier in this trial.

        Raises:
            KeyError: naming the parameters that were asked.
        """
        if name in self.values:
            return self.values[name]
        if name in self.fixed:
            return self.fixed[name]
        raise KeyError(f"hyperparameter {name!r} has not been asked in this trial; asked: "
                       f"{sorted(self.values) or 'none'}.")

    def __getitem__(self, name):
        return self.get(name)

    def __contains__(self, name):
        return name in self.values or name in self.fixed

    def __repr__(self):
        return f"HyperParameters({self.values!r})"

    # -- internals ----------------------------------------------------------------------------
    def _active(self):
        for parent, allowed in self._conditions:
            if parent not in self.values or self.values[parent] not in allowed:
                return False
        return True

    def _ask(self, spec):
        if not self._active():
            return spec.default
        previous = self.space.get(spec.name)
        if previous is not None:
            if dataclasses.replace(previous, default=None) != dataclasses.replace(spec,
                                                                                 default=None):
                raise ValueError(
                    f"hyperparameter {spec.name!r} was asked twice in one trial with different "
                    f"definitions: {previous} then {spec}; give each parameter one definition "
                    "(or distinct names).")
            return self.values[spec.name]
        value = self._source.value(spec)
        self.conditions[spec.name] = list(self._conditions)
        self.space[spec.name] = spec
        self.values[spec.name] = value
        return value
