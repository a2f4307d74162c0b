"""Searches on XOR data: the known answer, pruning, conditional params, best model, reports."""

import numpy as np
import pytest

import tuning_spaces

optuna = pytest.importorskip("optuna", reason="thawnet.tuning needs optuna: pip install optuna")

from thawnet.tuning import Tuner, weights_io  # noqa: E402

TRIALS, EPOCHS = 8, 10
# XOR's quadrants are not linearly separable: a model without hidden layer cannot get below
# the log-loss of a coin flip (ln 2 = 0.693) by more than noise; one small hidden layer
# represents XOR exactly, so the optimum is near 0.
LINEAR_FLOOR = 0.65
TARGET = 0.25


def _search(directory, cache, pruner, xor, study_name="xor"):
    (x, y), val = xor
    tuner = Tuner(tuning_spaces.build_xor, objective="val_loss", max_trials=TRIALS,
                  sampler="tpe", pruner=pruner, seed=3, directory=str(directory),
                  study_name=study_name, compile_cache=cache)
    tuner.search(x, y, validation_data=val, epochs=EPOCHS, batch_size=8)
    return tuner


@pytest.fixture(scope="module")
def unpruned(tmp_path_factory, compile_cache_dir, xor):
    return _search(tmp_path_factory.mktemp("unpruned"), compile_cache_dir, None, xor)


@pytest.fixture(scope="module")
def pruned(tmp_path_factory, compile_cache_dir, xor, unpruned):
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=4)
    return _search(tmp_path_factory.mktemp("pruned"), compile_cache_dir, pruner, xor)


def _epochs(tuner):
    return sum(t.user_attrs["epochs_run"] for t in tuner.trials())


def test_search_finds_a_hidden_layer_model_for_xor_within_the_trial_budget(unpruned):
    trials = unpruned.trials()
    assert len(trials) == TRIALS
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    best = unpruned.best_trial()
    assert best.value <= TARGET
    assert unpruned.best_hyperparameters()["hidden_layers"] >= 1
    linear = [t.value for t in trials if t.params["hidden_layers"] == 0]
    assert linear and min(linear) >= LINEAR_FLOOR


def test_pruning_cuts_the_epochs_run_and_keeps_the_best_result(unpruned, pruned):
    assert _epochs(unpruned) == TRIALS * EPOCHS
    states = [t.state for t in pruned.trials()]
    assert states.count(optuna.trial.TrialState.PRUNED) >= 2
    assert _epochs(pruned) <= TRIALS * EPOCHS - 10
    # Same seeds, so the same params and weights: the unpruned best trial survives pruning.
    assert pruned.best_trial().number == unpruned.best_trial().number
    assert pruned.best_trial().value == pytest.approx(unpruned.best_trial().value, abs=1e-4)


def test_conditional_units_are_recorded_only_for_layers_that_exist(unpruned):
    depths = set()
    for trial in unpruned.trials():
        n = trial.params["hidden_layers"]
        depths.add(n)
        expected = {"hidden_layers", "lr"} | {f"units_{k}" for k in range(1, n + 1)}
        assert set(trial.params) == expected
        assert set(trial.distributions) == expected
    assert depths == {0, 1, 2}


def test_best_model_is_rebuilt_with_the_best_epochs_weights_not_retrained(unpruned, xor):
    _, (x_val, y_val) = xor
    best = unpruned.best_trial()
    model = unpruned.best_model()
    saved = np.load(best.user_attrs["weights_path"])
    for k, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(weight, saved[f"arr_{k}"])
    logs = model.evaluate(x_val, y_val, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(best.value, rel=1e-5)
    assert logs["accuracy"] >= 0.9
    assert best.user_attrs["best_epoch"] < EPOCHS


def test_results_summary_prints_trials_best_first(unpruned, capsys):
    unpruned.results_summary(num_trials=3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"Results summary: study 'xor', objective 'val_loss' "
                               f"(minimize), {TRIALS} trials ({TRIALS} complete)")
    assert lines[1].split() == ["trial", "state", "val_loss", "params"]
    rows = [line.split() for line in lines[2:]]
    assert len(rows) == 3
    assert int(rows[0][0]) == unpruned.best_trial().number
    values = [float(r[2]) for r in rows]
    assert values == sorted(values)


def test_plot_writes_a_png(unpruned, tmp_path):
    pytest.importorskip("matplotlib")
    path = unpruned.plot(str(tmp_path / "study.png"))
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_running_the_search_again_resumes_the_study(unpruned, tmp_path, compile_cache_dir,
                                                    xor):
    storage = f"sqlite:///{tmp_path}/copy.db"
    optuna.copy_study(from_study_name="xor", from_storage=unpruned.study._storage,
                      to_storage=storage)
    (x, y), val = xor
    tuner = Tuner(tuning_spaces.build_xor, objective="val_loss", max_trials=TRIALS + 1,
                  sampler="tpe", pruner=None, seed=3, storage=storage, study_name="xor",
                  directory=str(tmp_path), compile_cache=compile_cache_dir)
    ran = tuner.search(x, y, validation_data=val, epochs=2, batch_size=8)
    assert ran == [TRIALS]
    assert len(tuner.trials()) == TRIALS + 1
    assert tuner.search(x, y, validation_data=val, epochs=2, batch_size=8) == []


def test_the_search_leaves_jax_compile_cache_settings_as_it_found_them(unpruned):
    import jax
    assert jax.config.jax_compilation_cache_dir is None
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 1.0


def test_default_storage_is_a_sqlite_file_named_after_the_study(tmp_path):
    tuner = Tuner(tuning_spaces.build_xor, study_name="s1", directory=str(tmp_path))
    assert tuner.study.study_name == "s1"
    assert (tmp_path / "s1.db").exists()
    assert weights_io.trial_weights_path(str(tmp_path), "s1", 7).endswith(
        "s1/trial_0007.weights.npz")
