"""The trainer's state: weights split by trainability, optimizer state, compiled functions.

The trainable split is read at the start of every ``fit``, ``evaluate`` and ``*_on_batch``
call, never frozen in at ``compile()``: flipping ``layer.trainable`` takes effect at the next
step without recompiling by hand. Compiled functions live in the model's one
:class:`~thawnet.training.function_registry.FunctionRegistry`, per split; optimizer state of
the weights that stay trainable is kept, newly trainable weights start fresh, newly frozen ones
drop theirs (see :mod:`thawnet.training.opt_state`). Everything ``compile()`` sets up and
``fit`` carries between steps is one :class:`~thawnet.training.training_state.TrainingState`,
``model._training``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.training import custom_step_functions as custom_lib
from thawnet.trainability import lr_multipliers
from thawnet.training import steps as steps_lib
from thawnet.training.keras_state import (CustomMetricState, fresh_metric_state,
                                          logs_to_floats, write_back_metrics)
from thawnet.training.function_registry import FunctionRegistry
from thawnet.training.opt_state import transfer_opt_state
from thawnet.training.training_state import TrainingField
from thawnet.variables import materialize_all


class TrainerState:
    """State handling shared by fit / evaluate / predict (see :class:`Trainer`)."""

    # The names the file formats, checkpoints and callbacks use: fields of model._training.
    _tx = TrainingField("tx")
    _opt_state = TrainingField("opt_state")
    _opt_paths = TrainingField("opt_paths")
    _rng = TrainingField("rng")
    _seed = TrainingField("seed", 0)
    _distribute = TrainingField("distribute")
    _steps_per_execution = TrainingField("steps_per_execution", 1)
    _auto_steps = TrainingField("auto_steps", 1)
    stop_training = TrainingField("stop_training", False)

    @property
    def compiled(self) -> bool:
        """Whether ``compile()`` was called (Keras's ``model.compiled``)."""
        return self.__dict__.get("_training") is not None

    @property
    def _functions(self) -> FunctionRegistry:
        """The model's one registry of compiled functions (made on first use)."""
        registry = self.__dict__.get("_function_registry")
        if registry is None:
            registry = self.__dict__["_function_registry"] = FunctionRegistry()
        return registry

    def _layer_flags(self) -> tuple:
        """Each layer's flag and weight count: BatchNormalization's behaviour depends on the
        flags, and enable_lora/merge_lora change what call() reads (a registry key part).
        Here, not on Model, since any layer mixed with the trainer (Keras's tests do) has it."""
        return tuple((layer.trainable, len(layer._own_variables))
                     for layer in self._all_layers())

    @property
    def _fn_cache(self) -> FunctionRegistry:
        return self._functions

    def reset_training_state(self) -> None:
        """Start the optimizer over: fresh slots and step count at the next step, and the
        training RNG of ``compile(seed=...)`` (the same Dropout masks and shuffles as the
        first ``fit``). Weights, the compiled steps and the compile settings stay."""
        self._require_compiled("reset_training_state")
        self._training.reset()
        self.stop_training = False

    def _output_names(self):
        if getattr(self, "_graph", None) is not None:
            return [t.history[0].name for t in self._graph.output_tensors]
        return ["output"]

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f'Model "{self.name}": call compile() before {what}(), e.g. '
                               "model.compile(optimizer='adam', loss='mse').")
        # compile() without a loss is accepted (Keras): add_loss, regularizers or a custom
        # train_step give the loss.

    # -- state -------------------------------------------------------------------------------
    def _split_key(self):
        trainable, frozen = self.trainable_split()
        flags = tuple(layer.trainable for layer in self._all_layers())
        # Learning-rate multipliers are read here too, like the split: the compiled step is
        # cached per setting (lr_multipliers.py); nothing is appended when all are 1.
        multipliers = lr_multipliers.multipliers_key(self)
        if multipliers:
            flags = flags + (("lr_multipliers", multipliers),)
        return tuple(trainable), tuple(frozen), flags

    def _start_state(self, key, with_optimizer):
        """Weights by split, with optimizer state carried over from the previous split."""
        by_path = self.variables_by_path()
        materialize_all(by_path.values())
        trainable_paths, frozen_paths, _ = key
        state = {"trainable": {p: by_path[p].value for p in trainable_paths},
                 "non_trainable": {p: by_path[p].value for p in frozen_paths}}
        if with_optimizer:
            training = self._training
            if training.opt_paths != trainable_paths:
                fresh = training.tx.init(state["trainable"])
                training.opt_state = fresh if training.opt_state is None else (
                    transfer_opt_state(training.opt_state, fresh))
                training.opt_paths = trainable_paths
            state["opt_state"] = training.opt_state
            state["rng"] = training.rng
        custom = custom_lib.overrides(self, "train" if with_optimizer else "test")
        state["metrics"] = fresh_metric_state(self) if custom else self._metric_set.init()
        state = _distinct_buffers(state)
        if self._distribute is not None:
            state = self._distribute.replicate(state)
        return state

    def _place_data(self, dataset):
        """With a DataParallel strategy the data set lives on every device of the mesh."""
        if self._distribute is not None:
            dataset.device_data = self._distribute.replicate((dataset.x, dataset.y,
                                                              dataset.sample_weight))
        return dataset

    def _place(self, value):
        return value if self._distribute is None else self._distribute.replicate(value)

    def _write_back(self, state, by_path=None):
        """Point the model's variables at the latest arrays (cheap: no copies)."""
        by_path = self.variables_by_path() if by_path is None else by_path
        for group in ("trainable", "non_trainable"):
            for p, value in state[group].items():
                by_path[p]._value = value
        if "opt_state" in state:
            self._training.opt_state = state["opt_state"]
            self._training.rng = state["rng"]
            # The running epoch's metric accumulators: mid-epoch checkpoints save them.
            self._epoch_metrics = state.get("metrics")
        if isinstance(state.get("metrics"), CustomMetricState):
            write_back_metrics(self, state["metrics"])  # metric.result() reads the step's

    def _function(self, kind, key, **options):
        """The compiled ``kind`` function for split ``key`` (from the registry)."""
        return self._functions.get(kind, key, tuple(sorted(options.items())),
                                   lambda: self._build_function(kind, key, options))

    def _build_function(self, kind, key, options):
        tx = self._tx_for(key) if kind == "train" else self._tx
        if kind in ("train", "test") and custom_lib.overrides(self, kind):
            # The model's own train_step / test_step (Keras 3's JAX signatures).
            if kind == "train":
                return custom_lib.make_custom_train_function(
                    self, key, tx, distribute=self._distribute, **options)
            return custom_lib.make_custom_test_function(self, key, distribute=self._distribute)
        if kind == "train":
            return steps_lib.make_train_function(self, tx, self._compiled_loss, self._metric_set,
                                                 distribute=self._distribute, **options)
        if kind == "test":
            return steps_lib.make_test_function(self, self._compiled_loss, self._metric_set,
                                                distribute=self._distribute)
        return steps_lib.make_results_function(self._metric_set)

    def _tx_for(self, key):
        """The optimizer's transformation with this key's learning-rate multipliers."""
        extra = [f for f in key[2] if isinstance(f, tuple) and f[:1] == ("lr_multipliers",)]
        if not extra:
            return self._tx
        return lr_multipliers.scale_updates(self._tx, dict(extra[0][1]))

    def _results(self, metric_state):
        if isinstance(metric_state, CustomMetricState):
            return logs_to_floats(metric_state.logs)  # what the model's own step returned
        fn = self._function("results", None)
        return {k: float(v) for k, v in jax.device_get(fn(metric_state)).items()}

    # -- optimizer hyperparameters (optimizer.learning_rate = x, callbacks) ---------------
    def _current_opt_state(self, ensure=False):
        """The optimizer state the next step will use: inside ``fit`` the running epoch's
        (``self._opt_state`` may point at buffers the last step donated), else the stored
        one; ``ensure`` creates it for the current split when there is none yet."""
        live = getattr(self, "_live_train_state", None)
        if live is not None and "opt_state" in live.get("state", {}):
            return live["state"]["opt_state"]
        if self._opt_state is None and ensure and self.built and self.compiled:
            self._opt_state = self._tx.init(self._start_state(self._split_key(), False)[
                "trainable"])
            self._opt_paths = self._split_key()[0]
        return self._opt_state

    def _update_opt_state(self, fn):
        """Replace the optimizer state by ``fn(state, place)`` where the next step reads it
        (``place`` puts a new scalar on the devices of a data-parallel strategy). Nothing
        to do before the first step: the state is then created from the optimizer's
        current values."""
        place = None if self._distribute is None else self._distribute.replicate
        live = getattr(self, "_live_train_state", None)
        if live is not None and "opt_state" in live.get("state", {}):
            live["state"]["opt_state"] = fn(live["state"]["opt_state"], place)
            self._opt_state = live["state"]["opt_state"]
        elif self._opt_state is not None:
            self._opt_state = fn(self._opt_state, place)

    def get_learning_rate(self) -> float:
        """The learning rate of the next step (``float(model.optimizer.learning_rate)``)."""
        return float(self.optimizer.learning_rate)

    def set_learning_rate(self, value: float) -> None:
        """Set the learning rate used from the next step on (no recompilation); the same
        as ``model.optimizer.learning_rate = value``."""
        self.optimizer.learning_rate = value

    def optimizer_state_size(self) -> int:
        """Number of scalars in the optimizer state (reported apart from the model's counts)."""
        if self._opt_state is None:
            return 0
        return int(sum(np.size(leaf) for leaf in jax.tree_util.tree_leaves(self._opt_state)))


def _distinct_buffers(tree):
    """Donation needs every argument buffer once; initial states may share constants."""
    seen = set()

    def own(leaf):
        if id(leaf) in seen:
            return jnp.array(leaf, copy=True)
        seen.add(id(leaf))
        return leaf

    return jax.tree_util.tree_map(own, tree)
