"""``Tuner``: architecture and hyperparameter search for thawnet models on Optuna."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Sequence

import optuna

import thawnet
from thawnet.tuning import reporting, storage as storage_lib, weights_io
from thawnet.tuning.grid import enumerate_grid
from thawnet.tuning.hyperparameters import HyperParameters
from thawnet.tuning.plotting import plot_study
from thawnet.tuning.trial_runner import TrialFailed, TrialObjective
from thawnet.backend.types import PathLike, SeedLike, TensorLike

_MINIMIZE_WORDS = ("loss", "error", "crossentropy", "hinge", "mse", "mae", "mape", "msle",
                   "divergence", "logcosh", "huber", "poisson")
_MAXIMIZE_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou", "r2")
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL)
COUNTED = FINISHED + (optuna.trial.TrialState.RUNNING,)


def infer_direction(objective: str | Any) -> str:
    """"minimize" for losses and errors, "maximize" for accuracy/AUC-like metrics.

    Raises:
        ValueError: the name says neither; pass ``direction`` explicitly.
    """
    name = objective[4:] if objective.startswith("val_") else objective
    name = name.lower()
    if any(word in name for word in _MINIMIZE_WORDS):
        return "minimize"
    if any(word in name for word in _MAXIMIZE_WORDS):
        return "maximize"
    raise ValueError(f"cannot tell whether objective {objective!r} should be minimised or "
                     "maximised; pass direction='minimize' or direction='maximize'.")


def make_sampler(sampler, seed):
    """An Optuna sampler from "tpe", "random", "grid" (queued configurations) or an object."""
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    if sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if sampler in ("random", "grid"):
        # Grid configurations are queued in the study; the random sampler only fills in
        # for extra trials after the grid ran out.
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"sampler must be 'tpe', 'random', 'grid' or an optuna sampler; "
                     f"received {sampler!r}.")


def make_pruner(pruner):
    """An Optuna pruner from "median", "hyperband", None or an object.

    "median" is ``MedianPruner(n_startup_trials=3, n_warmup_steps=1)``: a trial is stopped
    from its second epoch on when its best value so far is worse than the median of earlier
    trials at the same epoch, once 3 trials have finished.
    """
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto")
    raise ValueError(f"pruner must be 'median', 'hyperband', None or an optuna pruner; "
                     f"received {pruner!r}.")


@contextlib.contextmanager
def _optuna_log_level(level):
    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(level)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(old)


class Tuner:
    """Searches the space a build function defines; each trial builds, fits and scores a model.

    Args:
        build_fn: ``hp -> compiled thawnet model``; ``hp`` is a
            :class:`~thawnet.tuning.HyperParameters`.
        objective: the log key to optimise ("val_loss", "val_accuracy", "loss", ...). A
            trial's value is the best epoch's value.
        max_trials: trials in the study in total, counting earlier runs (resuming) and all
            workers; None only with ``search(n_trials=...)``.
        direction: "minimize"/"maximize"; None infers it from the objective's name.
        sampler: "tpe", "random", "grid" or an ``optuna.samplers.BaseSampler``. "grid" runs
            every configuration, conditional ones included (floats need ``step``).
        pruner: "median", "hyperband", None or an ``optuna.pruners.BasePruner``.
        storage: None (``sqlite:///<directory>/<study_name>.db``), any Optuna storage URL, or
            a storage object.
        study_name: the study to create or resume (default "thawnet_tuning").
        seed: seeds the sampler and, per trial ``n``, the weight initialisation (``seed+n``).
        directory: where the SQLite file, the trials' weights and the compile cache go.
        heartbeat_interval, grace_period, max_retry: stale-trial handling on RDB storages
            (see :mod:`thawnet.tuning.storage`).
        compile_cache: True (``<directory>/jax_cache``), a folder, or False: JAX's persistent
            compilation cache during the search, so repeated architectures compile once.
        max_consecutive_failures: stop the search with an error after this many failed
            trials in a row.

    A build function that asks no hyperparameter runs a single trial (more would repeat it).
    """

    def __init__(self, build_fn: Any, objective: str | Any = "val_loss", max_trials: int = 20,
                 direction: Any = None, sampler: str = "tpe", pruner: str = "median",
                 storage: Any = None, study_name: str | None = None, seed: SeedLike = None,
                 directory: PathLike = ".", heartbeat_interval: Any = None,
                 grace_period: Any = None, max_retry: int = 0, compile_cache: bool = True,
                 max_consecutive_failures: int = 3) -> None:
        if not callable(build_fn):
            raise TypeError(f"build_fn must be a function hp -> compiled model; received "
                            f"{type(build_fn).__name__}.")
        if not isinstance(objective, str) or not objective:
            raise TypeError(f"objective must be a metric name such as 'val_loss'; received "
                            f"{objective!r}.")
        if max_trials is not None and (isinstance(max_trials, bool)
                                       or not isinstance(max_trials, int) or max_trials < 1):
            raise ValueError(f"max_trials must be a positive integer (or None); received "
                             f"{max_trials!r}.")
        if direction not in (None, "minimize", "maximize"):
            raise ValueError(f"direction must be 'minimize', 'maximize' or None (inferred); "
                             f"received {direction!r}.")
        self.build_fn = build_fn
        self.objective = objective
        self.max_trials = max_trials
        self.direction = direction or infer_direction(objective)
        self.sampler_name = sampler if isinstance(sampler, str) else type(sampler).__name__
        self.sampler = make_sampler(sampler, seed)
        self.pruner = make_pruner(pruner)
        self.study_name = study_name or storage_lib.DEFAULT_STUDY_NAME
        self.seed = seed
        self.directory = os.path.abspath(directory)
        self._storage_arg = storage
        self._storage_opts = (heartbeat_interval, grace_period, max_retry)
        if compile_cache is True:
            compile_cache = os.path.join(self.directory, "jax_cache")
        self.compile_cache = compile_cache or None
        self.max_consecutive_failures = max_consecutive_failures
        self._study = None
        self._sample_x = None
        self.executions_per_trial = 1  # KerasTuner's executions_per_trial (its subclasses)
        self._fit_fn = None  # KerasTuner's HyperModel.fit, where a subclass gives one

    # -- the study ------------------------------------------------------------------------------
    @property
    def study(self) -> Any:
        """The ``optuna.Study`` (created, or loaded when it exists, on first use)."""
        if self._study is None:
            storage = storage_lib.make_storage(self._storage_arg, self.directory,
                                               self.study_name, *self._storage_opts)
            self._study = storage_lib.open_study(storage, self.study_name, self.direction,
                                                 self.sampler, self.pruner, self.objective)
        return self._study

    def trials(self, states: Sequence[TensorLike] | None = None) -> Any:
        """The study's trials (``optuna.trial.FrozenTrial``), optionally of given states."""
        return self.study.get_trials(deepcopy=False, states=states)

    # -- search ---------------------------------------------------------------------------------
    def search(self, x: TensorLike | None = None, y: TensorLike | None = None,
               validation_data: Any = None, validation_split: float = 0.0, epochs: int = 1,
               batch_size: int | None = None, callbacks: list | None = None, verbose: int | str = 0,
               n_trials: Any = None, progress_prefix: str = "", **fit_kwargs) -> Any:
        """Run trials until the study holds ``max_trials`` (or this call ran ``n_trials``).

        Args:
            x, y, validation_data, validation_split, epochs, batch_size, callbacks: passed to
                every trial's ``model.fit`` (callbacks are deep-copied per trial).
            verbose: 0 silent; 1 one line per trial; 2 also each fit's per-epoch lines.
            n_trials: run at most this many trials in this call (a worker's share).
            progress_prefix: text in front of each progress line (e.g. a worker's id).
            **fit_kwargs: other ``fit`` arguments (shuffle, class_weight, ...).

        Returns:
            The list of trial numbers this call ran.

        Raises:
            ValueError: bad arguments, or the objective is not among the logged metrics.
            RuntimeError: ``max_consecutive_failures`` trials failed in a row.
        """
        if x is None:
            raise ValueError("search() needs training data: search(x, y, epochs=..., ...).")
        if hasattr(x, "shape") and hasattr(y, "shape") and len(x) != len(y):
            raise ValueError(f"search(): x has {len(x)} samples but y has {len(y)}; give one "
                             "target per sample.")
        has_val = validation_data is not None or validation_split
        if self.objective.startswith("val_") and not has_val:
            raise ValueError(f"objective {self.objective!r} is a validation metric but search() "
                             "got no validation data; pass validation_data=(x_val, y_val) or "
                             "validation_split=0.2, or use objective='loss'.")
        if n_trials is None and self.max_trials is None:
            raise ValueError("max_trials=None needs search(n_trials=...): say how many trials "
                             "to run.")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer; received {epochs!r}.")
        self._sample_x = x[:1] if hasattr(x, "shape") else None
        fit = dict(fit_kwargs, x=x, y=y, validation_data=validation_data,
                   validation_split=validation_split, epochs=epochs, batch_size=batch_size,
                   verbose=2 if verbose >= 2 else 0)
        fit.setdefault("audit", False)
        objective = TrialObjective(self.build_fn, fit, callbacks, self.objective,
                                   self.direction, self.directory, self.study_name, self.seed,
                                   executions=self.executions_per_trial, fit_fn=self._fit_fn)
        level = optuna.logging.INFO if verbose >= 2 else optuna.logging.ERROR
        with storage_lib.compile_cache(self.compile_cache), _optuna_log_level(level):
            return self._run(objective, n_trials, verbose, progress_prefix)

    def _remaining(self, study, n_trials):
        limits = [] if n_trials is None else [n_trials]
        if self.max_trials is not None:
            limits.append(self.max_trials - len(study.get_trials(deepcopy=False,
                                                                 states=COUNTED)))
        return min(limits)

    def _run(self, objective, n_trials, verbose, prefix):
        study = self.study
        if any(t.user_attrs.get("empty_space") for t in
               study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))):
            return []
        remaining = self._remaining(study, n_trials)
        if self.sampler_name == "grid":
            # The grid's configurations wait in the queue; when it is empty the grid is done.
            self._enqueue_grid(study)
            waiting = study.get_trials(deepcopy=False,
                                       states=(optuna.trial.TrialState.WAITING,))
            remaining = min(remaining, len(waiting))
        if remaining <= 0:
            if verbose:
                print(f"{prefix}study {self.study_name!r} already has {self.max_trials} trials; "
                      "nothing to run (raise max_trials to continue).", flush=True)
            return []
        monitor = reporting.TrialMonitor(self, objective, verbose, prefix)
        study.optimize(objective, n_trials=remaining, catch=(TrialFailed,),
                       callbacks=[monitor], gc_after_trial=False)
        if monitor.abort_message:
            raise RuntimeError(monitor.abort_message)
        return monitor.ran

    def _enqueue_grid(self, study):
        if study.user_attrs.get("grid_size") is not None:
            return
        configs = enumerate_grid(self.build_fn, on_build=thawnet.clear_session)
        if self.max_trials is not None:
            configs = configs[:self.max_trials]
        for params in configs:
            study.enqueue_trial(params, skip_if_exists=True)
        study.set_user_attr("grid_size", len(configs))

    # -- results ----------------------------------------------------------------------------------
    def best_trial(self) -> Any:
        """The best COMPLETE trial (``optuna.trial.FrozenTrial``).

        Raises:
            RuntimeError: no trial has completed yet.
        """
        try:
            return self.study.best_trial
        except ValueError:
            states = [t.state.name for t in self.trials()]
            raise RuntimeError(f"study {self.study_name!r} has no completed trial yet (trial "
                               f"states: {states or 'no trials'}); run search() first, and see "
                               "results_summary() for failures.") from None

    def best_hyperparameters(self) -> dict[str, Any]:
        """The best trial's hyperparameters, as a dict (only the parameters it asked)."""
        return dict(self.best_trial().params)

    def best_model(self) -> Any:
        """The best trial's model, rebuilt from its hyperparameters and loaded with its best
        epoch's weights (not retrained). A model without an ``Input`` layer is built on a
        sample of the data of this tuner's last ``search`` (so start build functions with
        an ``Input`` to rebuild from a study alone).

        Returns:
            A compiled thawnet model.
        """
        return self.trial_model(self.best_trial())

    @staticmethod
    def trial_values(trial: Any) -> dict[str, Any]:
        """The values a trial's build function saw (``hyperparameters`` user attribute; the
        study's params for trials recorded before it existed)."""
        return dict(trial.user_attrs.get("hyperparameters") or trial.params)

    def trial_model(self, trial: Any) -> Any:
        """A finished trial's model: rebuilt from its values, with its saved weights."""
        thawnet.clear_session()
        if self.seed is not None:
            thawnet.set_random_seed(self.seed + trial.number)
        model = self.build_fn(HyperParameters.from_values(self.trial_values(trial)))
        if not model.weights and self._sample_x is not None:
            model(self._sample_x)  # a model without an Input builds on its first call
        path = trial.user_attrs.get("weights_path") or weights_io.trial_weights_path(
            self.directory, self.study_name, trial.number)
        weights_io.load_weights(model, path)
        return model

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best ``num_trials`` trials: number, state, objective, params."""
        print(reporting.summary_text(self, num_trials))

    def plot(self, path: PathLike) -> Any:
        """Write a PNG of the objective by trial and by each hyperparameter to ``path``."""
        return plot_study(self, path)
