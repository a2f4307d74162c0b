"""``FineTuneSearch``: a search over trainability on one pretrained base kept in memory.

    base = thawnet.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                            include_top=False, pooling="avg")
    base.load_weights("pretrained.weights.h5")

    def head(hp, features):
        x = thawnet.layers.Dropout(hp.Choice("dropout", [0.0, 0.3]))(features)
        return thawnet.layers.Dense(10, activation="softmax")(x)

    search = FineTuneSearch(base, head, objective="val_accuracy", max_trials=8,
                            unfreeze_top=[0, 1, 2], learning_rates=[1e-3, 1e-4],
                            lr_multipliers=[0.1, 1.0], lora_ranks=[0, 4])
    search.search(x, y, validation_data=(x_val, y_val), epochs=3)
    search.results_summary()      # per trial: trainable / non-trainable counts, the metric

Each trial asks ``unfreeze_top`` (blocks of the base, see
:mod:`thawnet.tuning.finetune_space`), ``learning_rate``, and where some block trains
``base_lr_multiplier``, ``block_lr_decay`` and ``lora_rank`` (conditional parameters: a trial
with a frozen base records none of them), then the head's own parameters. Nothing is rebuilt
or reloaded between trials:

* the base is one model object; before each trial its weights are assigned back from the
  pretrained snapshot taken when the search was made (LoRA factors merged away first), and
  the trial records ``base_restored="bit-exact (N weights)"`` once the audit
  (``weight_audit.compare`` against that snapshot) finds every weight "unchanged";
* the full model (input -> base -> head) is built once per head configuration and reused:
  its head gets back its initial weights, its optimizer state is cleared and the trial's
  learning rate set, and its compiled training steps (cached per trainable split) serve
  every later trial with the same split;
* each fit runs with ``audit=True``: the trial records how many frozen parameters kept their
  exact bits (``history.audit``).

After ``search`` the base holds its pretrained weights again, fully trainable as given.
"""

from __future__ import annotations

import warnings
from typing import Any

import thawnet
from thawnet.backend.types import Identifier, PathLike, SeedLike
from thawnet.models.summary import count_split
from thawnet.training.freeze_warning import FrozenSinceCompileWarning
from thawnet.tuning import finetune_space as space
from thawnet.tuning import reporting, weights_io
from thawnet.tuning.hyperparameters import HyperParameters
from thawnet.tuning.tuner import Tuner

TUNED = ("unfreeze_top", "learning_rate", "base_lr_multiplier", "block_lr_decay", "lora_rank")


def _options(name, values, positive=False):
    values = list(values) if isinstance(values, (list, tuple, range)) else [values]
    if not values:
        raise ValueError(f"FineTuneSearch: {name} needs at least one value; received [].")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or (
                positive and v <= 0):
            raise ValueError(f"FineTuneSearch: {name} values must be numbers "
                             f"{'> 0' if positive else '>= 0'}; received {name}={values!r}.")
    return values


