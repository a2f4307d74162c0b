"""A PNG of a study: the objective by trial, and by each hyperparameter (matplotlib, Agg)."""

from __future__ import annotations

import math

import optuna

_STATES = optuna.trial.TrialState


def _value(trial):
    """A trial's objective: its value if complete, its last report if pruned, else None."""
    if trial.state == _STATES.COMPLETE:
        return trial.value
    if trial.state == _STATES.PRUNED and trial.intermediate_values:
        return trial.intermediate_values[max(trial.intermediate_values)]
    return None


def plot_study(tuner, path):
    """Write ``path`` (PNG): objective by trial (best so far as a line), then one panel per
    hyperparameter (categorical values on a category axis, log ranges on a log axis).

    Args:
        tuner: a :class:`~thawnet.tuning.Tuner` whose study has trials.
        path: the PNG file to write.

    Returns:
        ``path``.

    Raises:
        RuntimeError: the study has no finished trial to plot.
    """
    # The Agg canvas directly: no pyplot, no global backend switch, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    trials = [t for t in tuner.trials() if _value(t) is not None]
    if not trials:
        raise RuntimeError(f"study {tuner.study_name!r} has no completed or pruned trial to "
                           "plot; run search() first.")
    names = []
    for trial in trials:
        names.extend(n for n in trial.params if n not in names)
    panels = 1 + len(names)
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows))
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(rows, cols, k + 1) for k in range(panels)]
    sign = 1.0 if tuner.direction == "minimize" else -1.0
    colors = {_STATES.COMPLETE: "tab:blue", _STATES.PRUNED: "tab:gray"}

    ax = axes[0]
    for state, color in colors.items():
        points = [(t.number, _value(t)) for t in trials if t.state == state]
        if points:
            ax.scatter(*zip(*points), s=18, color=color, label=state.name.lower())
    best, xs, ys = None, [], []
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state != _STATES.COMPLETE:
            continue
        if best is None or sign * trial.value < sign * best:
            best = trial.value
        xs.append(trial.number)
        ys.append(best)
    if xs:
        ax.step(xs, ys, where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(tuner.objective)
    ax.legend(fontsize=7)

    for ax, name in zip(axes[1:], names):
        having = [t for t in trials if name in t.params]
        dist = having[0].distributions[name]
        values = [t.params[name] for t in having]
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            labels = [str(c) for c in dist.choices]
            xs = [labels.index(str(v)) for v in values]
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=30, fontsize=7)
        else:
            xs = values
            if getattr(dist, "log", False):
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())
        ax.scatter(xs, [_value(t) for t in having], s=18,
                   c=[colors.get(t.state, "tab:gray") for t in having])
        ax.set_xlabel(name)
        ax.set_ylabel(tuner.objective)
    fig.suptitle(f"{tuner.study_name}: {tuner.objective} ({tuner.direction})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80, format="png")
    return path
