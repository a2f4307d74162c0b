"""KerasTuner's text layouts: ``search_space_summary()`` and ``results_summary()``."""

from __future__ import annotations

import optuna

_KINDS = {"int": "Int", "float": "Float", "choice": "Choice", "boolean": "Boolean"}


def _spec_entry(spec, conditions):
    """``(kind name, config dict)`` of a :class:`ParamSpec`, as KerasTuner prints them."""
    entry = {"default": spec.default,
             "conditions": [{"parent": p, "values": list(v)} for p, v in conditions]}
    if spec.kind in ("int", "float"):
        sampling = "reverse_log" if spec.reverse else ("log" if spec.log else "linear")
        entry.update(min_value=spec.low, max_value=spec.high, step=spec.step,
                     sampling=sampling)
    elif spec.kind == "choice":
        entry.update(values=list(spec.values), ordered=False)
    return _KINDS[spec.kind], entry


def _distribution_entry(dist):
    """The same for a parameter only seen in trials (from its Optuna distribution)."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        values = list(dist.choices)
        if values == [False, True]:
            return "Boolean", {"default": False, "conditions": "(from trials)"}
        return "Choice", {"default": values[0], "conditions": "(from trials)",
                          "values": values, "ordered": False}
    kind = "Int" if isinstance(dist, optuna.distributions.IntDistribution) else "Float"
    return kind, {"default": dist.low, "conditions": "(from trials)", "min_value": dist.low,
                  "max_value": dist.high, "step": dist.step,
                  "sampling": "log" if dist.log else "linear"}


def space_text(hp, trials=()):
    """The search space: ``hp`` (a default build's asks) then parameters only trials asked.

    Args:
        hp: a :class:`HyperParameters` after a build with defaults.
        trials: finished ``FrozenTrial``s; their distributions add the conditional
            parameters the default build did not reach.

    Returns:
        KerasTuner's text (``name (Kind)`` then the config dict, per parameter).
    """
    entries = {name: _spec_entry(spec, hp.conditions.get(name, ()))
               for name, spec in hp.space.items()}
    for trial in trials:
        for name, dist in trial.distributions.items():
            if name not in entries:
                entries[name] = _distribution_entry(dist)
    for name, value in hp.fixed.items():
        entries.setdefault(name, ("Fixed", {"conditions": [], "value": value}))
    lines = ["Search space summary", f"Default search space size: {len(entries)}"]
    for name, (kind, entry) in entries.items():
        lines += [f"{name} ({kind})", str(entry)]
    return "\n".join(lines)


def results_text(tuner, trials):
    """KerasTuner's results layout for ``trials`` (best first): each trial's values, its
    score, and the error of failed executions; thawnet adds the epochs run."""
    lines = ["Results summary", f"Results in {tuner.project_dir}",
             f"Showing {len(trials)} best trials", repr(tuner.objective_spec)]
    for trial in trials:
        lines += ["", f"Trial {trial.number:04d} summary", "Hyperparameters:"]
        for name, value in tuner.trial_values(trial).items():
            lines.append(f"{name}: {value}")
        lines.append(f"Score: {trial.value}")
        if "epochs" in trial.user_attrs:
            lines.append(f"Epochs: {trial.user_attrs['epochs']}")
    return "\n".join(lines)
