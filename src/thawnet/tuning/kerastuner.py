"""KerasTuner's names and signatures on Optuna: ``import thawnet.tuning as kt``.

    tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=3,
                            executions_per_trial=2, overwrite=True, directory="my_dir",
                            project_name="helloworld")
    tuner.search_space_summary()
    tuner.search(x, y, epochs=2, validation_data=(x_val, y_val))
    best_model = tuner.get_best_models(num_models=2)[0]
    best_hps = tuner.get_best_hyperparameters(5)

How each KerasTuner tuner maps onto Optuna:

=======================  =================================================================
KerasTuner               Optuna
=======================  =================================================================
RandomSearch             ``RandomSampler(seed)``, no pruner
BayesianOptimization     ``TPESampler(seed, n_startup_trials=num_initial_points or 10)``
                         (Optuna's GP sampler needs PyTorch; pass ``sampler=`` to choose it)
Hyperband                ``RandomSampler(seed)`` + ``HyperbandPruner(min_resource=1,
                         max_resource=max_epochs, reduction_factor=factor)``; every trial is
                         fitted for up to ``max_epochs`` and the pruner stops it at its
                         bracket's rungs; trials = KerasTuner's bracket sizes summed
                         (times ``hyperband_iterations``)
GridSearch               every configuration queued in the study (conditional ones
                         included), then run in order
=======================  =================================================================

``directory/project_name`` holds the study (``<project_name>.db``, SQLite) and the trials'
weights; a search whose study exists resumes it and never repeats a finished trial
(``overwrite=True`` deletes it first). ``storage=`` takes any Optuna storage URL
(PostgreSQL for workers on many machines); ``optuna-dashboard <storage URL>`` shows the study
live, each trial with its ``hyperparameters``, ``epochs`` and objective user attributes.
"""

from __future__ import annotations

import math
import os
import shutil
from typing import Any

import optuna

import thawnet
from thawnet.tuning import storage as storage_lib
from thawnet.tuning.hp_summary import results_text, space_text
from thawnet.tuning.hyperparameters import HyperParameters
from thawnet.tuning.tuner import Tuner, infer_direction
from thawnet.backend.types import PathLike, SeedLike

_FIT_ORDER = ("x", "y", "batch_size", "epochs", "verbose", "callbacks", "validation_split",
              "validation_data")


class Objective:
    """What a search optimises: a logged metric's name and ``"min"`` or ``"max"``.

    Args:
        name: the log key, e.g. ``"val_auc"``.
        direction: ``"min"`` or ``"max"`` (``"minimize"`` / ``"maximize"`` too).
    """

    def __init__(self, name: str, direction: str) -> None:
        words = {"min": "minimize", "max": "maximize", "minimize": "minimize",
                 "maximize": "maximize"}
        if direction not in words:
            raise ValueError(f'Objective({name!r}): direction must be "min" or "max"; '
                             f"received direction={direction!r}.")
        self.name, self.direction = name, direction[:3]
        self.optuna_direction = words[direction]

    def __repr__(self):
        return f'Objective(name="{self.name}", direction="{self.direction}")'

    def __eq__(self, other):
        return (isinstance(other, Objective) and (self.name, self.direction)
                == (other.name, other.direction))


class HyperModel:
    """A searchable model as a class: override ``build(hp)`` and optionally ``fit``.

    Args:
        name: optional name. tunable: accepted for KerasTuner.
    """

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        self.name, self.tunable = name, tunable

    def build(self, hp: Any) -> None:
        """Return a compiled model for the hyperparameters ``hp``."""
        raise NotImplementedError(f"{type(self).__name__}.build(hp) is not implemented; a "
                                  "HyperModel subclass returns a compiled model from build.")

    def fit(self, hp: Any, model: Any, *args, **kwargs) -> Any:
        """Train ``model`` (``model.fit(*args, **kwargs)``); may ask ``hp`` for more values
        (a batch size...). Return the History, or the objective's value (float or dict)."""
        return model.fit(*args, **kwargs)


class _FunctionHyperModel(HyperModel):
    """A build function seen as a HyperModel (``tuner.hypermodel.build(hp)``)."""

    def __init__(self, build_fn):
        super().__init__(getattr(build_fn, "__name__", None))
        self.build = build_fn


def _objective(objective):
    if isinstance(objective, (list, tuple)):
        if len(objective) != 1:
            raise ValueError(f"objective: thawnet searches optimise one objective; received "
                             f"{len(objective)} ({objective!r}). Pick one, or combine them in "
                             "a metric of their own.")
        objective = objective[0]
    if isinstance(objective, Objective):
        return objective.name, objective.optuna_direction
    if isinstance(objective, str):
        return objective, infer_direction(objective)
    raise TypeError(f'objective must be a metric name ("val_accuracy") or '
                    f"kt.Objective(name, direction); received {objective!r}.")


