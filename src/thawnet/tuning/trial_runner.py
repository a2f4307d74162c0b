"""One trial: build the model from the trial's hyperparameters, fit it while reporting the
objective to Optuna (pruning stops the fit), keep the best epoch's weights, clean up."""

from __future__ import annotations

import copy
import gc
import math
import time
import traceback
from typing import Any

import optuna

import thawnet
from thawnet.callbacks import Callback
from thawnet.tuning import weights_io
from thawnet.tuning.hyperparameters import HyperParameters
from thawnet.backend.types import Logs


# A full garbage collection costs ~0.1 s with JAX loaded; models are freed by reference
# counting anyway, so cycles are swept every few trials rather than after each.
GC_EVERY = 5


class TrialFailed(Exception):
    """A trial's build function or fit raised; the trial is FAIL and the search goes on."""


class ObjectiveNotFoundError(KeyError):
    """The objective is not among the metrics the model logs (a configuration error)."""

    def __str__(self):
        return str(self.args[0])


class ObjectiveReporter(Callback):
    """Reports the objective to an Optuna trial after every epoch; stops the fit when pruned.

    Args:
        trial: the ``optuna.Trial``.
        objective: the log key to report (e.g. "val_loss").
        direction: "minimize" or "maximize".
        keep_best_weights: copy the weights at each improving epoch.

    Attributes:
        best, best_epoch, best_weights: the best value, its epoch and weights.
        epochs_run: epochs completed. pruned: whether the pruner stopped the trial.
    """

    def __init__(self, trial: Any, objective: str | Any, direction: Any,
                 keep_best_weights: bool = True) -> None:
        super().__init__()
        self.trial = trial
        self.objective = objective
        self.sign = 1.0 if direction == "minimize" else -1.0
        self.keep_best_weights = keep_best_weights
        self.best = self.best_epoch = self.best_weights = None
        self.epochs_run = 0
        self.pruned = False

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        self.epochs_run += 1
        if self.objective not in logs:
            raise ObjectiveNotFoundError(
                f"objective {self.objective!r} not in the logs of trial {self.trial.number}; "
                f"available: {', '.join(logs) or 'none'}. Pass one of these as objective= (a "
                "val_ metric needs validation_data or validation_split).")
        value = float(logs[self.objective])
        if not math.isfinite(value):
            return
        if self.best is None or self.sign * value < self.sign * self.best:
            self.best, self.best_epoch = value, epoch
            if self.keep_best_weights:
                self.best_weights = self.model.get_weights()
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True


def _error_text(err):
    return f"{type(err).__name__}: {err}"


def _user_attr_value(value):
    """``value`` if the study can store it as JSON (bool, int, float, str, None)."""
    return value if isinstance(value, (bool, int, float, str, type(None))) else repr(value)


