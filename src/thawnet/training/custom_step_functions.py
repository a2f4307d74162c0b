"""Compiled functions that run a model's Keras-style ``train_step`` / ``test_step`` /
``predict_step`` inside ``fit``, ``evaluate`` and ``predict``.

They take and return the trainer's usual state (``{path: array}`` maps, the optax state, the
RNG), so the epoch loop, callbacks, checkpoints and the audit are the same as for the
built-in step; only the step in the middle is the model's. Around it:

* the state goes in as Keras's lists (:mod:`thawnet.training.keras_state`) and comes back
  checked: same lengths, shapes, dtypes;
* ``optimizer.stateless_apply`` learns which path each list entry is
  (:class:`~thawnet.optimizers.base.StatelessLayout`);
* the step runs inside a stateless scope holding the step's RNG key, so ``stateless_call``
  in training mode draws fresh Dropout masks at every step without an ``rng=`` argument;
* the logs the step returns travel in the metric state (:class:`CustomMetricState`) and are
  what ``fit`` reports. (Keras reports its metric objects' results instead when their names
  match the logs' keys, so a step that logs ``{"loss": loss}`` without updating the loss
  tracker shows ``loss: 0.0`` there; thawnet shows the step's value.)

A frozen weight is in ``non_trainable_variables``, never in ``trainable_variables``: an
override can only change it by returning another value there, which the audit after ``fit``
reports (and refuses unless the weight is a statistic).
"""

from __future__ import annotations

import jax

from thawnet.backend import scope as scope_lib
from thawnet.optimizers.base import StatelessLayout
from thawnet.training import nonfinite_guard
from thawnet.training.custom_steps import KerasSteps
from thawnet.training.keras_state import (CustomMetricState, checked_lists, first_loss,
                                          train_state_to_lists)
from thawnet.training.steps import _weight_constraints

# Overriding any of these makes fit / evaluate run the list-form step: Keras's default
# train_step calls compute_loss_and_updates, which calls compute_loss.
_HOOKS = {"train": ("train_step", "compute_loss_and_updates", "compute_loss"),
          "test": ("test_step", "compute_loss_and_updates", "compute_loss"),
          "predict": ("predict_step",)}
_TRAIN_PARTS = ("trainable_variables", "non_trainable_variables", "optimizer_variables",
                "metrics_variables")
_TEST_PARTS = ("trainable_variables", "non_trainable_variables", "metrics_variables")


def overrides(model, kind: str) -> bool:
    """Whether ``model``'s class overrides the ``kind`` step (``"train"``, ``"test"``,
    ``"predict"``) or a method that the default step calls."""
    return any(getattr(type(model), name) is not getattr(KerasSteps, name)
               for name in _HOOKS[kind])


