"""Keras 3's JAX training-step API on thawnet models: ``train_step``, ``test_step``,
``predict_step``, ``compute_loss``, ``compute_loss_and_updates``, ``metrics``.

A subclass overrides them with Keras 3's JAX signatures (the guide "Customizing what happens
in fit() with JAX")::

    class MyModel(thawnet.Model):
        def train_step(self, state, data):
            trainable, non_trainable, optimizer_vars, metrics_vars = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (_, y_pred, non_trainable, metrics_vars)), grads = grad_fn(
                trainable, non_trainable, metrics_vars, x, y, None, training=True)
            trainable, optimizer_vars = self.optimizer.stateless_apply(
                optimizer_vars, grads, trainable)
            ...
            return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)

``fit``, ``evaluate`` and ``predict`` compile the override with ``jax.jit`` (see
:mod:`thawnet.training.custom_step_functions`). The defaults here are what the built-in step
computes, written in the list form, so an override can call ``super().train_step(...)``.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import jax
import jax.numpy as jnp

from thawnet.backend import scope as scope_lib
from thawnet.backend.types import ArrayLike, TensorLike, TensorTree
from thawnet.layers.stateless_bridge import keras_lists_to_maps
from thawnet.metrics.base import Metric
from thawnet.optimizers.loss_scale_optimizer import current_loss_scale
from thawnet.training.compile_utils import _outputs_list, batch_size_of
from thawnet.training.keras_state import metric_slices
from thawnet.utils.data_packing import unpack_x_y_sample_weight


def _compiled_metrics(model) -> list:
    """The loss tracker, the compiled metrics (one ``CompileMetrics`` container) and the
    per-output loss trackers, in the order Keras lists them (empty before ``compile()``)."""
    metric_set = model.__dict__.get("_metric_set")
    if metric_set is None or not getattr(model, "compiled", False):
        return []
    container = getattr(metric_set, "compile_metrics", None)
    return ([metric_set.loss_tracker] + ([container] if container is not None else [])
            + [m for _, m in metric_set.output_loss_trackers])


def _metric_roles(metric_set) -> dict:
    """``{id(metric): (kind, log name, where, weighted)}`` for the compiled metrics."""
    roles = {id(metric_set.loss_tracker): ("loss", "loss", None, False)}
    for name, m in metric_set.output_loss_trackers:
        roles[id(m)] = ("part", m.name, name, False)
    # Keras: ``metrics`` ignore sample_weight, ``weighted_metrics`` take it.
    weighted = getattr(metric_set, "weighted", [True] * len(metric_set.entries))
    for (i, m, log_name), takes_weights in zip(metric_set.entries, weighted):
        roles[id(m)] = ("metric", log_name, i, takes_weights)
    container = getattr(metric_set, "compile_metrics", None)
    if container is not None:  # it routes outputs and sample weights itself
        roles[id(container)] = ("compile", None, None, None)
    return roles


def _tracked_metrics(model) -> list:
    """Metric objects held as attributes of the model or its layers (Keras tracks them:
    ``self.loss_tracker = Mean(name="loss")`` in ``__init__``)."""
    layers = [model] + list(getattr(model, "_all_layers", lambda: [])())
    found = []
    for layer in layers:
        for key, value in vars(layer).items():
            values = value if isinstance(value, (list, tuple)) else [value]
            found.extend(v for v in values if isinstance(v, Metric) and key != "_metric_set")
    return found


class KerasSteps:
    """Keras 3's step methods of :class:`thawnet.models.Model` (mixed into the trainer)."""

    # -- metrics -----------------------------------------------------------------------------
    @property
    def metrics(self) -> list:
        """The metric objects a step updates: the compiled ones (loss tracker first), then
        the metrics the model and its layers hold as attributes. Override it to list your
        own trackers (as in Keras's guide); ``fit`` resets them every epoch."""
        out, seen = [], set()
        for metric in _compiled_metrics(self) + _tracked_metrics(self):
            if id(metric) not in seen:
                seen.add(id(metric))
                out.append(metric)
        return out

    @property
    def _loss_tracker(self):
        """Keras 3's loss tracker (``Mean`` named "loss"), or None before ``compile()``."""
        metric_set = self.__dict__.get("_metric_set")
        return None if metric_set is None else metric_set.loss_tracker

    @property
    def _compile_metrics(self):
        """Keras 3's ``CompileMetrics`` container, or None without compiled metrics."""
        return getattr(self.__dict__.get("_metric_set"), "compile_metrics", None)

    @property
    def metrics_variables(self) -> list:
        """The state of every metric of :attr:`metrics`, flattened in that order."""
        return [v for m in self.metrics for v in m.variables]

    def reset_metrics(self) -> None:
        """Reset the state of every metric of :attr:`metrics`."""
        for metric in self.metrics:
            metric.reset_state()

    # -- losses ------------------------------------------------------------------------------
    def compute_loss(self, x: TensorTree | Iterable[Any] | None = None, y: TensorTree | None = None,
                     y_pred: TensorLike | None = None, sample_weight: TensorLike | None = None,
                     training: bool | None = True) -> jax.Array:
        """The total loss: the compiled loss, plus every loss in ``self.losses`` (``add_loss``
        values and weight penalties), each summed to a scalar.

        Args:
            x: the inputs (unused by the default, given to overrides).
            y: the targets.
            y_pred: the predictions.
            sample_weight: per-sample weights for the compiled loss.
            training: whether this is a training step (unused by the default).

        Returns:
            A scalar (0 when there is no loss at all).
        """
        del x, training
        losses = []
        compiled = self.__dict__.get("_compiled_loss")
        if compiled is not None and y is not None:
            losses.append(compiled(y, y_pred, sample_weight)[0])
        losses.extend(jnp.sum(jnp.asarray(loss, jnp.float32)) for loss in self.losses)
        if not losses:
            return jnp.zeros((), jnp.float32)
        return sum(losses[1:], losses[0])

    def compute_loss_and_updates(self, trainable_variables: list, non_trainable_variables: list,
                                 metrics_variables: list, x: TensorTree | Iterable[Any],
                                 y: TensorTree, sample_weight: TensorLike | None,
                                 training: bool | None = False,
                                 optimizer_variables: Sequence[ArrayLike] | None = None) -> tuple:
        """The forward pass and the loss, as a pure function of the weights (for
        ``jax.value_and_grad(..., has_aux=True)``).

        Inside, ``self.losses`` are the losses of this forward pass (``add_loss`` values and
        the penalties of the values given), so ``compute_loss`` sees them.

        Args:
            trainable_variables: list in the order of ``trainable_variables``.
            non_trainable_variables: list in the order of ``non_trainable_variables``.
            metrics_variables: passed through (a ``compute_loss`` override may use them).
            x, y, sample_weight: the batch.
            training: training mode (Dropout active, statistics updated).
            optimizer_variables: the optimizer state list; in training, a
                LossScaleOptimizer's scale in it multiplies the returned loss (Keras).

        Returns:
            ``(loss, (unscaled_loss, y_pred, non_trainable_variables, metrics_variables))``.
        """
        trainable, non_trainable = keras_lists_to_maps(
            self, trainable_variables, non_trainable_variables)
        y_pred, new_nt, _, added, owners = self._run_stateless(
            trainable, non_trainable, x, training, None, True, {})
        by_path = self.variables_by_path()
        bound = {by_path[p]: v for part in (trainable, non_trainable) for p, v in part.items()}
        with scope_lib.StatelessScope(bound, collect_losses=True) as scope:
            scope.losses.extend(added)
            scope.loss_owners.extend(owners)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=training)
        new_values = [new_nt[p] for p in non_trainable]
        layout = getattr(getattr(self, "optimizer", None), "_stateless_layout", None)
        scale = None
        if training and optimizer_variables is not None and layout is not None:
            scale = current_loss_scale(jax.tree_util.tree_unflatten(
                layout.treedef, list(optimizer_variables)))
        scaled = loss if scale is None else loss * scale
        return scaled, (loss, y_pred, new_values, list(metrics_variables))

    # -- the steps ---------------------------------------------------------------------------
    def _stateless_update_metrics(self, metrics_variables, loss, x, y, y_pred,
                                  sample_weight=None) -> tuple:
        """Update the compiled metrics of :attr:`metrics` on one batch (pure).

        The loss tracker takes ``loss`` (weighted by the batch size), per-output trackers
        their output's loss, compiled metrics ``(y, y_pred, sample_weight)``; other metrics
        are left as they are (a custom step updates its own).

        Returns:
            ``(logs, new_metrics_variables)``: logs of every compiled metric.
        """
        metrics = self.metrics
        slices = metric_slices(metrics, metrics_variables)
        metric_set = self.__dict__.get("_metric_set")
        roles, parts = {}, {}
        if metric_set is not None:
            roles = _metric_roles(metric_set)
            compiled = self.__dict__.get("_compiled_loss")
            if metric_set.output_loss_trackers and compiled is not None and y is not None:
                parts = compiled(y, y_pred, sample_weight)[1]
        ys, ps = _outputs_list(y), _outputs_list(y_pred)
        batch = jnp.asarray(batch_size_of(x), jnp.float32)
        logs, out = {}, []
        for metric, values in zip(metrics, slices):
            kind, log_name, where, weighted = roles.get(id(metric), (None,) * 4)
            if kind == "loss":
                values = metric.stateless_update_state(values, loss, batch)
            elif kind == "part":
                values = metric.stateless_update_state(values, parts.get(where, 0.0), batch)
            elif kind == "metric" and y is not None:
                values = metric.stateless_update_state(
                    values, ys[where], ps[where], sample_weight if weighted else None)
            elif kind == "compile" and y is not None:
                values = metric.stateless_update_state(values, y, y_pred, sample_weight)
            if kind == "compile":
                logs.update(metric.stateless_result(values))
            elif kind is not None:
                logs[log_name] = metric.stateless_result(values)
            out.extend(values)
        return logs, out

    def train_step(self, state: tuple, data: Any) -> tuple:
        """One training step in Keras 3's JAX form (override it; see the module docstring).

        Args:
            state: ``(trainable_variables, non_trainable_variables, optimizer_variables,
                metrics_variables)``, lists.
            data: the batch: ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.

        Returns:
            ``(logs, state)``: a dict of scalars, and the new state in the same form.
        """
        trainable, non_trainable, optimizer_values, metric_values = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (_, (loss, y_pred, non_trainable, metric_values)), grads = grad_fn(
            trainable, non_trainable, metric_values, x, y, sample_weight, training=True,
            optimizer_variables=optimizer_values)
        trainable, optimizer_values = self.optimizer.stateless_apply(
            optimizer_values, grads, trainable)
        logs, metric_values = self._stateless_update_metrics(
            metric_values, loss, x, y, y_pred, sample_weight)
        return logs, (trainable, non_trainable, optimizer_values, metric_values)

    def test_step(self, state: tuple, data: Any) -> tuple:
        """One evaluation step in Keras 3's JAX form.

        Args:
            state: ``(trainable_variables, non_trainable_variables, metrics_variables)``.
            data: the batch, as for :meth:`train_step`.

        Returns:
            ``(logs, state)``.
        """
        trainable, non_trainable, metric_values = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        loss, (_, y_pred, non_trainable, metric_values) = self.compute_loss_and_updates(
            trainable, non_trainable, metric_values, x, y, sample_weight, training=False)
        logs, metric_values = self._stateless_update_metrics(
            metric_values, loss, x, y, y_pred, sample_weight)
        return logs, (trainable, non_trainable, metric_values)

    def predict_step(self, state: tuple, data: Any) -> Any:
        """One prediction step in Keras 3's JAX form.

        Args:
            state: ``(trainable_variables, non_trainable_variables)``.
            data: the batch: ``(x,)`` (or ``x``).

        Returns:
            ``(outputs, non_trainable_variables)``, as Keras's JAX backend returns them (an
            override may also return the outputs alone).
        """
        trainable, non_trainable = state
        x, _, _ = unpack_x_y_sample_weight(data)
        return self.stateless_call(trainable, non_trainable, x, training=False)
