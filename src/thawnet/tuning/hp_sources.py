"""Where a trial's hyperparameter values come from: an Optuna trial, a dict, the defaults."""

from __future__ import annotations


class OptunaSource:
    """Values suggested by an ``optuna.Trial``."""

    def __init__(self, trial):
        self.trial = trial

    def value(self, spec):
        """The trial's value for ``spec`` (a ``trial.suggest_*`` call)."""
        t = self.trial
        if spec.kind == "int":
            value = t.suggest_int(spec.name, int(spec.low), int(spec.high),
                                  step=int(spec.step), log=spec.log)
        elif spec.kind == "float":
            value = t.suggest_float(spec.name, spec.low, spec.high, step=spec.step,
                                    log=spec.log)
        else:
            return t.suggest_categorical(spec.name, list(spec.values))
        # The study stores what Optuna sampled; the trial's "hyperparameters" user attribute
        # (and hp.values) hold the value the build function saw.
        return type(value)(spec.low + spec.high - value) if spec.reverse else value


class DefaultSource:
    """Every parameter at its default (a build function tried outside a search)."""

    def value(self, spec):
        """``spec.default``."""
        return spec.default


def geometric(kind, name, low, high, factor, sampling):
    """KerasTuner's log-scale steps: ``low * factor**k`` up to ``high`` (mirrored for
    reverse_log)."""
    if not factor > 1:
        raise ValueError(f"hp.{kind.title()}({name!r}, sampling={sampling!r}): step is a "
                         f"factor on a log scale and must be > 1; received step={factor!r}.")
    values, value = [], low
    while value <= high * (1 + 1e-9):
        values.append(int(round(value)) if kind == "int" else float(value))
        value *= factor
    if sampling == "reverse_log":
        values = [type(v)(low + high - v) for v in reversed(values)]
    return list(dict.fromkeys(values))


class FixedSource:
    """Values read from a dict (a finished trial's params)."""

    def __init__(self, values, strict=True):
        self.given = dict(values)
        self.strict = strict

    def value(self, spec):
        """``given[spec.name]``; the default (or an error when strict) where it is missing."""
        if spec.name in self.given:
            return self.given[spec.name]
        if self.strict:
            raise KeyError(
                f"hyperparameter {spec.name!r} is not in the given values "
                f"({sorted(self.given) or 'none'}): the build function asks for a parameter the "
                "recorded trial never had; was the build function changed since the search?")
        return spec.default
