"""KerasTuner-style scripts (written from KerasTuner's documented API) on ``thawnet.tuning``:
RandomSearch / BayesianOptimization / Hyperband on a tiny MLP, conditional hyperparameters,
best models and hyperparameters, resuming, the study optuna-dashboard reads."""

import numpy as np
import pytest

optuna = pytest.importorskip("optuna", reason="thawnet.tuning needs optuna: pip install optuna")

import thawnet  # noqa: E402
import thawnet.tuning as kt  # noqa: E402
from thawnet import layers  # noqa: E402
from thawnet.tuning.kerastuner import hyperband_trials  # noqa: E402

TRIALS = 3


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")
    return (x[:32], y[:32]), (x[32:], y[32:])


def build_model(hp):
    """KerasTuner's getting-started shape: layers in a loop, a conditional unit count."""
    model = thawnet.Sequential([layers.Input((4,))])
    for i in range(hp.Int("num_layers", 1, 2)):
        model.add(layers.Dense(units=hp.Int(f"units_{i}", min_value=4, max_value=8, step=4),
                               activation=hp.Choice("activation", ["tanh"])))
    if hp.Boolean("dropout"):
        with hp.conditional_scope("dropout", [True]):
            model.add(layers.Dropout(rate=hp.Float("rate", 0.2, 0.2)))
    model.add(layers.Dense(1, activation="sigmoid"))
    lr = hp.Float("lr", min_value=1e-2, max_value=1e-1, sampling="log")
    model.compile(optimizer=thawnet.optimizers.Adam(learning_rate=lr),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def random_search(tmp_path_factory, compile_cache_dir):
    (x, y), val = _data()
    directory = str(tmp_path_factory.mktemp("kt"))
    tuner = kt.RandomSearch(hypermodel=build_model, objective="val_accuracy",
                            max_trials=TRIALS, seed=1, overwrite=True, directory=directory,
                            project_name="helloworld", compile_cache=compile_cache_dir)
    tuner.search(x, y, epochs=2, validation_data=val, verbose=0)
    return tuner, directory


def test_random_search_runs_the_trials_on_a_random_sampler(random_search):
    tuner, directory = random_search
    assert isinstance(tuner.study.sampler, optuna.samplers.RandomSampler)
    trials = tuner.trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * TRIALS
    assert tuner.study.study_name == "helloworld"
    assert tuner.project_dir.endswith("helloworld")


def _assert_best_models_hold_saved_weights(tuner, count):
    best = sorted(tuner.trials(states=(optuna.trial.TrialState.COMPLETE,)),
                  key=lambda t: (-t.value if tuner.direction == "maximize" else t.value,
                                 t.number))
    models = tuner.get_best_models(num_models=count)
    assert len(models) == min(count, len(best))
    for model, trial in zip(models, best):
        saved = np.load(trial.user_attrs["weights_path"])
        weights = model.get_weights()
        assert len(weights) == len(saved.files)
        for k, weight in enumerate(weights):
            np.testing.assert_array_equal(weight, saved[f"arr_{k}"])
    return models, best


def test_get_best_models_returns_the_best_trials_saved_weights(random_search):
    tuner, _ = random_search
    (x, y), (x_val, y_val) = _data()
    best = sorted(tuner.trials(), key=lambda t: (-t.value, t.number))
    models = tuner.get_best_models(num_models=2)
    assert len(models) == 2
    for model, trial in zip(models, best[:2]):
        saved = np.load(trial.user_attrs["weights_path"])
        weights = model.get_weights()
        assert len(weights) == len(saved.files)
        for k, weight in enumerate(weights):
            np.testing.assert_array_equal(weight, saved[f"arr_{k}"])
    logs = models[0].evaluate(x_val, y_val, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(best[0].value, abs=1e-6)


def test_get_best_hyperparameters_rebuild_the_best_architecture(random_search):
    tuner, _ = random_search
    best = max(tuner.trials(), key=lambda t: (t.value, -t.number))
    hps = tuner.get_best_hyperparameters(num_trials=TRIALS)
    assert len(hps) == TRIALS
    assert hps[0].values == best.user_attrs["hyperparameters"]
    model = tuner.hypermodel.build(hps[0])
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    assert [d.units for d in dense[:-1]] == [hps[0].get(f"units_{i}")
                                             for i in range(hps[0].get("num_layers"))]


def test_conditional_hyperparameters_appear_only_in_trials_that_used_them(random_search):
    tuner, _ = random_search
    for trial in tuner.trials():
        n, dropout = trial.params["num_layers"], trial.params["dropout"]
        expected = ({"num_layers", "activation", "dropout", "lr"}
                    | {f"units_{i}" for i in range(n)} | ({"rate"} if dropout else set()))
        assert set(trial.params) == expected
        assert set(trial.user_attrs["hyperparameters"]) == expected


def test_the_study_holds_what_optuna_dashboard_shows(random_search):
    tuner, directory = random_search
    storage = f"sqlite:///{directory}/helloworld/helloworld.db"
    study = optuna.load_study(study_name="helloworld", storage=storage)
    assert len(study.trials) == TRIALS
    for trial in study.trials:
        attrs = trial.user_attrs
        assert attrs["epochs"] == 2
        assert attrs["val_accuracy"] == trial.value
        assert attrs["hyperparameters"]["lr"] == trial.params["lr"]
        assert 1e-2 <= attrs["hyperparameters"]["lr"] <= 1e-1


def test_search_space_summary_and_results_summary(random_search, capsys):
    tuner, _ = random_search
    tuner.search_space_summary()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Search space summary"
    assert out[2:4] == ["num_layers (Int)", "{'default': 1, 'conditions': [], 'min_value': 1, "
                        "'max_value': 2, 'step': 1, 'sampling': 'linear'}"]
    assert "lr (Float)" in out and "dropout (Boolean)" in out
    tuner.results_summary(num_trials=2)
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == ["Results summary", f"Results in {tuner.project_dir}",
                       "Showing 2 best trials", 'Objective(name="val_accuracy", direction="max")']
    best = tuner._best_trials(1)[0]
    assert out[5] == f"Trial {best.number:04d} summary"
    assert f"Score: {best.value}" in out


def test_a_resumed_search_does_not_repeat_finished_trials(random_search, compile_cache_dir):
    tuner, directory = random_search
    (x, y), val = _data()
    before = {t.number: t.params for t in tuner.trials()}
    again = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=TRIALS + 1,
                            seed=1, directory=directory, project_name="helloworld",
                            compile_cache=compile_cache_dir)
    assert again.search(x, y, epochs=1, validation_data=val, verbose=0) == [TRIALS]
    assert {t.number: t.params for t in again.trials()[:TRIALS]} == before
    assert again.search(x, y, epochs=1, validation_data=val, verbose=0) == []
    fresh = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=1,
                            directory=directory, project_name="helloworld", overwrite=True)
    assert fresh.trials() == []


