"""HyperParameters and grid enumeration, without training anything."""

import pytest

optuna = pytest.importorskip("optuna", reason="thawnet.tuning needs optuna: pip install optuna")

from thawnet.tuning import HyperParameters, infer_direction  # noqa: E402
from thawnet.tuning.grid import GridError, enumerate_grid  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def conditional_space(hp):
    n = hp.Int("hidden_layers", 1, 3)
    for k in range(1, n + 1):
        hp.Choice(f"units_{k}", [4, 8])
    hp.Boolean("bn")
    with hp.conditional_scope("hidden_layers", [3]):
        hp.Float("dropout", 0.0, 0.5, step=0.25)
    return n


def test_values_come_from_the_given_dict_and_are_recorded_in_asking_order():
    hp = HyperParameters.from_values({"hidden_layers": 2, "units_1": 8, "units_2": 4,
                                      "bn": True})
    assert conditional_space(hp) == 2
    assert list(hp.values) == ["hidden_layers", "units_1", "units_2", "bn"]
    assert hp["units_2"] == 4 and "dropout" not in hp


def test_inactive_conditional_scope_returns_default_and_records_nothing():
    hp = HyperParameters.from_values({"hidden_layers": 1, "units_1": 4, "bn": False})
    assert hp.Int("hidden_layers", 1, 3) == 1
    with hp.conditional_scope("hidden_layers", [2, 3]):
        assert hp.Int("units_2", 4, 64, default=16) == 16
        assert not hp.is_active()
    assert "units_2" not in hp.values and "units_2" not in hp.space


def test_optuna_trials_record_only_the_parameters_they_asked():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: conditional_space(HyperParameters.from_trial(t)), n_trials=30)
    by_depth = {}
    for trial in study.trials:
        by_depth.setdefault(trial.params["hidden_layers"], []).append(trial)
        # The sampler's view (distributions) is exactly the recorded params.
        assert set(trial.distributions) == set(trial.params)
    assert set(by_depth) == {1, 2, 3}
    for trial in by_depth[1]:
        assert set(trial.params) == {"hidden_layers", "units_1", "bn"}
    for trial in by_depth[3]:
        assert {"units_3", "dropout"} <= set(trial.params)


def test_grid_holds_exactly_the_valid_conditional_configurations():
    configs = enumerate_grid(conditional_space)
    # 1 layer: 2 units x 2 bn; 2 layers: 4 x 2; 3 layers: 8 x 2 x 3 dropouts.
    assert len(configs) == 4 + 8 + 48
    assert configs[0] == {"hidden_layers": 1, "units_1": 4, "bn": False}
    assert configs[1] == {"hidden_layers": 1, "units_1": 4, "bn": True}
    assert all("units_2" not in c for c in configs if c["hidden_layers"] == 1)
    assert len({tuple(sorted(c.items())) for c in configs}) == len(configs)


def test_grid_refuses_a_float_without_step():
    with pytest.raises(GridError, match=r"Float\('lr'.*no step.*hp.Choice"):
        enumerate_grid(lambda hp: hp.Float("lr", 1e-4, 1e-1, log=True))


def test_float_steps_give_exact_grid_values():
    configs = enumerate_grid(lambda hp: hp.Float("d", 0.1, 0.3, step=0.1))
    assert [c["d"] for c in configs] == [0.1, 0.2, 0.3]


@pytest.mark.parametrize("ask, message", [
    (lambda hp: hp.Int("n", 5, 1), "min_value 5 is above max_value 1"),
    (lambda hp: hp.Int("n", 1.5, 3), "min_value must be an int"),
    (lambda hp: hp.Float("lr", 0.0, 1.0, log=True), "must be > 0 for a log scale"),
    (lambda hp: hp.Float("lr", 1e-3, 1.0, step=0.1, log=True), "cannot be combined"),
    (lambda hp: hp.Choice("act", []), "values is empty"),
    (lambda hp: hp.Choice("act", ["relu", "relu"]), "must be distinct"),
    (lambda hp: hp.Choice("act", [object()]), "must be bool, int, float, str or None"),
    (lambda hp: hp.Int("", 1, 2), "non-empty strings"),
    (lambda hp: (hp.Int("n", 1, 3), hp.Int("n", 1, 5)), "asked twice in one trial"),
    (lambda hp: hp.conditional_scope("missing", [1]).__enter__(), "'missing' has not been"),
])
def test_bad_definitions_raise_errors_naming_the_parameter(ask, message):
    hp = HyperParameters.from_values({"n": 2, "act": "relu", "lr": 0.1}, strict=False)
    with pytest.raises((ValueError, TypeError), match=message):
        ask(hp)


def test_rebuilding_with_values_that_lack_an_asked_parameter_says_so():
    hp = HyperParameters.from_values({"hidden_layers": 2})
    with pytest.raises(KeyError, match="'units_1' is not in the given values"):
        conditional_space(hp)


@pytest.mark.parametrize("objective, direction", [
    ("val_loss", "minimize"), ("loss", "minimize"), ("val_mean_absolute_error", "minimize"),
    ("val_accuracy", "maximize"), ("auc", "maximize"), ("val_binary_accuracy", "maximize"),
])
def test_direction_is_inferred_from_the_objective_name(objective, direction):
    assert infer_direction(objective) == direction


def test_direction_that_cannot_be_inferred_asks_for_it():
    with pytest.raises(ValueError, match="pass direction='minimize' or direction='maximize'"):
        infer_direction("val_score")
