"""Progress lines during a search, and the results table after it."""

from __future__ import annotations

import optuna

_STATES = optuna.trial.TrialState
_COUNTED = (_STATES.COMPLETE, _STATES.PRUNED, _STATES.FAIL, _STATES.RUNNING)


def format_value(value):
    """A number in 6 significant digits ("-" for None)."""
    return "-" if value is None else f"{value:.6g}"


def format_params(params, limit=None):
    """``name=value, ...`` with floats in 4 significant digits."""
    parts = []
    for name, value in params.items():
        parts.append(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}")
    text = ", ".join(parts)
    if limit and len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


class TrialMonitor:
    """An ``study.optimize`` callback: one progress line per finished trial, the count of
    consecutive failures (stops the study at the tuner's limit), the stop once the study
    holds ``max_trials`` (with other workers' trials), and the one-trial stop for a build
    function that asks nothing.

    Attributes:
        ran: numbers of the trials this process finished.
        abort_message: set when the search must end with an error.
    """

    def __init__(self, tuner, objective_fn, verbose, prefix=""):
        self.tuner = tuner
        self.objective_fn = objective_fn
        self.verbose = verbose
        self.prefix = prefix
        self.ran = []
        self.consecutive_failures = 0
        self.abort_message = None

    def __call__(self, study, trial):
        self.ran.append(trial.number)
        if trial.state == _STATES.FAIL:
            self.consecutive_failures += 1
        else:
            self.consecutive_failures = 0
        if self.verbose:
            print(self.line(study, trial), flush=True)
        if trial.state == _STATES.COMPLETE and trial.user_attrs.get("empty_space"):
            if self.verbose:
                print(f"{self.prefix}build_fn asks no hyperparameters: one trial is the whole "
                      "search.", flush=True)
            study.stop()
        cap = self.tuner.max_trials
        if cap is not None and len(study.get_trials(deepcopy=False, states=_COUNTED)) >= cap:
            study.stop()  # other workers may have filled the study meanwhile
        limit = self.tuner.max_consecutive_failures
        if limit and self.consecutive_failures >= limit:
            self.abort_message = (
                f"{self.consecutive_failures} trials failed in a row; last error (trial "
                f"{trial.number}): {trial.user_attrs.get('error', 'unknown')}. Fix the build "
                "function or the data; results_summary() lists every trial's error.")
            study.stop()

    def line(self, study, trial):
        """``trial 3 COMPLETE val_loss=0.1234 best=0.1 (trial 1) epochs=10 1.2s params``."""
        objective = self.tuner.objective
        text = f"{self.prefix}trial {trial.number} {trial.state.name}"
        if trial.state == _STATES.COMPLETE:
            text += f" {objective}={format_value(trial.value)}"
        elif trial.state == _STATES.PRUNED:
            last = trial.last_step
            value = trial.intermediate_values.get(last) if last is not None else None
            text += f" {objective}={format_value(value)} (last reported)"
        try:
            best = study.best_trial
            text += f" best={format_value(best.value)} (trial {best.number})"
        except ValueError:
            pass
        if "epochs_run" in trial.user_attrs:
            text += f" epochs={trial.user_attrs['epochs_run']}"
        if trial.duration is not None:
            text += f" {trial.duration.total_seconds():.1f}s"
        text += f" [{format_params(trial.params)}]"
        if trial.state == _STATES.FAIL:
            text += f" error: {trial.user_attrs.get('error', 'unknown')}"
        return text


def _cell(value):
    """A count with thousands separators; other values as text ("-" when missing)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def _sort_key(direction):
    sign = 1.0 if direction == "minimize" else -1.0
    order = {_STATES.COMPLETE: 0, _STATES.PRUNED: 1, _STATES.RUNNING: 2, _STATES.WAITING: 3,
             _STATES.FAIL: 4}

    def key(trial):
        value = trial.value if trial.state == _STATES.COMPLETE else None
        return (order.get(trial.state, 5), 0.0 if value is None else sign * value,
                trial.number)

    return key


def summary_text(tuner, num_trials=10, extra=()):
    """The results table: best completed trials first, then pruned, running, failed.

    Args:
        tuner: a :class:`~thawnet.tuning.Tuner`.
        num_trials: how many rows.
        extra: names of trial user attributes shown as columns after the objective
            (``("trainable_params", "non_trainable_params")`` for a fine-tuning search).

    Returns:
        The table as a string.
    """
    trials = tuner.trials()
    counts = {}
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    head = (f"Results summary: study {tuner.study_name!r}, objective {tuner.objective!r} "
            f"({tuner.direction}), {len(trials)} trials"
            + (f" ({', '.join(f'{n} {s.lower()}' for s, n in sorted(counts.items()))})"
               if counts else ""))
    rows = sorted(trials, key=_sort_key(tuner.direction))[:num_trials]
    width = max(len(tuner.objective), 9)
    widths = [max(len(name), 10) for name in extra]
    columns = "".join(f"  {name:>{w}}" for name, w in zip(extra, widths))
    lines = [head, f"{'trial':>5}  {'state':<8}  {tuner.objective:>{width}}{columns}  params"]
    for trial in rows:
        value = trial.value if trial.state == _STATES.COMPLETE else None
        text = format_params(trial.params, limit=100)
        if trial.state == _STATES.FAIL and "error" in trial.user_attrs:
            text += f"  error: {trial.user_attrs['error'][:120]}"
        cells = "".join(f"  {_cell(trial.user_attrs.get(name)):>{w}}"
                        for name, w in zip(extra, widths))
        lines.append(f"{trial.number:>5}  {trial.state.name:<8}  "
                     f"{format_value(value):>{width}}{cells}  {text}")
    return "\n".join(lines)
