"""compile / fit / evaluate / predict, mixed into :class:`thawnet.models.Model`.

Keras's signatures and return values. What differs, on purpose:

* the trainable split is read at every ``fit``/``*_on_batch`` call and every epoch, so
  ``layer.trainable = False`` after ``compile()`` simply works (no recompile trap);
* ``fit`` audits the weights: ``history.audit`` says which changed and why, and a frozen weight
  that changed raises :class:`~thawnet.training.audit.AuditError`;
* ``train_on_batch`` returns the values of that batch (``reset_metrics=True``, as in Keras 2),
  not a running mean.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

import jax

from thawnet import optimizers as optimizers_lib
from thawnet.backend.types import Identifier, SeedLike, TensorLike, TensorTree
from thawnet.io import training_checkpoint as checkpoint_lib
from thawnet.training import freeze_warning
from thawnet.training import nonfinite_guard
from thawnet.training import weight_audit as audit_lib
from thawnet.training.compile_utils import (CompiledLoss, MetricSet, check_loss_source,
                                            resolve_output_names)
from thawnet.training.data import (ArrayDataset, class_weights_to_sample_weights,
                                   split_validation, to_arrays)
from thawnet.training.argument_checks import check_evaluate_arguments, check_fit_arguments
from thawnet.training.data_checks import check_training_data
from thawnet.training.custom_step_functions import overrides
from thawnet.training.custom_steps import KerasSteps
from thawnet.training.prediction import Prediction
from thawnet.training.trainer_state import TrainerState
from thawnet.training.training_state import TrainingState
from thawnet.training import stream_loop
from thawnet.training.data_sources import is_stream
from thawnet.training.stream_dataset import StreamDataset, make_stream
from thawnet.training.host_transfer import HostTransfer
from thawnet.training.step_blocks import (BatchLogPolicy as _BatchLogPolicy,
                                          BatchSource as _BatchSource, blocks as _blocks,
                                          resumed_blocks as _resumed_blocks)


class Trainer(KerasSteps, Prediction, TrainerState):
    """The training methods of :class:`thawnet.models.Model`."""

    # -- compile -------------------------------------------------------------------------------
    def compile(self, optimizer: Identifier = "rmsprop", loss: Identifier = None,
                loss_weights: Any = None, metrics: list | None = None, weighted_metrics: Any = None,
                run_eagerly: bool = False, steps_per_execution: int = 1, jit_compile: bool = True,
                auto_scale_loss: bool = True, seed: SeedLike = 0, distribute: Any = None) -> None:
        """Configure training (Keras 3's positional order, thawnet's extras last).

        Args:
            optimizer: a name (``"adam"``), a thawnet optimizer, or any
                ``optax.GradientTransformation``.
            loss: a name, Loss object or function; a list/dict for several outputs. May
                be None when ``add_loss`` (or a custom ``train_step``) gives the loss.
            loss_weights: weights of the per-output losses (list, or dict by output name).
            metrics: list of names/Metric objects (list of lists or dict for several outputs).
            weighted_metrics: metrics that also receive ``sample_weight`` / ``class_weight``
                (plain ``metrics`` ignore them, as in Keras).
            run_eagerly: accepted for Keras compatibility (steps are always compiled).
            auto_scale_loss: with the model's dtype policy ``"mixed_float16"``, wrap the
                optimizer in a ``LossScaleOptimizer`` (dynamic loss scaling), as Keras does.
            steps_per_execution: batches run per device call (``lax.scan``); raise it (8)
                for small models, where Python between steps costs more than the step.
                ``"auto"`` measures the first epoch and switches to 8 from the next epoch on
                when a step takes under 2 ms (one extra compilation then).
            jit_compile: accepted for Keras compatibility; steps are always compiled.
            seed: seed of the training randomness (Dropout masks, shuffling).
            distribute: a :class:`thawnet.distribute.DataParallel` strategy, to train
                data-parallel over its devices (and processes).
        """
        if steps_per_execution != "auto" and (
                not isinstance(steps_per_execution, int) or steps_per_execution < 1):
            raise ValueError("compile(): steps_per_execution must be a positive integer or "
                             f"'auto'; received {steps_per_execution!r}.")
        self.optimizer = optimizers_lib.get(optimizer)
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16" and not isinstance(
                self.optimizer, optimizers_lib.LossScaleOptimizer):
            self.optimizer = optimizers_lib.LossScaleOptimizer(self.optimizer)
        tx = self.optimizer.to_optax()
        names = resolve_output_names(self._output_names(), loss)
        self._compiled_loss = None if loss is None else CompiledLoss(loss, loss_weights, names)
        self._metric_set = MetricSet(metrics, self._compiled_loss, names, weighted_metrics)
        freeze_warning.remember_compiled_split(self)
        # One object holds the training state; a new loss, optimizer or metrics: new steps.
        self._training = TrainingState(tx=tx, seed=seed,
                                       steps_per_execution=steps_per_execution,
                                       distribute=distribute)
        self.optimizer._attach(self)  # optimizer.learning_rate reads this model's state
        self._functions.clear()

    @property
    def metrics_names(self) -> list:
        """Keras 3's ``metrics_names``: ``["loss", "compile_metrics", <output>_loss ...]``
        (the logs have one key per metric: see ``history.history``)."""
        metric_set = self.__dict__.get("_metric_set")
        return [] if metric_set is None else metric_set.keras_metrics_names()

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, x: TensorTree | Iterable[Any] | None = None, y: TensorTree | None = None,
            batch_size: int | None = None, epochs: int = 1, verbose: int | str = "auto",
            callbacks: list | None = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None, sample_weight: TensorLike | None = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1, audit: bool = True, resume_from: Any = None) -> Any:
        """Train for ``epochs`` epochs; returns a ``History`` (with ``history.audit``).

        Args are Keras's, plus: ``audit=False`` skips the before/after weight comparison (it
        costs one host copy of the weights); ``resume_from`` is a checkpoint folder (written by
        :class:`thawnet.callbacks.BackupAndRestore` or
        :func:`thawnet.io.training_checkpoint.save_checkpoint`) to continue from exactly: its
        weights, optimizer state, RNG, callback states, History and the running epoch's
        metric accumulators are restored.
        """
        # Imported here: thawnet.callbacks loads on first use (import thawnet stays light).
        from thawnet.callbacks import CallbackList, History, TerminateOnNaN

        self._require_compiled("fit")
        check_fit_arguments(
            self, x, y, sample_weight, epochs=epochs, batch_size=batch_size,
            validation_split=validation_split,
            validation_data=None if is_stream(validation_data) else validation_data,
            class_weight=None if is_stream(x) else class_weight,  # a stream: checked there
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
            validation_batch_size=validation_batch_size, validation_freq=validation_freq)
        verbose = 1 if verbose == "auto" else verbose
        if is_stream(x):  # generators, PyDataset, tf.data / DataLoader-like: streamed
            train = make_stream(x, y, sample_weight, where="fit()",
                                validation_split=validation_split, steps=steps_per_epoch,
                                shuffle=shuffle, seed=self._seed, class_weight=class_weight,
                                epochs=epochs, place=stream_loop.placer(self),
                                check_shapes=self.built)
        else:
            if validation_split and validation_data is None:
                (x, y, sample_weight), validation_data = split_validation(
                    x, y, sample_weight, validation_split)
            if class_weight is not None:
                sample_weight = class_weights_to_sample_weights(y, class_weight, sample_weight)
            train = ArrayDataset(x, y, sample_weight, batch_size, shuffle=shuffle,
                                 seed=self._seed)
        self._build_for(train.x)
        check_training_data(self, self._compiled_loss, train)
        if self._compiled_loss is None and not overrides(self, "train"):
            check_loss_source(self, getattr(train, "x", None), "fit")
        if self._distribute is not None:
            self._distribute.check_batch_size(train.batch_size)
            verbose = verbose if self._distribute.is_main_process else 0
        self._place_data(train)
        val = self._validation_dataset(validation_data, validation_batch_size or batch_size,
                                       steps=validation_steps)
        if val is not None:
            check_training_data(self, self._compiled_loss, val, "validation_data ")
        steps = train.steps if steps_per_epoch is None else min(steps_per_epoch, train.steps)

        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                           verbose=verbose, epochs=epochs, steps=steps)
        history = next(cb for cb in cbs.callbacks if isinstance(cb, History))
        # TerminateOnNaN is exact: the compiled step masks a non-finite step and the rest
        # of its block, and these callbacks hear where (nonfinite_guard).
        guard_nan = [cb for cb in cbs.callbacks if isinstance(cb, TerminateOnNaN)]
        policy = _BatchLogPolicy(cbs, verbose)
        trained_paths = set()
        self.stop_training = False
        logs = {}
        self._active_callbacks = cbs.callbacks
        self._resume_point = None
        if resume_from is not None:
            self._resume_point = checkpoint_lib.resume_training(self, resume_from, cbs.callbacks)
        cbs.on_train_begin()
        resume = self._resume_point  # set by resume_from or by BackupAndRestore
        if resume is not None:
            checkpoint_lib.restore_history(history, resume.history)
        before = audit_lib.snapshot(self) if audit else None
        resume_epoch, skip = (resume.epoch, resume.step) if resume else (initial_epoch, 0)
        for epoch in range(max(initial_epoch, resume_epoch), epochs):
            key = self._split_key()
            freeze_warning.warn_if_frozen_since_compile(self, key, "fit")
            trained_paths |= set(key[0])
            holder = {"state": self._start_state(key, with_optimizer=True)}
            # optimizer.learning_rate = x in a callback writes into this epoch's state.
            self._live_train_state = holder
            if resume is not None and epoch == resume_epoch and resume.metrics is not None:
                # Mid-epoch resume: the epoch's logs average all its batches, as uninterrupted.
                holder["state"]["metrics"] = self._place(resume.metrics)
            by_path = self.variables_by_path()
            cbs.on_epoch_begin(epoch)
            try:
                self._train_epoch(train, epoch, steps, key, holder, cbs, policy, guard_nan,
                                  by_path, skip if epoch == resume_epoch else 0)
            finally:
                # Steps donate their inputs: point the variables at the newest arrays, even
                # when an exception or KeyboardInterrupt ends the epoch early.
                self._write_back(holder["state"], by_path)
            logs = self._results(holder["state"]["metrics"])
            if val is not None and (epoch + 1) % validation_freq == 0:
                # As Keras: validation is an evaluate() on fit's callbacks (test hooks fire).
                self.stop_evaluating = False
                cbs.on_test_begin()
                val_logs = self._evaluate_dataset(val, validation_steps, cbs, policy)
                cbs.on_test_end(val_logs)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self._live_train_state = None
        cbs.on_train_end(logs)
        if audit:
            history.audit = audit_lib.compare(self, before, trained_paths).check()
        return history

    def _train_epoch(self, train, epoch, steps, key, holder, cbs, policy, guard_nan, by_path,
                     skip=0):
        """Run one epoch's steps (from batch ``skip`` on, when resuming);
        ``holder["state"]`` always has the latest state."""
        if isinstance(train, StreamDataset):
            return stream_loop.train_epoch(self, train, epoch, steps, key, holder, cbs, policy,
                                           guard_nan, by_path, skip)
        training = self._training
        auto = training.steps_per_execution == "auto"
        k = training.auto_steps if auto else training.steps_per_execution
        hooks = cbs.needs_batch_logs  # no batch-level callback: skip the per-batch Python
        total = steps or train.steps
        clock = {"calls": 0, "start": None}
        transfer = training.host_transfer.setdefault(train.batch_size, HostTransfer())
        transfer.restart_epoch()
        source = _BatchSource(train, self._place, self._distribute is not None, transfer)
        fns = {}  # by block size: at most two (k and 1), looked up once per epoch
        for first, idx in train.index_batches(epoch, steps):
            table = source.table(idx)
            for start, size in _resumed_blocks(idx.shape[0], k, skip - first):
                step = first + start + size - 1
                if hooks:
                    cbs.on_train_batch_begin(step)
                fn = fns.get(size)
                if fn is None:
                    fn = fns[size] = self._function("train", key, guard_nan=bool(guard_nan),
                                                    steps=size)
                holder["state"] = fn(holder["state"], source.rows(table, start, size))
                if source.on_host:
                    transfer.after_call(holder["state"]["metrics"], total - step - 1)
                if guard_nan:
                    stop = nonfinite_guard.take_report(holder["state"], epoch, first + start)
                    if stop is not None:
                        self._write_back(holder["state"], by_path)
                        for guard in guard_nan:
                            guard.on_nonfinite_step(stop)
                if self._distribute is not None and self._distribute.sync_each_step:
                    jax.block_until_ready(holder["state"]["metrics"])
                clock["calls"] += 1
                if clock["calls"] == 3:  # compiled and warm from here on
                    jax.block_until_ready(holder["state"]["metrics"])
                    clock["start"] = (time.perf_counter(), step)
                if hooks:
                    self._write_back(holder["state"], by_path)  # callbacks may read weights
                    wants = policy.wants(step == total - 1)
                    logs = self._results(holder["state"]["metrics"]) if wants else None
                    cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    return
        if auto and k == 1 and clock["start"] is not None and step - clock["start"][1] >= 8:
            jax.block_until_ready(holder["state"]["metrics"])
            per_step = (time.perf_counter() - clock["start"][0]) / (step - clock["start"][1])
            if per_step < 2e-3:
                training.auto_steps = 8  # Python between steps costs more than 10% here

    def _loop(self, dataset, epoch, steps, run_block, metric_state, on_begin, on_end, policy):
        """Evaluation batches, one device call each."""
        for first, idx in dataset.index_batches(epoch, steps):
            for start, block in _blocks(idx, 1):
                step = first + start + block.shape[0] - 1
                on_begin(step)
                run_block(block)
                is_last = step == (steps or dataset.steps) - 1
                logs = self._results(metric_state()) if policy and policy.wants(is_last) else None
                on_end(step, logs)
                if getattr(self, "stop_evaluating", False):  # Keras: not stop_training
                    return

    def _build_for(self, x):
        if not self.built:
            shapes = jax.tree_util.tree_map(lambda a: (None,) + tuple(a.shape[1:]), x,
                                            is_leaf=lambda a: hasattr(a, "shape"))
            self._maybe_build(shapes)

    def _validation_dataset(self, validation_data, batch_size, steps=None):
        if validation_data is None:
            return None
        if is_stream(validation_data):
            return make_stream(validation_data, where="fit()", what="validation_data",
                               steps=steps, steps_name="validation_steps",
                               place=stream_loop.placer(self), fresh_pass=True)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"sample_weight_val); received {type(validation_data).__name__} "
                             f"of length {len(validation_data)}.")
        return self._place_data(ArrayDataset(*validation_data, batch_size=batch_size,
                                             shuffle=False))

    # -- evaluate ----------------------------------------------------------------------------
    def _evaluate_dataset(self, dataset, steps, callbacks, policy=None):
        if isinstance(dataset, StreamDataset):  # its steps were given when it was made
            return stream_loop.evaluate(self, dataset, callbacks, policy)
        key = self._split_key()
        state = self._start_state(key, with_optimizer=False)
        weights = {"trainable": state["trainable"], "non_trainable": state["non_trainable"]}
        fn = self._function("test", key)
        holder = {"metrics": state["metrics"]}
        source = _BatchSource(dataset, self._place, self._distribute is not None)

        def run_block(block):
            holder["metrics"] = fn(weights, holder["metrics"],
                                   source.rows(source.table(block), 0, 1))

        on_begin = callbacks.on_test_batch_begin if callbacks else (lambda *a: None)
        on_end = callbacks.on_test_batch_end if callbacks else (lambda *a: None)
        self._loop(dataset, 0, steps, run_block, lambda: holder["metrics"], on_begin, on_end,
                   policy)
        return self._results(holder["metrics"])

    def evaluate(self, x: TensorTree | Iterable[Any] | None = None, y: TensorTree | None = None,
                 batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: TensorLike | None = None, steps: int | None = None,
                 callbacks: list | None = None, return_dict: bool = False) -> Any:
        """Loss and metrics in inference mode: a float, a list (loss first) or a dict."""
        # Imported here: thawnet.callbacks loads on first use (import thawnet stays light).
        from thawnet.callbacks import CallbackList

        self._require_compiled("evaluate")
        check_evaluate_arguments(x, y, sample_weight, batch_size=batch_size, steps=steps)
        verbose = 1 if verbose == "auto" else verbose
        dataset = self._place_data(
            make_stream(x, y, sample_weight, where="evaluate()", steps=steps,
                        steps_name="steps", place=stream_loop.placer(self),
                        check_shapes=self.built) if is_stream(x)
            else ArrayDataset(x, y, sample_weight, batch_size))
        self._build_for(dataset.x)
        check_training_data(self, self._compiled_loss, dataset)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=1, steps=dataset.steps)
        self.stop_evaluating = False
        cbs.on_test_begin()
        logs = self._evaluate_dataset(dataset, steps, cbs, _BatchLogPolicy(cbs, verbose))
        cbs.on_test_end(logs)
        return self._format_logs(logs, return_dict)

    def _format_logs(self, logs, return_dict):
        if return_dict:
            return logs
        names = self._metric_set.metric_names
        # Then what a custom step logs beyond the compiled names, in its order (Keras).
        names = [n for n in names if n in logs] + [n for n in logs if n not in names]
        values = [logs[name] for name in names]
        return values[0] if len(values) == 1 else values

    # -- single batches ----------------------------------------------------------------------
    def train_on_batch(self, x: TensorTree | Iterable[Any], y: TensorTree | None = None,
                       sample_weight: TensorLike | None = None,
                       class_weight: dict[int, float] | None = None, return_dict: bool = False
            ) -> Any:
        """One training step on this batch; returns that batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        if class_weight is not None:
            sample_weight = class_weights_to_sample_weights(y, class_weight, sample_weight)
        dataset = ArrayDataset(x, y, sample_weight, batch_size=len(jax.tree_util.tree_leaves(
            to_arrays(x, "x"))[0]))
        self._build_for(dataset.x)
        check_training_data(self, self._compiled_loss, dataset)
        if self._compiled_loss is None and not overrides(self, "train"):
            check_loss_source(self, dataset.x, "train_on_batch")
        key = self._split_key()
        freeze_warning.warn_if_frozen_since_compile(self, key, "train_on_batch")
        state = self._start_state(key, with_optimizer=True)
        self._place_data(dataset)
        fn = self._function("train", key, guard_nan=False, steps=1)
        source = _BatchSource(dataset, self._place, self._distribute is not None)
        batch = source.rows(source.table(dataset.index_batches(0)[0][1]), 0, 1)
        state = fn(state, batch)
        self._write_back(state)
        return self._format_logs(self._results(state["metrics"]), return_dict)

    def test_on_batch(self, x: TensorTree | Iterable[Any], y: TensorTree | None = None,
                      sample_weight: TensorLike | None = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) of this batch in inference mode."""
        self._require_compiled("test_on_batch")
        dataset = ArrayDataset(x, y, sample_weight, batch_size=len(jax.tree_util.tree_leaves(
            to_arrays(x, "x"))[0]))
        self._build_for(dataset.x)
        return self._format_logs(self._evaluate_dataset(dataset, None, None), return_dict)
