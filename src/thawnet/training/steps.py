"""The compiled train / test / predict functions.

Each is one ``jax.jit`` function over an explicit state: forward, loss, gradient, optimizer
update and metric accumulation all run in one device call, for one batch or for ``k`` batches
under ``lax.scan`` (``steps_per_execution``). Batches come from the on-device data set through
:func:`thawnet.training.data.gather_rows`, or, for streamed data (generators, PyDataset), as
device arrays from the prefetching thread (:mod:`thawnet.training.stream_loop`): the same
``(x, y, sample_weight)`` tuple either way, so both paths run the same programs, which depend
on the batch shape only.
The state is donated, so XLA updates weights and optimizer slots in place.

The state is ``{"trainable", "non_trainable", "opt_state", "metrics", "rng"}``. Gradients are
taken with respect to ``trainable`` only: a frozen weight is in ``non_trainable`` and is passed
through the step untouched, so it keeps its exact bits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from thawnet import constraints as constraints_lib
from thawnet.backend import scope as scope_lib
from thawnet.optimizers.loss_scale_optimizer import current_loss_scale
from thawnet.training import nonfinite_guard
from thawnet.training.compile_utils import batch_size_of


def _scan_or_single(step, state, batches, stacked):
    if not stacked:
        return step(state, batches)
    state, _ = jax.lax.scan(lambda s, b: (step(s, b), None), state, batches)
    return state


def _weight_constraints(model):
    """``{path: constraint}`` for the model's weights that have one (names resolved)."""
    out = {}
    for path, variable in model.variables_by_path().items():
        if variable.constraint is not None:
            out[path] = constraints_lib.get(variable.constraint, f'weight "{path}": ')
    return out


def apply_constraints(trainable, constraints):
    """Map each trainable value through its weight's constraint (Keras applies them right
    after the optimizer update). Only the trainable map is touched: a frozen weight's
    constraint is never applied, so it keeps its exact bits."""
    return {path: (constraints[path](value).astype(value.dtype) if path in constraints
                   else value) for path, value in trainable.items()}


def make_train_function(model, tx, compiled_loss, metric_set, guard_nan=False, steps=1,
                        distribute=None):
    """``fn(state, batches) -> state`` running ``steps`` training steps (``batches`` stacked
    along a leading axis when ``steps > 1``)."""
    constraints = _weight_constraints(model)

    def step(state, batch):
        if distribute is not None:
            batch = distribute.constrain_batch(batch)
        x, y, sw = batch
        rng, step_rng = jax.random.split(state["rng"])

        def objective(trainable):
            y_pred, new_nt, reg = model.stateless_call(
                trainable, state["non_trainable"], x, training=True, rng=step_rng,
                return_losses=True)
            # compile() without a loss: add_loss / regularizer losses alone, as in Keras.
            data_loss, parts = (compiled_loss(y, y_pred, sw) if compiled_loss is not None
                                else (jnp.zeros((), jnp.float32), {}))
            loss = data_loss + reg
            # A LossScaleOptimizer (float16): differentiate loss * scale; it unscales.
            return (loss if scale is None else loss * scale), (loss, y_pred, new_nt, parts)

        scale = current_loss_scale(state["opt_state"])
        with scope_lib.counting_key_draws() as drawn:
            (_, (loss, y_pred, new_nt, parts)), grads = jax.value_and_grad(
                objective, has_aux=True)(state["trainable"])
        if not drawn:
            rng = state["rng"]  # nothing random ran: XLA drops the unused split
        updates, opt_state = tx.update(grads, state["opt_state"], state["trainable"])
        trainable = optax.apply_updates(state["trainable"], updates)
        if constraints:
            trainable = apply_constraints(trainable, constraints)
        new = {"trainable": trainable, "non_trainable": new_nt, "opt_state": opt_state,
               "rng": rng}
        metrics = metric_set.update(state["metrics"], loss, parts, y, y_pred, sw,
                                    batch_size_of(x))
        if guard_nan:
            # TerminateOnNaN: a non-finite loss or update, and every later step of this call,
            # leaves the state as it was (see nonfinite_guard).
            return nonfinite_guard.guard_step(state, new, loss, metrics)
        new["metrics"] = metrics
        return new

    def run(state, batches):
        if guard_nan:
            state = nonfinite_guard.with_fresh_guard(state)
        return _scan_or_single(step, state, batches, steps > 1)

    return jax.jit(run, donate_argnums=(0,))


def make_test_function(model, compiled_loss, metric_set, distribute=None):
    """``fn(weights, metrics, batch) -> metrics``: loss and metrics in inference mode.

    Only the metric state is donated: the weights are the model's own arrays.
    """

    def step(weights, metrics, batch):
        if distribute is not None:
            batch = distribute.constrain_batch(batch)
        x, y, sw = batch
        y_pred, _, reg = model.stateless_call(weights["trainable"], weights["non_trainable"], x,
                                              training=False, return_losses=True)
        loss, parts = compiled_loss(y, y_pred, sw) if compiled_loss else (jnp.zeros(()), {})
        return metric_set.update(metrics, loss + reg, parts, y, y_pred, sw, batch_size_of(x))

    def run(weights, metrics, batch):
        return step(weights, metrics, batch)

    return jax.jit(run, donate_argnums=(1,))


def make_predict_function(model, carried=()):
    """``fn(values, x) -> outputs`` for one batch; with ``carried`` paths (state a stateful
    RNN carries between inference calls) ``fn(values, x) -> (outputs, {path: new value})``."""

    def run(values, x):
        outputs, new = model.stateless_call({}, values, x, training=False)
        if carried:
            return outputs, {p: new[p] for p in carried}
        return outputs

    return jax.jit(run)


def make_results_function(metric_set):
    return jax.jit(metric_set.results)
