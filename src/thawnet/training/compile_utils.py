"""What ``compile()`` turns its arguments into: one loss over all outputs, and the metrics.

Both are pure functions of arrays, so the compiled step can run them; metric state is a pytree
that stays on the device between progress updates.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet import losses as losses_lib
from thawnet import metrics as metrics_lib
from thawnet.training.loss_masking import masked_sample_weight


def _per_output(value, names, what):
    """Spread a compile argument over the outputs: one for all, a list, or a dict by name
    (an empty list or None: nothing for any output)."""
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return [None] * len(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile(): {what} names unknown outputs {unknown}; the model's "
                             f"outputs are {names}.")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(f"compile(): {what} has {len(value)} entries but the model has "
                             f"{len(names)} outputs {names}.")
        return list(value)
    return [value] * len(names)


def resolve_output_names(names, loss):
    """The output names a compile argument refers to. A subclassed model's outputs are
    unknown before its first call (``names == ["output"]``): a loss list of ``k`` entries
    names them ``output_1..k``, a loss dict by its keys (Keras matches them to the
    structure ``call`` returns)."""
    if names != ["output"]:
        return names
    if isinstance(loss, dict) and len(loss) > 1:
        return list(loss)
    if isinstance(loss, (list, tuple)) and len(loss) > 1:
        return [f"output_{i + 1}" for i in range(len(loss))]
    return names


class CompiledLoss:
    """``sum_i loss_weight_i * loss_i(y_true_i, y_pred_i, sample_weight)`` over the outputs."""

    def __init__(self, loss, loss_weights, output_names):
        if loss is None:
            raise ValueError("compile(): a loss is required for training, e.g. "
                             "loss='sparse_categorical_crossentropy'.")
        self.output_names = output_names
        self.losses = [None if entry is None else losses_lib.get(entry)
                       for entry in _per_output(loss, output_names, "loss")]
        weights = 1.0 if loss_weights is None else loss_weights
        self.weights = [1.0 if w is None else float(w)
                        for w in _per_output(weights, output_names, "loss_weights")]
        self.raw = loss

    def __call__(self, y_true, y_pred, sample_weight):
        ys, ps = _outputs_list(y_true), _outputs_list(y_pred)
        total, parts = jnp.zeros((), jnp.float32), {}
        for name, fn, w, yt, yp in zip(self.output_names, self.losses, self.weights, ys, ps):
            if fn is None:
                continue
            # Keras 3: the output's mask (padded timesteps) is folded into the weights.
            weights = masked_sample_weight(yp, sample_weight,
                                           getattr(fn, "reduction", "sum_over_batch_size"))
            value = fn(yt, yp, sample_weight=weights)
            parts[name] = value
            total = total + w * value
        return total, parts


def _outputs_list(value):
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class MetricSet:
    """The loss tracker, per-output loss trackers and the compiled metrics.

    ``init()``/``update()``/``results()`` are pure; names follow Keras's logs ("loss",
    "accuracy", "dense_2_loss", "dense_2_accuracy" for several outputs). As in Keras,
    ``metrics`` ignore ``sample_weight`` (so ``class_weight`` changes the loss only) and
    ``weighted_metrics`` receive it; a weighted metric whose name is taken is logged as
    ``weighted_<name>``.
    """

    def __init__(self, metrics, compiled_loss, output_names, weighted_metrics=None):
        self.output_names = output_names
        self.loss_tracker = metrics_lib.Mean(name="loss")
        multi = len(output_names) > 1
        self.output_loss_trackers = [(n, metrics_lib.Mean(name=f"{n}_loss"))
                                     for n in output_names] if multi else []
        self.entries = []  # (output index, metric, log name)
        self.weighted = []  # whether each entry receives sample_weight
        for weighted, given in ((False, metrics), (True, weighted_metrics)):
            per_output = _per_output(given, output_names, "weighted_metrics" if weighted
                                     else "metrics")
            for i, (name, group) in enumerate(zip(output_names, per_output)):
                group = [] if group is None else (group if isinstance(group, (list, tuple))
                                                  else [group])
                loss_i = compiled_loss.losses[i] if compiled_loss is not None else None
                for ident in group:
                    metric = metrics_lib.get(ident, loss=_loss_name(loss_i, compiled_loss))
                    log_name = f"{name}_{metric.name}" if multi else metric.name
                    if weighted and log_name in [n for _, _, n in self.entries]:
                        log_name = (f"{name}_weighted_{metric.name}" if multi
                                    else f"weighted_{metric.name}")
                    self.entries.append((i, metric, log_name))
                    self.weighted.append(weighted)
        names = [n for _, _, n in self.entries]
        if len(set(names)) != len(names):
            raise ValueError(f"compile(): two metrics would be logged under the same name: "
                             f"{names}. Give them distinct names.")
        # Keras 3 lists all compiled metrics as one container in model.metrics.
        self.compile_metrics = (metrics_lib.CompileMetrics(self.entries, self.weighted)
                                if self.entries else None)

    def init(self):
        return {"loss": self.loss_tracker.init_state(),
                "outputs": [m.init_state() for _, m in self.output_loss_trackers],
                "metrics": [m.init_state() for _, m, _ in self.entries]}

    def update(self, state, loss, parts, y_true, y_pred, sample_weight, batch_size):
        ys, ps = _outputs_list(y_true), _outputs_list(y_pred)
        bs = jnp.asarray(batch_size, jnp.float32)
        new = {"loss": self.loss_tracker.update(state["loss"], loss, bs),
               "outputs": [m.update(s, parts.get(n, 0.0), bs) for (n, m), s in
                           zip(self.output_loss_trackers, state["outputs"])],
               "metrics": [m.update(s, ys[i], ps[i], sample_weight if weighted else None)
                           for (i, m, _), weighted, s in
                           zip(self.entries, self.weighted, state["metrics"])]}
        return new

    def results(self, state):
        out = {"loss": self.loss_tracker.compute(state["loss"])}
        for (n, m), s in zip(self.output_loss_trackers, state["outputs"]):
            out[m.name] = m.compute(s)
        for (_, m, name), s in zip(self.entries, state["metrics"]):
            out[name] = m.compute(s)
        return out

    @property
    def metric_names(self):
        return ["loss"] + [m.name for _, m in self.output_loss_trackers] + [
            n for _, _, n in self.entries]

    def keras_metrics_names(self):
        """``model.metrics_names`` as Keras 3 gives it after training: "loss", then
        "compile_metrics" (one container for all compiled metrics) when there are any,
        then the per-output loss trackers."""
        return (["loss"] + (["compile_metrics"] if self.entries else [])
                + [m.name for _, m in self.output_loss_trackers])


def _loss_name(loss_obj, compiled_loss):
    if compiled_loss is None:
        return None
    raw = compiled_loss.raw
    if isinstance(raw, (str,)) or raw is None:
        return raw
    return loss_obj


def batch_size_of(x):
    return jax.tree_util.tree_leaves(x)[0].shape[0]


def check_loss_source(model, x, call: str) -> None:
    """``compile()`` without a loss is fine when the model's call adds one (``add_loss``) or
    a weight has a regularizer, as in Keras; otherwise there is nothing to minimise, and
    ``call`` (``"fit"``, ``"train_on_batch"``) is refused now, naming the fix.

    The check traces the model once on one abstract sample (no compilation, no real
    weights); a model found to add losses is not checked again.

    Args:
        model: the compiled model (its ``_compiled_loss`` is None).
        x: the input arrays of this call.
        call: the training call, for the message.

    Raises:
        ValueError: when neither a compiled loss nor any added loss exists.
    """
    leaves = jax.tree_util.tree_leaves(x, is_leaf=lambda a: hasattr(a, "shape"))
    if model.__dict__.get("_adds_losses") or not leaves or not all(
            hasattr(a, "shape") and hasattr(a, "dtype") for a in leaves):
        return  # nothing to probe with (a stream not yet started): the step decides
    by_path = model.variables_by_path()
    if any(v.regularizer is not None for v in by_path.values()):
        model._adds_losses = True
        return
    trainable, frozen = model.trainable_split()
    spec = {p: jax.ShapeDtypeStruct(v.shape, v.dtype) for p, v in by_path.items()}
    sample = jax.tree_util.tree_map(
        lambda a: jax.ShapeDtypeStruct((1,) + tuple(a.shape[1:]), a.dtype), x,
        is_leaf=lambda a: hasattr(a, "shape"))
    found = {}

    def probe(train_values, frozen_values, inputs):
        _, _, _, added, _ = model._run_stateless(
            train_values, frozen_values, inputs, True, jax.random.PRNGKey(0), True, {})
        found["added"] = len(added)
        return jnp.zeros(())

    jax.eval_shape(probe, {p: spec[p] for p in trainable}, {p: spec[p] for p in frozen},
                   sample)
    if found.get("added"):
        model._adds_losses = True
        return
    raise ValueError(
        f'Model "{model.name}" was compiled without a loss and its call adds none '
        f"(add_loss) and no weight has a regularizer, so {call}() has nothing to minimise. "
        "Pass one: model.compile(optimizer=..., loss=...), call self.add_loss(...) in "
        "call(), or override train_step.")
