"""Architecture and hyperparameter search on Optuna.

    from thawnet.tuning import Tuner

    def build(hp):
        model = thawnet.Sequential([thawnet.layers.Input((8,))])
        for k in range(hp.Int("hidden_layers", 1, 3)):
            model.add(thawnet.layers.Dense(hp.Choice(f"units_{k}", [8, 16, 32]),
                                           activation=hp.Choice("activation", ["relu", "tanh"])))
        model.add(thawnet.layers.Dense(1))
        model.compile(optimizer=thawnet.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, log=True)),
                      loss="mse")
        return model

    tuner = Tuner(build, objective="val_loss", max_trials=20, directory="runs")
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=20, batch_size=32)
    model = tuner.best_model()

KerasTuner's API (:mod:`thawnet.tuning.kerastuner`, its sampler/pruner mapping documented
there) runs KerasTuner scripts with ``import thawnet.tuning as kt``: ``kt.RandomSearch``,
``kt.BayesianOptimization``, ``kt.Hyperband``, ``kt.GridSearch``, ``kt.HyperModel``,
``kt.Objective``, ``kt.HyperParameters``. :class:`FineTuneSearch`
(:mod:`thawnet.tuning.finetune`) searches how much of a pretrained base to train.
"""

from thawnet.tuning.finetune import FineTuneSearch
from thawnet.tuning.hyperparameters import HyperParameters, ParamSpec
from thawnet.tuning.kerastuner import (BayesianOptimization, GridSearch, HyperModel, Hyperband,
                                       KerasTunerSearch, Objective, RandomSearch)
from thawnet.tuning.storage import compile_cache, default_storage_url, make_storage
from thawnet.tuning.trial_runner import ObjectiveNotFoundError, ObjectiveReporter
from thawnet.tuning.tuner import Tuner, infer_direction
from thawnet.tuning.worker import load_build_fn, load_data, run_worker

__all__ = [
    "BayesianOptimization", "FineTuneSearch", "GridSearch", "HyperModel", "Hyperband",
    "KerasTunerSearch", "Objective", "RandomSearch",
    "HyperParameters", "ObjectiveNotFoundError", "ObjectiveReporter", "ParamSpec", "Tuner",
    "compile_cache", "default_storage_url", "infer_direction", "load_build_fn", "load_data",
    "make_storage", "run_worker",
]
