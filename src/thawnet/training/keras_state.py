"""Keras 3's list form of the trainer state, and back.

thawnet's compiled steps carry weights as ``{path: array}`` maps. A custom ``train_step``
written for Keras 3's JAX backend takes them as lists instead::

    state = (trainable_variables,       # order of model.trainable_variables
             non_trainable_variables,   # order of model.non_trainable_variables
             optimizer_variables,       # the optimizer state, flattened
             metrics_variables)         # order of model.metrics, each metric's variables

Both orders are the model's weight order split by effective trainability
(:meth:`~thawnet.layers.Layer.trainable_split`), so a frozen weight is never in
``trainable_variables``. The metric state of a custom step is a :class:`CustomMetricState`:
the metric values and the logs the last step returned.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class CustomMetricState(NamedTuple):
    """The metric state a custom ``train_step`` / ``test_step`` carries.

    Attributes:
        variables: ``metrics_variables``: each metric of ``model.metrics`` in turn, its
            state as a flat list (``metric.variables``).
        logs: the logs the last step returned (None before the first step).
    """

    variables: list
    logs: Any


def metric_slices(metrics, values) -> list:
    """Split ``metrics_variables`` into one list per metric of ``metrics``.

    Args:
        metrics: the metric objects (``model.metrics``).
        values: the flat list.

    Returns:
        A list of lists, one per metric.
    """
    values = list(values)
    sizes = [len(m.variables) for m in metrics]
    if sum(sizes) != len(values):
        raise ValueError(
            f"metrics_variables has {len(values)} value(s), but model.metrics "
            f"{[m.name for m in metrics]} hold {sum(sizes)} ({sizes}). Pass the "
            "metrics_variables of the state, in the order of model.metrics.")
    out, start = [], 0
    for size in sizes:
        out.append(values[start:start + size])
        start += size
    return out


def fresh_metric_state(model) -> CustomMetricState:
    """Every metric of ``model.metrics`` reset, as a custom step's metric state."""
    values = [v for m in model.metrics for v in m.stateless_reset_state()]
    return CustomMetricState([jnp.asarray(v) for v in values], None)


def write_back_metrics(model, metric_state: CustomMetricState) -> None:
    """Give each metric object its values from a custom step (``metric.result()`` after
    ``fit`` then reads them, as in Keras)."""
    metrics = model.metrics
    for metric, values in zip(metrics, metric_slices(metrics, metric_state.variables)):
        metric.state = metric._state_from(values)


def train_state_to_lists(state: dict, key, metric_values) -> tuple:
    """thawnet's train state -> Keras's 4-tuple (and the optimizer state's structure).

    Args:
        state: ``{"trainable", "non_trainable", "opt_state", ...}``.
        key: the split key ``(trainable_paths, non_trainable_paths, flags)``.
        metric_values: the metrics variables.

    Returns:
        ``((trainable, non_trainable, optimizer, metrics), optimizer_treedef)``.
    """
    trainable_paths, frozen_paths, _ = key
    opt_values, opt_def = jax.tree_util.tree_flatten(state["opt_state"])
    return ([state["trainable"][p] for p in trainable_paths],
            [state["non_trainable"][p] for p in frozen_paths],
            opt_values, list(metric_values)), opt_def


def checked_lists(step_name: str, received, given: tuple, names: tuple) -> list:
    """The state a custom step returned, checked against the one it was given, each value
    cast to the dtype it had (so ``steps_per_execution`` can carry it).

    Args:
        step_name: ``"train_step"`` or ``"test_step"``, for messages.
        received: the state the step returned.
        given: the state it received.
        names: a name for each part (``"trainable_variables"``, ...).

    Returns:
        The parts, as lists of arrays.
    """
    if not isinstance(received, (tuple, list)) or len(received) != len(given):
        raise ValueError(
            f"{step_name} must return (logs, state) with state a tuple of {len(given)} "
            f"lists ({', '.join(names)}), as it received; received a state of type "
            f"{type(received).__name__}"
            f"{f' with {len(received)} parts' if isinstance(received, (tuple, list)) else ''}.")
    out = []
    for name, new, old in zip(names, received, given):
        new = list(new)
        if len(new) != len(old):
            raise ValueError(
                f"{step_name} returned {len(new)} {name}; it received {len(old)}. Return "
                "one value for each, in the same order.")
        part = []
        for i, (a, b) in enumerate(zip(new, old)):
            a = jnp.asarray(a)
            if a.shape != b.shape:
                raise ValueError(
                    f"{step_name} returned {name}[{i}] with shape {a.shape}; it received "
                    f"shape {b.shape}. A step must keep every shape.")
            part.append(a.astype(b.dtype))
        out.append(part)
    return out


def logs_to_floats(logs) -> dict:
    """A step's logs as Python floats; nested dicts (Keras's ``compile_metrics``) are
    flattened into their entries."""
    out = {}
    for name, value in (jax.device_get(logs) or {}).items():
        if isinstance(value, dict):
            out.update(logs_to_floats(value))
        else:
            out[name] = float(np.asarray(value))
    return out


def first_loss(logs):
    """The ``"loss"`` entry of a step's logs (TerminateOnNaN's check), or 0."""
    if isinstance(logs, dict) and "loss" in logs:
        return jnp.asarray(logs["loss"])
    return jnp.zeros(())
