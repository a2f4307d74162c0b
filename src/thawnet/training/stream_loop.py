"""The epoch loops of fit / evaluate / predict for streamed data (see ``stream_dataset``).

They call the very functions the array path compiles (``model._function("train", ...)``):
those take a batch tuple ``(x, y, sample_weight)`` on the device, whether it came from the
on-device gather of the array path or from the prefetching thread here. A streamed batch of
the shape an array batch had runs the same program, and a batch of a new shape (a short last
batch) compiles one more, once.

With ``steps_per_execution = k``, ``k`` batches of one shape are stacked on the device and run
in one call (``lax.scan``); a run of batches that differ in shape, or a tail shorter than
``k``, goes one by one, so only scan lengths ``k`` and 1 are compiled.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.training import nonfinite_guard
from thawnet.training.stream_dataset import StreamDataset


def _stack(*batches):
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *batches)


_stack_jit = jax.jit(_stack)


def _shape_key(batch):
    return tuple((a.shape, a.dtype) for a in jax.tree_util.tree_leaves(batch))


def _blocks(stepped, k):
    """``(first_step, size, batch_or_stack)`` from ``(step, batch)`` pairs: runs of ``k``
    equal shapes stacked, everything else one by one."""
    if k == 1:
        for step, batch in stepped:
            yield step, 1, batch
        return
    buffer = []
    for step, batch in itertools.chain(stepped, [(None, None)]):
        if buffer and (batch is None or _shape_key(batch) != _shape_key(buffer[0][1])):
            for s, b in buffer:
                yield s, 1, b
            buffer = []
        if batch is None:
            return
        buffer.append((step, batch))
        if len(buffer) == k:
            yield buffer[0][0], k, _stack_jit(*[b for _, b in buffer])
            buffer = []


def steps_per_call(model) -> int:
    """Batches per device call: ``steps_per_execution`` (what ``"auto"`` chose so far)."""
    k = model._steps_per_execution
    return model._auto_steps if k == "auto" else k


def train_epoch(model, train: StreamDataset, epoch, steps, key, holder, cbs, policy, guard_nan,
                by_path, skip=0) -> None:
    """One epoch of ``fit`` on a stream; ``holder["state"]`` always has the latest state.

    Arguments as :meth:`Trainer._train_epoch`. Sets ``model.stop_training`` when a
    generator has no batch left for the epochs still to run.
    """
    hooks = cbs.needs_batch_logs
    k = steps_per_call(model)
    for first, size, batch in _blocks(train.batches(epoch, skip), k):
        step = first + size - 1
        if hooks:
            cbs.on_train_batch_begin(step)
        fn = model._function("train", key, guard_nan=bool(guard_nan), steps=size)
        holder["state"] = fn(holder["state"], batch)
        if guard_nan:
            stop = nonfinite_guard.take_report(holder["state"], epoch, first)
            if stop is not None:
                model._write_back(holder["state"], by_path)
                for guard in guard_nan:
                    guard.on_nonfinite_step(stop)
        if model._distribute is not None and model._distribute.sync_each_step:
            jax.block_until_ready(holder["state"]["metrics"])
        if hooks:
            model._write_back(holder["state"], by_path)  # callbacks may read weights
            total = steps or train.steps
            wants = policy.wants(total is not None and step == total - 1)
            logs = model._results(holder["state"]["metrics"]) if wants else None
            cbs.on_train_batch_end(step, logs)
        if model.stop_training:
            return
    if cbs.params.get("steps") is None and train.steps is not None:
        # The length of a pass, learned now: the progress bar's target from here on.
        cbs.set_params(dict(cbs.params, steps=train.steps))
    if train.no_more_epochs(epoch):
        model.stop_training = True


def evaluate(model, dataset: StreamDataset, callbacks, policy=None) -> dict:
    """Loss and metrics over the stream's batches (one pass, or its ``steps``); ``{}`` when
    a generator had no batch left (a warning said so)."""
    key = model._split_key()
    state = model._start_state(key, with_optimizer=False)
    weights = {"trainable": state["trainable"], "non_trainable": state["non_trainable"]}
    fn = model._function("test", key)
    metrics = state["metrics"]
    seen = 0
    for step, batch in dataset.batches(0):
        if callbacks:
            callbacks.on_test_batch_begin(step)
        metrics = fn(weights, metrics, batch)
        seen += 1
        if callbacks:
            is_last = dataset.steps is not None and step == dataset.steps - 1
            wants = policy is not None and policy.wants(is_last)
            callbacks.on_test_batch_end(step, model._results(metrics) if wants else None)
        if getattr(model, "stop_evaluating", False):
            break
    return model._results(metrics) if seen else {}


def predict(model, dataset: StreamDataset, callbacks):
    """Outputs for every batch of the stream (its ``x`` only), concatenated as NumPy."""
    values = model._all_values()
    fn, carries = model._predict_fn(), model._carries_state()
    model.stop_predicting = False
    callbacks.on_predict_begin()
    chunks = []
    for step, batch in dataset.batches(0):
        callbacks.on_predict_batch_begin(step)
        chunks.append(model._predict_batch(fn, values, batch[0], carries))
        callbacks.on_predict_batch_end(step, {"outputs": chunks[-1]})
        if model.stop_predicting:
            break
    callbacks.on_predict_end()
    model._write_carried(values, carries)
    dataset.close()
    chunks = jax.device_get(chunks)
    return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=0), *chunks)


def placer(model):
    """How a streamed host batch goes to the device(s): ``jax.device_put``, or replicated
    over a DataParallel strategy's mesh (the step shards it, as it does arrays)."""
    distribute = model._distribute
    return jax.device_put if distribute is None else distribute.replicate