def hyperband_trials(max_epochs: int, factor: int, iterations: int = 1) -> int:
    """How many configurations KerasTuner's Hyperband starts: the first-round size of each
    bracket (brackets for ``max_epochs / factor**k >= 1``), times ``iterations``."""
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    return iterations * sum(math.ceil(end_size / (b + 1) * factor ** b)
                            for b in range(brackets))


class KerasTunerSearch(Tuner):
    """The shared base of the KerasTuner-style tuners (see the module docstring).

    Args are KerasTuner's: ``hypermodel`` (a build function or :class:`HyperModel`),
    ``objective``, ``max_trials``, ``seed``, ``executions_per_trial``, ``directory``,
    ``project_name``, ``overwrite``, ``max_consecutive_failed_trials``; plus thawnet's
    ``storage`` (an Optuna storage URL), ``sampler`` and ``pruner`` (Optuna objects override
    the mapping).
    """

    _sampler = "random"
    _pruner = None

    def __init__(self, hypermodel: Any = None, objective: str | Any | None = None,
                 max_trials: int = 10, seed: SeedLike = None, hyperparameters: Any = None,
                 tune_new_entries: bool = True, allow_new_entries: bool = True,
                 max_retries_per_trial: int = 0, max_consecutive_failed_trials: int = 3,
                 directory: PathLike | None = None, project_name: Any = None,
                 overwrite: bool = False, executions_per_trial: int = 1, storage: Any = None,
                 sampler: Any = None, pruner: Any = None, compile_cache: bool = True, **kwargs
            ) -> None:
        who = type(self).__name__
        if kwargs:
            raise TypeError(f"{who}: unknown argument(s) {sorted(kwargs)}; thawnet's tuners "
                            "take KerasTuner's documented arguments (distribution strategies "
                            "and loggers are not supported).")
        if hyperparameters is not None or not tune_new_entries or not allow_new_entries:
            raise ValueError(f"{who}: hyperparameters=/tune_new_entries/allow_new_entries "
                             "(a predefined space) are not supported; ask every parameter in "
                             "the build function (hp.Fixed for constants).")
        if max_retries_per_trial:
            raise ValueError(f"{who}: max_retries_per_trial={max_retries_per_trial} is not "
                             "supported (a failed trial is recorded as FAIL and the search "
                             "goes on); re-queue stale trials with Tuner(max_retry=...).")
        if (isinstance(executions_per_trial, bool) or not isinstance(executions_per_trial, int)
                or executions_per_trial < 1):
            raise ValueError(f"{who}: executions_per_trial must be a positive integer; "
                             f"received {executions_per_trial!r}.")
        if hypermodel is None or not (isinstance(hypermodel, HyperModel) or callable(hypermodel)):
            raise TypeError(f"{who}: hypermodel must be a build function hp -> compiled model "
                            f"or a kt.HyperModel; received {hypermodel!r}.")
        if objective is None:
            raise ValueError(f'{who}: objective is required, e.g. objective="val_accuracy" '
                             'or kt.Objective("val_auc", direction="max").')
        self.hypermodel = (hypermodel if isinstance(hypermodel, HyperModel)
                           else _FunctionHyperModel(hypermodel))
        self.objective_spec = Objective(*_objective(objective))
        self.project_name = project_name or "untitled_project"
        self.project_dir = os.path.abspath(os.path.join(directory or ".", self.project_name))
        super().__init__(self.hypermodel.build, objective=self.objective_spec.name,
                         max_trials=max_trials,
                         direction=self.objective_spec.optuna_direction,
                         sampler=sampler or self._make_sampler(seed),
                         pruner=pruner or self._pruner, storage=storage,
                         study_name=self.project_name, seed=seed, directory=self.project_dir,
                         compile_cache=compile_cache,
                         max_consecutive_failures=max_consecutive_failed_trials)
        self.executions_per_trial = executions_per_trial
        if type(self.hypermodel).fit is not HyperModel.fit:
            self._fit_fn = self.hypermodel.fit
        if overwrite:
            self._delete_study()

    def _make_sampler(self, seed):
        return self._sampler

    def _delete_study(self):
        storage = storage_lib.make_storage(self._storage_arg, self.directory, self.study_name)
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        if self.study_name in names:
            optuna.delete_study(study_name=self.study_name, storage=storage)
        shutil.rmtree(os.path.join(self.directory, self.study_name), ignore_errors=True)
        self._study = None

    def search(self, *fit_args, **fit_kwargs) -> Any:
        """Run the search: arguments as ``model.fit``'s (x, y, epochs, validation_data,
        callbacks, ...), given to every trial's fit. Returns the trial numbers run."""
        if len(fit_args) > len(_FIT_ORDER):
            raise TypeError(f"search() takes at most {len(_FIT_ORDER)} positional arguments "
                            f"({', '.join(_FIT_ORDER)}); pass the others by name.")
        for name, value in zip(_FIT_ORDER, fit_args):
            if name in fit_kwargs:
                raise TypeError(f"search() got multiple values for argument {name!r}.")
            fit_kwargs[name] = value
        fit_kwargs.setdefault("verbose", 1)
        return super().search(**self._adapt_fit(fit_kwargs))

    def _adapt_fit(self, fit_kwargs):
        return fit_kwargs

    # -- results ----------------------------------------------------------------------------
    def _best_trials(self, count):
        done = self.trials(states=(optuna.trial.TrialState.COMPLETE,))
        sign = 1.0 if self.direction == "minimize" else -1.0
        return sorted(done, key=lambda t: (sign * t.value, t.number))[:count]

    def get_best_models(self, num_models: int = 1) -> list:
        """The best ``num_models`` trials' models, best first: each rebuilt from its values
        and loaded with the weights its trial saved (its best epoch; not retrained)."""
        if not self._best_trials(1):
            self.best_trial()  # raises the "no completed trial yet" error
        return [self.trial_model(t) for t in self._best_trials(num_models)]

    def get_best_hyperparameters(self, num_trials: int = 1) -> list:
        """The best ``num_trials`` trials' :class:`HyperParameters`, best first (``.values``
        holds every value; pass one to ``tuner.hypermodel.build``)."""
        out = []
        for trial in self._best_trials(num_trials):
            values = self.trial_values(trial)
            hp = HyperParameters.from_values(values, strict=False)
            hp.values.update(values)
            out.append(hp)
        return out

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the search space: each parameter with its kind, range and conditions (the
        build function run once with defaults, plus what the trials asked)."""
        thawnet.clear_session()
        hp = HyperParameters()
        try:
            self.build_fn(hp)
        finally:
            thawnet.clear_session()
        print(space_text(hp, self.trials()))

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best ``num_trials`` trials (KerasTuner's layout: hyperparameters and
        score of each)."""
        print(results_text(self, self._best_trials(num_trials)))