class TrialObjective:
    """The function ``study.optimize`` calls: runs one trial and returns its best value.

    Args:
        build_fn: ``hp -> compiled model``.
        fit_kwargs: arguments of ``model.fit`` (x, y, epochs, batch_size, ...).
        callbacks: user callbacks (deep-copied per trial).
        objective, direction: what to optimise.
        directory, study_name: where the trials' weights go.
        seed: if not None, trial ``n`` seeds weight initialisation with ``seed + n``.
        executions: fits per trial (KerasTuner's ``executions_per_trial``), each from a
            fresh build with another seed; the trial's value is the mean of their best
            values, its weights the best execution's best epoch.
        fit_fn: ``(hp, model, **fit_kwargs) -> History | float | dict | None`` in place of
            ``model.fit`` (KerasTuner's ``HyperModel.fit``); a float (or a dict holding the
            objective) returned is the execution's value.

    Each finished trial has the user attributes optuna-dashboard shows: ``hyperparameters``
    (the values the build function saw, fixed ones included), ``epochs`` (epochs run) and
    the objective's best value under its own name.
    """

    def __init__(self, build_fn, fit_kwargs, callbacks, objective, direction, directory,
                 study_name, seed=None, executions=1, fit_fn=None):
        self.build_fn = build_fn
        self.fit_kwargs = fit_kwargs
        self.callbacks = list(callbacks or [])
        self.objective = objective
        self.direction = direction
        self.directory = directory
        self.study_name = study_name
        self.seed = seed
        self.executions = executions
        self.fit_fn = fit_fn
        self.trials_run = 0

    def _fail(self, trial, stage, err):
        trial.set_user_attr("error", _error_text(err))
        trial.set_user_attr("failed_in", stage)
        tb = "".join(traceback.format_exception(type(err), err, err.__traceback__)[-6:])
        trial.set_user_attr("traceback", tb[-2000:])
        raise TrialFailed(f"trial {trial.number}: {stage} raised {_error_text(err)}") from err

    def _build(self, trial, hp, execution=0):
        thawnet.clear_session()
        if self.seed is not None or execution:
            # Executions after the first need other initial values (they are seeded by path).
            thawnet.set_random_seed((self.seed or 0) + trial.number + 7919 * execution)
        try:
            model = self.build_fn(hp)
        except Exception as err:  # noqa: BLE001 - any error of user code fails the trial
            self._fail(trial, "build_fn", err)
        if not hasattr(model, "fit") or not hasattr(model, "get_weights"):
            self._fail(trial, "build_fn", TypeError(
                f"build_fn must return a compiled thawnet model; it returned "
                f"{type(model).__name__}."))
        if not getattr(model, "compiled", False):
            self._fail(trial, "build_fn", RuntimeError(
                "build_fn returned a model that is not compiled; call model.compile("
                "optimizer=..., loss=..., metrics=[...]) before returning it."))
        return model

    def _trial_callbacks(self):
        out = []
        for callback in self.callbacks:
            try:
                out.append(copy.deepcopy(callback))
            except Exception:  # noqa: BLE001 - an uncopyable callback is shared as is
                out.append(callback)
        return out

    def _fit(self, trial, hp, model, reporter):
        """One execution's fit; returns the value ``fit_fn`` gave (None: the reporter's)."""
        callbacks = [reporter] + self._trial_callbacks()
        try:
            if self.fit_fn is None:
                model.fit(callbacks=callbacks, **self.fit_kwargs)
                return None
            given = {k: v for k, v in self.fit_kwargs.items()
                     if not (v is None or (k == "validation_split" and not v))}
            result = self.fit_fn(hp, model, callbacks=callbacks, **given)
        except ObjectiveNotFoundError as err:
            trial.set_user_attr("error", str(err))
            raise
        except Exception as err:  # noqa: BLE001
            self._fail(trial, "fit", err)
        if isinstance(result, dict):
            if self.objective not in result:
                raise ObjectiveNotFoundError(
                    f"HyperModel.fit returned a dict without the objective {self.objective!r} "
                    f"(keys: {sorted(result)}); return the objective's value or a History.")
            result = result[self.objective]
        if isinstance(result, (int, float)) and not isinstance(result, bool):
            return float(result)
        return None

    def _record(self, trial, hp, epochs):
        values = {k: _user_attr_value(v) for k, v in {**hp.values, **hp.fixed}.items()}
        trial.set_user_attr("hyperparameters", values)
        trial.set_user_attr("epochs", epochs)
        trial.set_user_attr("epochs_run", epochs)
        if hp.fixed:
            trial.set_user_attr("fixed_params", {k: v for k, v in hp.fixed.items()
                                                 if isinstance(v, (bool, int, float, str))})

    def __call__(self, trial):
        start = time.perf_counter()
        hp = HyperParameters.from_trial(trial)
        sign = 1.0 if self.direction == "minimize" else -1.0  # minimising sign * value
        scores, best_weights, best_epoch, epochs = [], None, None, 0
        model = reporter = None
        try:
            for execution in range(self.executions):
                model = self._build(trial, hp, execution)
                if not hp.space:
                    trial.set_user_attr("empty_space", True)
                # Intermediate values go to Optuna once per epoch: from the first execution.
                reporter = ObjectiveReporter(trial, self.objective, self.direction)
                if execution:
                    reporter.trial = _NoReport(trial)
                returned = self._fit(trial, hp, model, reporter)
                epochs += reporter.epochs_run
                self._record(trial, hp, epochs)
                if reporter.pruned:
                    trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
                    raise optuna.TrialPruned(f"pruned after epoch {reporter.epochs_run}")
                score = reporter.best if returned is None else returned
                if score is None or not math.isfinite(score):
                    self._fail(trial, "fit", FloatingPointError(
                        f"objective {self.objective!r} was not finite in any epoch"))
                weights = reporter.best_weights if returned is None else model.get_weights()
                if not scores or sign * score < min(sign * s for s in scores):
                    best_weights, best_epoch = weights, reporter.best_epoch
                scores.append(score)
                reporter.best_weights = reporter.model = None
                model = None
            value = sum(scores) / len(scores)
            trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
            trial.set_user_attr("best_epoch", best_epoch)
            trial.set_user_attr(self.objective, value)
            if self.executions > 1:
                trial.set_user_attr("execution_values", scores)
            path = weights_io.trial_weights_path(self.directory, self.study_name, trial.number)
            weights_io.save_weights(best_weights, path)
            trial.set_user_attr("weights_path", path)
            return value
        finally:
            # Nothing of the trial may outlive it: the model, its compiled steps, the copies.
            if reporter is not None:
                reporter.best_weights = None
                reporter.model = None
            del model, reporter, best_weights
            self.trials_run += 1
            if self.trials_run % GC_EVERY == 0:
                gc.collect()


class _NoReport:
    """A trial stand-in for executions after the first: Optuna takes one value per step."""

    def __init__(self, trial):
        self.number = trial.number

    def report(self, value, step):
        """Nothing (the first execution reported this step)."""

    def should_prune(self):
        """Never: pruning decisions come from the first execution."""
        return False