class TinyHyperModel(kt.HyperModel):
    """One hidden tanh layer of 4 (an architecture build_model also makes: compiled once)."""

    def build(self, hp):
        model = thawnet.Sequential([layers.Input((4,)),
                                    layers.Dense(hp.Choice("units", [4]), activation="tanh"),
                                    layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=thawnet.optimizers.Adam(0.05), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=hp.Choice("batch_size", [32, 64]), **kwargs)


def test_hyperband_prunes_on_the_epoch_budget_with_a_hypermodel(tmp_path, compile_cache_dir):
    (x, y), val = _data()
    tuner = kt.Hyperband(TinyHyperModel(), objective=kt.Objective("val_loss", direction="min"),
                         max_epochs=2, factor=2, seed=0, directory=str(tmp_path),
                         project_name="hb", compile_cache=compile_cache_dir)
    pruner = tuner.study.pruner
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert (pruner._max_resource, pruner._reduction_factor) == (2, 2)
    assert tuner.max_trials == hyperband_trials(2, 2) == 4
    tuner.max_trials = 2  # two of the four: the test's time budget
    tuner.search(x, y, epochs=50, validation_data=val, verbose=0)  # epochs: the budget rules
    trials = tuner.trials()
    assert len(trials) == 2
    assert all(t.user_attrs["epochs"] <= 2 for t in trials)
    # the batch size asked inside HyperModel.fit is part of each trial
    assert all(t.params["batch_size"] in (32, 64) for t in trials)
    assert tuner.direction == "minimize"
    _assert_best_models_hold_saved_weights(tuner, 1)


def test_hyperband_trial_count_matches_kerastuner_brackets():
    # max_epochs=4, factor=2: brackets of 3, 3 and 4 configurations
    assert hyperband_trials(4, 2) == 10
    assert hyperband_trials(4, 2, iterations=2) == 20


def test_bayesian_optimization_runs_tpe_after_the_initial_points(tmp_path, compile_cache_dir):
    (x, y), val = _data()
    tuner = kt.BayesianOptimization(build_model, objective="val_accuracy", max_trials=2,
                                    num_initial_points=1, seed=1, directory=str(tmp_path),
                                    project_name="bo", executions_per_trial=2,
                                    compile_cache=compile_cache_dir)
    sampler = tuner.study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._n_startup_trials == 1
    tuner.search(x, y, epochs=1, validation_data=val, verbose=0)
    trials = tuner.trials()
    assert len(trials) == 2
    for trial in trials:
        values = trial.user_attrs["execution_values"]
        assert len(values) == 2 and trial.value == pytest.approx(sum(values) / 2)
        assert trial.user_attrs["epochs"] == 2  # one epoch per execution
    _assert_best_models_hold_saved_weights(tuner, 1)


def test_hyperparameters_take_kerastuner_arguments():
    hp = kt.HyperParameters()  # outside a search: defaults
    assert hp.Int("units", min_value=32, max_value=512, step=32) == 32
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == 1e-4
    assert hp.Choice("act", ["relu", "tanh"], ordered=False) == "relu"
    assert hp.Boolean("bn") is False
    assert hp.Fixed("classes", 10) == 10
    assert hp.Int("extra", 1, 3, parent_name="act", parent_values=["tanh"]) == 1
    assert "extra" not in hp.values and hp.values["units"] == 32
    fixed = kt.HyperParameters.from_values({"f": 0.001})
    assert fixed.Float("f", 1e-4, 1e-1, step=10, sampling="log") == 0.001
    assert fixed.space["f"].values == (1e-4, 1e-3, 1e-2, 1e-1)  # a factor on a log scale
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    value = kt.HyperParameters.from_trial(trial).Float("r", 1e-3, 1.0, sampling="reverse_log")
    assert value == pytest.approx(1e-3 + 1.0 - trial.params["r"])


@pytest.mark.parametrize("make, message", [
    (lambda: kt.RandomSearch(build_model), "objective is required"),
    (lambda: kt.RandomSearch(build_model, objective=["a", "b"]), "one objective"),
    (lambda: kt.Objective("auc", direction="up"), 'direction must be "min" or "max"'),
    (lambda: kt.RandomSearch(build_model, objective="loss", executions_per_trial=0),
     "executions_per_trial must be a positive integer"),
    (lambda: kt.Hyperband(build_model, objective="loss", factor=1), "factor must be an integer"),
    (lambda: kt.RandomSearch(build_model, objective="loss", distribution_strategy=1),
     "unknown argument"),
    (lambda: kt.HyperParameters().Int("n", 1, 4, sampling="cubic"), "sampling must be"),
])
def test_bad_arguments_raise_errors_naming_them(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def _grid_space(hp):
    for i in range(hp.Int("num_layers", 1, 2)):
        hp.Int(f"units_{i}", min_value=4, max_value=8, step=4)
    hp.Float("lr", 1e-3, 1e-1, step=10, sampling="log")
    return build_model(kt.HyperParameters())


def test_grid_search_queues_every_configuration(tmp_path):
    tuner = kt.GridSearch(_grid_space, objective="val_accuracy", directory=str(tmp_path),
                          project_name="grid")
    assert tuner.sampler_name == "grid"
    tuner._enqueue_grid(tuner.study)
    waiting = tuner.study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    # (1 layer: 2 unit counts + 2 layers: 4) x 3 learning rates (1e-3, 1e-2, 1e-1)
    assert len(waiting) == (2 + 4) * 3
    assert {t.system_attrs["fixed_params"]["lr"] for t in waiting} == {1e-3, 1e-2, 1e-1}


@pytest.mark.slow
def test_kerastuner_getting_started_flow_runs_unchanged(tmp_path, compile_cache_dir):
    """KerasTuner's getting-started steps, in order, with `import thawnet.tuning as kt`."""
    (x, y), val = _data()
    build_model(kt.HyperParameters())  # the build function works on defaults
    tuner = kt.RandomSearch(hypermodel=build_model, objective="val_accuracy", max_trials=3,
                            executions_per_trial=2, overwrite=True, directory=str(tmp_path),
                            project_name="helloworld", compile_cache=compile_cache_dir)
    tuner.search_space_summary()
    tuner.search(x, y, epochs=2, validation_data=val)
    models = tuner.get_best_models(num_models=2)
    best_model = models[0]
    best_model.build(input_shape=(None, 4))
    best_model.summary()
    tuner.results_summary()
    best_hps = tuner.get_best_hyperparameters(5)
    assert len(best_hps) == 3
    model = build_model(best_hps[0])
    model.fit(x=np.concatenate([x, val[0]]), y=np.concatenate([y, val[1]]), epochs=1, verbose=0)
    assert all(len(t.user_attrs["execution_values"]) == 2 for t in tuner.trials())


@pytest.mark.slow
def test_hyperband_full_budget_prunes_some_trials(tmp_path, compile_cache_dir):
    (x, y), val = _data()
    tuner = kt.Hyperband(TinyHyperModel(), objective="val_loss", max_epochs=4, factor=2,
                         seed=0, directory=str(tmp_path), project_name="hb4",
                         compile_cache=compile_cache_dir)
    tuner.search(x, y, validation_data=val, verbose=0)
    trials = tuner.trials()
    assert len(trials) == 10
    assert any(t.state == optuna.trial.TrialState.PRUNED for t in trials)
    assert sum(t.user_attrs["epochs"] for t in trials) < 10 * 4