class RandomSearch(KerasTunerSearch):
    """Random search (Optuna's ``RandomSampler``)."""


class GridSearch(KerasTunerSearch):
    """Every configuration of the space, in order (``max_trials=None``: all of them)."""

    _sampler = "grid"

    def __init__(self, hypermodel: Any = None, objective: str | Any | None = None,
                 max_trials: int | None = None, **kwargs) -> None:
        super().__init__(hypermodel, objective, max_trials=max_trials, **kwargs)
        self.max_trials = max_trials or 10_000  # bounded by the grid's size


class BayesianOptimization(KerasTunerSearch):
    """Model-based search: Optuna's TPE sampler after ``num_initial_points`` random trials.

    ``alpha`` / ``beta`` are KerasTuner's Gaussian-process settings; only their defaults
    are accepted (TPE has no such parameters).
    """

    def __init__(self, hypermodel: Any = None, objective: str | Any | None = None,
                 max_trials: int = 10, num_initial_points: Any = None, alpha: float = 1e-4,
                 beta: float = 2.6, seed: SeedLike = None, **kwargs) -> None:
        if (alpha, beta) != (1e-4, 2.6):
            raise ValueError("BayesianOptimization: alpha/beta tune KerasTuner's Gaussian "
                             "process; thawnet uses Optuna's TPE sampler, which has neither. "
                             "Leave them out, or pass sampler=optuna.samplers.GPSampler(...).")
        self.num_initial_points = num_initial_points
        super().__init__(hypermodel, objective, max_trials=max_trials, seed=seed, **kwargs)

    def _make_sampler(self, seed):
        startup = 10 if self.num_initial_points is None else self.num_initial_points
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


class Hyperband(KerasTunerSearch):
    """Hyperband: random configurations, each stopped early at its bracket's rungs by
    Optuna's ``HyperbandPruner`` (epoch budget ``max_epochs``, ``factor``)."""

    def __init__(self, hypermodel: Any = None, objective: str | Any | None = None,
                 max_epochs: int = 100, factor: float | tuple[float, float] = 3,
                 hyperband_iterations: int = 1, seed: SeedLike = None,
                 max_trials: int | None = None, **kwargs) -> None:
        for name, value, low in (("max_epochs", max_epochs, 1), ("factor", factor, 2),
                                 ("hyperband_iterations", hyperband_iterations, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"Hyperband: {name} must be an integer >= {low}; received "
                                 f"{name}={value!r}.")
        self.max_epochs, self.factor = max_epochs, factor
        self.hyperband_iterations = hyperband_iterations
        pruner = kwargs.pop("pruner", None) or optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max_epochs, reduction_factor=factor)
        trials = max_trials or hyperband_trials(max_epochs, factor, hyperband_iterations)
        super().__init__(hypermodel, objective, max_trials=trials, seed=seed, pruner=pruner,
                         **kwargs)

    def _adapt_fit(self, fit_kwargs):
        # KerasTuner's Hyperband sets each round's epochs itself; here every trial may run
        # the whole budget and the pruner ends it at its rung.
        fit_kwargs["epochs"] = self.max_epochs
        return fit_kwargs
