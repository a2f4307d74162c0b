"""TerminateOnNaN inside the compiled step: a carried flag that stops applying steps.

With :class:`thawnet.callbacks.TerminateOnNaN` in ``fit``, each step checks that its loss and
the values it would write (trainable weights and statistics) are finite. The first step that
fails is not applied, and neither is any later step of the same device call: a ``stopped`` flag
carried through the ``lax.scan`` of ``steps_per_execution`` steps masks them. The model so ends
with the weights, statistics, optimizer state and RNG of the last finite step, whatever
``steps_per_execution`` is, and the host learns which step stopped from the guard's report.

The guarded step is its own compiled program: XLA may fuse it, and so round a few values
(BatchNormalization's moving statistics) in the last bits, unlike the unguarded step. Runs with
the guard are bit-identical among themselves for any ``steps_per_execution``.

The guard lives in the step state under :data:`GUARD_KEY` only inside one device call:
:func:`with_fresh_guard` adds it, the step updates it, :func:`take_report` removes it, so the
state the trainer carries between calls keeps its usual structure (no retracing).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

GUARD_KEY = "nonfinite_guard"
NON_FINITE_LOSS = 1
NON_FINITE_UPDATE = 2
_REASONS = {NON_FINITE_LOSS: "loss", NON_FINITE_UPDATE: "update"}
# The parts of the step state a masked step leaves as they were.
_GUARDED = ("trainable", "non_trainable", "opt_state", "rng")


@dataclasses.dataclass(frozen=True)
class NonFiniteStop:
    """Where a guarded ``fit`` stopped.

    Attributes:
        epoch: the epoch (0-based) of the step that was not applied.
        batch: that step's batch index within the epoch (0-based); the model holds the state
            after batch ``batch - 1`` (or from before the epoch when ``batch`` is 0).
        reason: ``"loss"`` (the loss was NaN/inf) or ``"update"`` (the loss was finite but
            the new weights or statistics were not, e.g. an overflowing update).
    """

    epoch: int
    batch: int
    reason: str


def with_fresh_guard(state: dict) -> dict:
    """``state`` plus a guard that has seen no step yet (called at the start of a device call).

    Args:
        state: the step state (``trainable``, ``non_trainable``, ``opt_state``, ``rng``,
            ``metrics``).

    Returns:
        A new dict with :data:`GUARD_KEY` added.
    """
    guard = {"stopped": jnp.zeros((), bool), "index": jnp.full((), -1, jnp.int32),
             "reason": jnp.zeros((), jnp.int32), "count": jnp.zeros((), jnp.int32)}
    return dict(state, **{GUARD_KEY: guard})


def _all_finite(tree) -> jax.Array:
    checks = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(tree)
              if jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)]
    return functools.reduce(jnp.logical_and, checks, jnp.ones((), bool))


def guard_step(state: dict, new: dict, loss: jax.Array, new_metrics) -> dict:
    """Apply ``new`` only if no earlier step stopped and this one is finite.

    Args:
        state: the state before the step, with its guard.
        new: the step's results for ``trainable``, ``non_trainable``, ``opt_state``, ``rng``.
        loss: the step's loss.
        new_metrics: the metric state including this step. The step that stops still counts
            (its NaN shows in the logs, as in Keras); steps after it do not.

    Returns:
        The state after the step: ``new`` or the old values, metrics, and the updated guard.
    """
    guard = state[GUARD_KEY]
    loss_ok = jnp.isfinite(loss)
    ok = loss_ok & _all_finite((new["trainable"], new["non_trainable"]))
    apply = ~guard["stopped"] & ok
    out = jax.tree_util.tree_map(lambda a, b: jnp.where(apply, a, b),
                                 {k: new[k] for k in _GUARDED},
                                 {k: state[k] for k in _GUARDED})
    out["metrics"] = jax.tree_util.tree_map(
        lambda a, b: jnp.where(guard["stopped"], b, a), new_metrics, state["metrics"])
    stops_here = ~guard["stopped"] & ~ok
    reason = jnp.where(loss_ok, NON_FINITE_UPDATE, NON_FINITE_LOSS).astype(jnp.int32)
    out[GUARD_KEY] = {"stopped": guard["stopped"] | ~ok,
                      "index": jnp.where(stops_here, guard["count"], guard["index"]),
                      "reason": jnp.where(stops_here, reason, guard["reason"]),
                      "count": guard["count"] + 1}
    return out


def take_report(state: dict, epoch: int, first_batch: int) -> NonFiniteStop | None:
    """Remove the guard from ``state`` (in place) and say where it stopped, if it did.

    This reads two scalars from the device (a sync), once per device call.

    Args:
        state: the state a guarded train function returned.
        epoch: the current epoch.
        first_batch: the batch index of the first step of that device call.

    Returns:
        A :class:`NonFiniteStop`, or None when every step was finite.
    """
    guard = jax.device_get(state.pop(GUARD_KEY))
    if not bool(guard["stopped"]):
        return None
    return NonFiniteStop(epoch=int(epoch), batch=int(first_batch) + int(guard["index"]),
                         reason=_REASONS[int(guard["reason"])])