class FineTuneSearch(Tuner):
    """Search how much of a pretrained base to train, at which learning rates, with LoRA.

    Args:
        base_model: a built model holding its pretrained weights (kept in memory, restored
            bit-exact before every trial and after the search).
        head_fn: ``(hp, features) -> outputs``: the head on the base's symbolic output; it
            may ask hyperparameters of its own.
        objective, max_trials, direction, sampler, pruner, storage, study_name, seed,
            directory, compile_cache: as :class:`~thawnet.tuning.Tuner`.
        unfreeze_top: the numbers of top blocks to train (0: the base stays frozen).
        blocks: "auto", "layers" or block-end layer names (see
            :func:`~thawnet.tuning.finetune_space.resolve_blocks`).
        learning_rates: the optimizer's learning rates to try.
        lr_multipliers: multipliers of the trained base blocks' learning rate.
        block_lr_decay: factors per block further down (top block ``m``, next ``m*d``...).
        lora_ranks: LoRA ranks for the trained blocks' LoRA-capable layers (0: no LoRA).
        optimizer: an optimizer class or name ("adam"), made with each learning rate.
        loss, metrics: given to ``compile``.
        base_training: the ``training`` flag the base is called with (False: its
            BatchNormalization layers stay in inference mode while fine-tuned).
    """

    def __init__(self, base_model: Any, head_fn: Any, objective: str | Any = "val_accuracy",
                 max_trials: int = 10, unfreeze_top: tuple[int, ...] = (0, 1, 2),
                 blocks: str = "auto", learning_rates: tuple[float, ...] = (1e-3, 1e-4),
                 lr_multipliers: tuple[float, ...] = (1.0,),
                 block_lr_decay: tuple[float, ...] = (1.0,), lora_ranks: tuple[int, ...] = (0,),
                 optimizer: Identifier = "adam",
                 loss: Identifier = "sparse_categorical_crossentropy",
                 metrics: list | None = ("accuracy",), base_training: bool = False,
                 direction: Any = None, sampler: str = "tpe", pruner: Any = None,
                 storage: Any = None, study_name: str | None = "finetune", seed: SeedLike = None,
                 directory: PathLike = ".", compile_cache: bool = False) -> None:
        if not getattr(base_model, "built", False) or not hasattr(base_model, "layers"):
            raise ValueError(f"FineTuneSearch: base_model must be a built model with its "
                             f"pretrained weights; received {base_model!r}.")
        if not callable(head_fn):
            raise TypeError(f"FineTuneSearch: head_fn must be a function (hp, features) -> "
                            f"outputs; received {head_fn!r}.")
        self.base = base_model
        self.head_fn = head_fn
        self.blocks = space.resolve_blocks(base_model, blocks)
        self.unfreeze_options = [int(v) for v in _options("unfreeze_top", unfreeze_top)]
        too_many = [v for v in self.unfreeze_options if v > len(self.blocks)]
        if too_many:
            raise ValueError(f"FineTuneSearch: unfreeze_top {too_many} exceeds the base's "
                             f"{len(self.blocks)} blocks (blocks={blocks!r}).")
        self.learning_rates = _options("learning_rates", learning_rates, positive=True)
        self.lr_multipliers = _options("lr_multipliers", lr_multipliers)
        self.block_lr_decay = _options("block_lr_decay", block_lr_decay)
        self.lora_ranks = [int(v) for v in _options("lora_ranks", lora_ranks)]
        self.optimizer, self.loss, self.metrics = optimizer, loss, list(metrics)
        self.base_training = base_training
        self.pretrained = space.snapshot(base_model)
        self.models = {}  # head configuration -> [model, initial head weights]
        self._inputs = self._features = None
        super().__init__(self._prepare, objective=objective, max_trials=max_trials,
                         direction=direction, sampler=sampler, pruner=pruner, storage=storage,
                         study_name=study_name, seed=seed, directory=directory,
                         compile_cache=compile_cache)
        self._fit_fn = self._fit

    # -- one trial ----------------------------------------------------------------------------
    def _ask_split(self, hp):
        top = hp.Choice("unfreeze_top", self.unfreeze_options)
        lr = hp.Choice("learning_rate", self.learning_rates)
        trained = [v for v in self.unfreeze_options if v > 0]
        multiplier, decay, rank = 1.0, 1.0, 0
        if trained:
            with hp.conditional_scope("unfreeze_top", trained):
                asked = (hp.Choice("base_lr_multiplier", self.lr_multipliers),
                         hp.Choice("block_lr_decay", self.block_lr_decay),
                         hp.Choice("lora_rank", self.lora_ranks))
            if top > 0:  # inactive asks return defaults; a frozen base uses none of them
                multiplier, decay, rank = asked
        return top, lr, multiplier, decay, rank

    def _model_for(self, hp):
        """The full model of the head configuration ``hp`` asks (built once, then reused)."""
        if self._inputs is None:
            self._inputs = thawnet.Input(self.base.input_shape[1:])
            self._features = self.base(self._inputs, training=self.base_training)
        outputs = self.head_fn(hp, self._features)
        key = tuple(sorted((k, v) for k, v in hp.values.items() if k not in TUNED))
        entry = self.models.get(key)
        if entry is None:
            model = thawnet.Model(self._inputs, outputs, name="finetune")
            model.compile(optimizer=self._make_optimizer(self.learning_rates[0]),
                          loss=self.loss, metrics=self.metrics)
            head = {p: v for p, v in space.snapshot(model).items()
                    if p not in self._base_paths(model)}
            entry = self.models[key] = [model, head]
        return entry

    def _base_paths(self, model):
        base_ids = {id(v) for v in self.base.variables_by_path().values()}
        return {p for p, v in model.variables_by_path().items() if id(v) in base_ids}

    def _make_optimizer(self, lr):
        if isinstance(self.optimizer, str):
            optimizer = thawnet.optimizers.get(self.optimizer)
            optimizer.learning_rate = lr
            return optimizer
        return self.optimizer(learning_rate=lr)

    def _prepare(self, hp):
        trial = getattr(getattr(hp, "_source", None), "trial", None)
        space.restore(self.base, self.pretrained)
        report, missing = space.restore_audit(self.base, self.pretrained)
        wrong = [e.path for e in report.changed] + missing
        if wrong:
            raise RuntimeError(f"FineTuneSearch: the base's weights {wrong[:5]} differ from the "
                               "pretrained snapshot after the restore.")
        top, lr, multiplier, decay, rank = self._ask_split(hp)
        model, head = self._model_for(hp)
        by_path = model.variables_by_path()
        for path, value in head.items():
            by_path[path].assign(value)
        first, lora = space.apply_split(self.base, self.blocks, top, multiplier, decay, rank)
        # A fresh optimizer state at this trial's learning rate; the compiled steps (cached
        # per trainable split) stay.
        model.reset_training_state()  # the same dropout/shuffle draws as the first trial
        model.optimizer.learning_rate = lr
        if trial is not None:
            total, trainable, frozen = count_split(model)
            trial.set_user_attr("trainable_params", int(trainable))
            trial.set_user_attr("non_trainable_params", int(frozen))
            trial.set_user_attr("first_trained_layer", first)
            trial.set_user_attr("lora_layers", lora)
            trial.set_user_attr("base_restored",
                                f"bit-exact ({len(report.unchanged)} weights)")
            key = model._split_key()
            reused = model._functions.has("train", key)
            trial.set_user_attr("step_cache", "reused" if reused else "compiled")
        return model

    def _fit(self, hp, model, **fit_kwargs):
        fit_kwargs["audit"] = True
        with warnings.catch_warnings():
            # Changing the split after compile() is what this search does, on purpose.
            warnings.simplefilter("ignore", FrozenSinceCompileWarning)
            history = model.fit(**fit_kwargs)
        trial = getattr(getattr(hp, "_source", None), "trial", None)
        report = getattr(history, "audit", None)
        if trial is not None and report is not None:
            frozen = [e for e in report.entries if not e.trained and e.role != "statistic"]
            trial.set_user_attr("frozen_kept_bits",
                                f"{sum(not e.changed for e in frozen)}/{len(frozen)}")
        return history

    # -- after the search -----------------------------------------------------------------------
    def search(self, *args, **kwargs) -> Any:
        """As :meth:`Tuner.search`; afterwards the base holds its pretrained weights again,
        with every layer trainable and multipliers at 1."""
        try:
            return super().search(*args, **kwargs)
        finally:
            self.restore_base()

    def restore_base(self) -> None:
        """Put the pretrained weights back into the base, bit-exact, all layers trainable."""
        space.restore(self.base, self.pretrained)
        space.apply_split(self.base, self.blocks, len(self.blocks))

    def trial_model(self, trial: Any) -> Any:
        """A finished trial's model: the cached model of its head, with the trial's split
        and its saved weights (this changes the shared base; ``restore_base()`` undoes it)."""
        values = self.trial_values(trial)
        model = self._prepare(HyperParameters.from_values(values, strict=False))
        weights_io.load_weights(model, trial.user_attrs["weights_path"])
        return model

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the results table with the trainable / non-trainable counts of each trial."""
        print(reporting.summary_text(self, num_trials,
                                     extra=("trainable_params", "non_trainable_params")))


__all__ = ["FineTuneSearch"]