def _keras_data(batch):
    """``(x, y, sample_weight)`` with None parts -> the shortest tuple Keras hands a step:
    ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
    x, y, sample_weight = batch
    if sample_weight is not None:
        return (x, y, sample_weight)
    return (x,) if y is None else (x, y)


def _without_logs(state):
    metrics = state["metrics"]
    return dict(state, metrics=CustomMetricState(list(metrics.variables), None))


def make_custom_train_function(model, key, tx, guard_nan=False, steps=1, distribute=None):
    """``fn(state, batches) -> state`` running the model's ``train_step`` ``steps`` times.

    Args:
        model: the model.
        key: the split key ``(trainable_paths, non_trainable_paths, flags)``.
        tx: the optax transformation of the compiled optimizer.
        guard_nan: mask a non-finite step and the rest of the call (TerminateOnNaN), judged
            on the step's ``logs["loss"]`` and the new weights.
        steps: steps per call (``lax.scan`` over stacked batches when above 1).
        distribute: a DataParallel strategy, or None.

    Returns:
        The function (compiled, state donated).
    """
    trainable_paths, frozen_paths, _ = key
    constraints = _weight_constraints(model)

    def step(state, batch):
        if distribute is not None:
            batch = distribute.constrain_batch(batch)
        rng, step_rng = jax.random.split(state["rng"])
        given, opt_def = train_state_to_lists(state, key, state["metrics"].variables)
        model.optimizer._stateless_layout = StatelessLayout(tx, opt_def, trainable_paths,
                                                            constraints)
        with scope_lib.StatelessScope(rng=step_rng), scope_lib.counting_key_draws() as drawn:
            result = model.train_step(given, _keras_data(batch))
        if not drawn:
            rng = state["rng"]  # nothing random ran: XLA drops the unused split
        logs, received = _split_result("train_step", result)
        trainable, non_trainable, opt_values, metric_values = checked_lists(
            "train_step", received, given, _TRAIN_PARTS)
        new = {"trainable": dict(zip(trainable_paths, trainable)),
               "non_trainable": dict(zip(frozen_paths, non_trainable)),
               "opt_state": jax.tree_util.tree_unflatten(opt_def, opt_values), "rng": rng}
        if guard_nan:
            old = dict(state, metrics=list(state["metrics"].variables))
            new = nonfinite_guard.guard_step(old, new, first_loss(logs), metric_values)
            metric_values = new["metrics"]
        new["metrics"] = CustomMetricState(list(metric_values), logs)
        return new

    def run(state, batches):
        if guard_nan:
            state = nonfinite_guard.with_fresh_guard(state)
        if steps == 1:
            return step(state, batches)

        def body(carry, batch):
            new = step(carry, batch)
            logs = new["metrics"].logs
            new["metrics"] = CustomMetricState(new["metrics"].variables, None)
            return new, logs

        state, all_logs = jax.lax.scan(body, state, batches)
        last = jax.tree_util.tree_map(lambda a: a[-1], all_logs)
        state["metrics"] = CustomMetricState(state["metrics"].variables, last)
        return state

    compiled = jax.jit(run, donate_argnums=(0,))
    # The logs of the previous call are not an input: the program's signature stays fixed.
    return lambda state, batches: compiled(_without_logs(state), batches)


def make_custom_test_function(model, key, distribute=None):
    """``fn(weights, metrics, batch) -> metrics`` running the model's ``test_step``.

    The weights a ``test_step`` returns are not kept: evaluation leaves the model as it is.
    """
    trainable_paths, frozen_paths, _ = key

    def run(weights, metrics, batch):
        if distribute is not None:
            batch = distribute.constrain_batch(batch)
        given = ([weights["trainable"][p] for p in trainable_paths],
                 [weights["non_trainable"][p] for p in frozen_paths], list(metrics.variables))
        logs, received = _split_result("test_step",
                                       model.test_step(given, _keras_data(batch)))
        _, _, metric_values = checked_lists("test_step", received, given, _TEST_PARTS)
        return CustomMetricState(metric_values, logs)

    compiled = jax.jit(run, donate_argnums=(1,))
    return lambda weights, metrics, batch: compiled(
        weights, CustomMetricState(list(metrics.variables), None), batch)


def make_custom_predict_function(model):
    """``fn(values, x) -> outputs`` running the model's ``predict_step`` on one batch
    (``values`` maps every path to its array)."""
    trainable_paths, frozen_paths = model.trainable_split()

    def run(values, x):
        non_trainable = [values[p] for p in frozen_paths]
        result = model.predict_step(([values[p] for p in trainable_paths], non_trainable),
                                    (x,))
        return _outputs_of(result, non_trainable)

    return jax.jit(run)


def _split_result(step_name, result):
    """``(logs, state)`` from what a step returned, or an error saying what came back."""
    if isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[0], dict):
        return result
    received = type(result).__name__
    if isinstance(result, (tuple, list)):
        received += f" of length {len(result)}"
        if result:
            received += f" starting with a {type(result[0]).__name__}"
    raise ValueError(f"{step_name} must return (logs, state): a dict of scalars and the new "
                     f"state; received a {received}.")


def _outputs_of(result, non_trainable):
    """Keras's JAX ``predict_step`` returns ``(outputs, non_trainable_variables)``; an override
    that returns only the outputs is accepted too."""
    if isinstance(result, tuple) and len(result) == 2 and \
            isinstance(result[1], (list, tuple)) and len(result[1]) == len(non_trainable) and \
            all(getattr(a, "shape", None) == b.shape for a, b in zip(result[1], non_trainable)):
        return result[0]
    return result
