"""Failing trials, bad input, an empty space, and memory that stays flat over many trials."""

import pytest

import tuning_spaces

optuna = pytest.importorskip("optuna", reason="thawnet.tuning needs optuna: pip install optuna")

import thawnet  # noqa: E402
from thawnet import layers  # noqa: E402
from thawnet.tuning import ObjectiveNotFoundError, Tuner  # noqa: E402
from thawnet.tuning.grid import GridError  # noqa: E402

COMPLETE, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL


def _tuner(tmp_path, cache, build=tuning_spaces.build_one_layer, **kwargs):
    kwargs.setdefault("max_trials", 2)
    kwargs.setdefault("pruner", None)
    return Tuner(build, directory=str(tmp_path), compile_cache=cache, **kwargs)


def test_a_build_function_that_raises_fails_its_trial_and_the_search_goes_on(
        tmp_path, compile_cache_dir, xor):
    def build(hp):
        if hp.Choice("variant", ["ok", "broken"]) == "broken":
            raise ValueError("no such layer: 'Dense3'")
        return tuning_spaces.build_one_layer(hp.from_values({"lr": 0.1}))

    (x, y), val = xor
    tuner = _tuner(tmp_path, compile_cache_dir, build, sampler="grid", max_trials=5)
    assert tuner.search(x, y, validation_data=val, epochs=1, batch_size=8) == [0, 1]
    ok, broken = tuner.trials()
    assert ok.state == COMPLETE and ok.params == {"variant": "ok"}
    assert broken.state == FAIL and broken.params == {"variant": "broken"}
    assert broken.user_attrs["error"] == "ValueError: no such layer: 'Dense3'"
    assert broken.user_attrs["failed_in"] == "build_fn"


def test_an_objective_missing_from_the_logs_names_the_available_metrics(
        tmp_path, compile_cache_dir, xor):
    (x, y), val = xor
    tuner = _tuner(tmp_path, compile_cache_dir, objective="val_acc")
    with pytest.raises(ObjectiveNotFoundError) as info:
        tuner.search(x, y, validation_data=val, epochs=1, batch_size=8)
    message = str(info.value)
    assert message.startswith("objective 'val_acc' not in the logs of trial 0; available: ")
    assert set(message.split("available: ")[1].split(".")[0].split(", ")) == {
        "accuracy", "loss", "val_accuracy", "val_loss"}
    assert tuner.trials()[0].state == FAIL


def test_consecutive_failures_stop_the_search_with_the_last_error(tmp_path,
                                                                 compile_cache_dir, xor):
    def build(hp):
        hp.Int("units", 1, 4)
        raise RuntimeError("out of coffee")

    (x, y), val = xor
    tuner = _tuner(tmp_path, compile_cache_dir, build, max_trials=10)
    with pytest.raises(RuntimeError, match=r"3 trials failed in a row; last error \(trial 2\): "
                                           r"RuntimeError: out of coffee"):
        tuner.search(x, y, validation_data=val, epochs=1)
    assert [t.state for t in tuner.trials()] == [FAIL] * 3


def test_an_uncompiled_model_fails_the_trial_with_the_fix(tmp_path, compile_cache_dir, xor):
    def build(hp):
        hp.Int("units", 1, 4)
        return thawnet.Sequential([layers.Input((2,)), layers.Dense(1)])

    (x, y), val = xor
    tuner = _tuner(tmp_path, compile_cache_dir, build, max_trials=1)
    tuner.search(x, y, validation_data=val, epochs=1)
    assert "call model.compile(" in tuner.trials()[0].user_attrs["error"]


def test_an_empty_search_space_runs_a_single_trial(tmp_path, compile_cache_dir, xor):
    (x, y), val = xor
    tuner = _tuner(tmp_path, compile_cache_dir, tuning_spaces.build_nothing_asked,
                   max_trials=5)
    assert tuner.search(x, y, validation_data=val, epochs=1, batch_size=8) == [0]
    assert tuner.search(x, y, validation_data=val, epochs=1, batch_size=8) == []
    assert tuner.best_hyperparameters() == {}


@pytest.mark.parametrize("kwargs, error, message", [
    ({"objective": "val_score"}, ValueError, "pass direction='minimize'"),
    ({"max_trials": 0}, ValueError, "max_trials must be a positive integer"),
    ({"sampler": "bayes"}, ValueError, "sampler must be 'tpe', 'random', 'grid'"),
    ({"pruner": "asha"}, ValueError, "pruner must be 'median', 'hyperband', None"),
    ({"direction": "up"}, ValueError, "direction must be 'minimize', 'maximize' or None"),
    ({"build": "model.py"}, TypeError, "build_fn must be a function"),
    ({"storage": "tuning.db"}, ValueError, "must be an Optuna storage URL"),
])
def test_bad_tuner_arguments_raise_errors_with_the_fix(tmp_path, kwargs, error, message):
    build = kwargs.pop("build", tuning_spaces.build_xor)
    with pytest.raises(error, match=message):
        tuner = Tuner(build, directory=str(tmp_path), **kwargs)
        tuner.study


def test_bad_search_arguments_fail_before_any_trial(tmp_path, xor):
    (x, y), val = xor
    tuner = Tuner(tuning_spaces.build_xor, directory=str(tmp_path))
    with pytest.raises(ValueError, match="validation metric but search.. got no validation"):
        tuner.search(x, y, epochs=1)
    with pytest.raises(ValueError, match="x has 64 samples but y has 10"):
        tuner.search(x, y[:10], validation_data=val)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        tuner.search(x, y, validation_data=val, epochs=0)
    with pytest.raises(RuntimeError, match="no completed trial yet"):
        tuner.best_model()
    grid = Tuner(tuning_spaces.build_xor, sampler="grid", directory=str(tmp_path),
                 study_name="grid")
    with pytest.raises(GridError, match=r"Float\('lr'.*no step"):
        grid.search(x, y, validation_data=val, epochs=1)
    assert tuner.trials() == [] and grid.trials() == []


def test_resuming_a_study_with_another_objective_is_refused(tmp_path):
    Tuner(tuning_spaces.build_xor, directory=str(tmp_path)).study
    with pytest.raises(ValueError, match="created for objective 'val_loss'"):
        Tuner(tuning_spaces.build_xor, objective="loss", directory=str(tmp_path)).study


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status to read the resident set size from")


RSS_GROWTH_BOUND_MB = 40  # over 30 trials after a 10-trial warm-up (measured: under 5 MB)


def test_memory_stays_flat_over_40_trials(tmp_path, compile_cache_dir, xor):
    (x, y), _ = xor
    tuner = Tuner(tuning_spaces.build_one_layer, objective="loss", max_trials=40,
                  sampler="random", pruner=None, seed=0, directory=str(tmp_path),
                  storage=optuna.storages.InMemoryStorage(), compile_cache=compile_cache_dir)
    tuner.search(x[:32], y[:32], epochs=1, batch_size=32, n_trials=10)
    warm = _rss_mb()
    tuner.search(x[:32], y[:32], epochs=1, batch_size=32)
    assert len(tuner.trials()) == 40
    assert _rss_mb() - warm < RSS_GROWTH_BOUND_MB
