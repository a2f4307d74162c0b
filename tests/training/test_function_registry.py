"""One registry holds every compiled function of a model, cleared by one structural hook.

The registry is keyed by (kind, trainable split, options); each entry is one ``jax.jit``
function holding a program per input shapes. Counting those programs proves what compiles.
"""

import jax
import numpy as np
import pytest

import thawnet
from thawnet import layers as L
from thawnet.training.function_registry import FunctionRegistry

X = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
Y = np.random.default_rng(1).standard_normal((32, 1)).astype(np.float32)


def _model():
    model = thawnet.Sequential([L.Input(shape=(4,)), L.Dense(3, name="hidden"),
                                L.Dense(1, name="out")])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _run_everything(model):
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    model.evaluate(X, Y, batch_size=8, verbose=0)
    model.predict(X, batch_size=8, verbose=0)
    model(X[:2])


def test_every_compiled_function_lives_in_the_one_registry_and_compiles_once():
    model = _model()
    _run_everything(model)
    registry = model._functions
    assert isinstance(registry, FunctionRegistry)
    assert sorted({kind for kind, _, _ in registry}) == [
        "audit_compare", "audit_copy", "eager", "predict", "results", "test", "train"]
    # No other cache of compiled functions on the model.
    assert not {"_eager_fns", "_predict_cache", "_fn_cache"} & set(model.__dict__)
    # One program per (kind, split, shapes): train/test/predict each see the batch shape 8.
    counts = {kind: registry.programs(kind) for kind in
              ("train", "test", "predict", "eager", "results", "audit_copy", "audit_compare")}
    assert counts == {"train": 1, "test": 1, "predict": 1, "eager": 1, "results": 1,
                      "audit_copy": 1, "audit_compare": 1}
    _run_everything(model)  # the same calls again: nothing new is compiled
    assert {kind: registry.programs(kind) for kind in counts} == counts


def test_a_new_split_gets_its_own_entry_and_flipping_back_reuses_the_first():
    model = _model()
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert model._functions.programs("train") == 1
    model.get_layer("hidden").trainable = False
    with pytest.warns(UserWarning):  # frozen since compile(): said, and honoured
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert model._functions.programs("train") == 2
    model.get_layer("hidden").trainable = True
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert model._functions.programs("train") == 2  # the first split's step, reused


def test_adding_a_layer_clears_every_kind_through_the_single_hook():
    model = _model()
    _run_everything(model)
    clears = model._functions.clears
    model.add(L.Dense(2, name="extra"))
    assert model._functions.clears > clears
    assert len(model._functions) == 0 and model._functions.programs() == 0
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, np.zeros((32, 2), np.float32), batch_size=8, epochs=1, verbose=0)
    assert model._functions.programs("train") == 1
    assert model.predict(X, verbose=0).shape == (32, 2)


def test_reset_training_state_restarts_the_optimizer_and_rng_without_recompiling():
    model = _model()
    start = model.get_weights()
    first = model.fit(X, Y, batch_size=8, epochs=2, verbose=0).history["loss"]
    after_first = model.get_weights()
    model.reset_training_state()
    assert model._training.opt_state is None and model._training.opt_paths is None
    np.testing.assert_array_equal(model._training.rng, jax.random.PRNGKey(0))
    programs = model._functions.programs()
    model.set_weights(start)
    again = model.fit(X, Y, batch_size=8, epochs=2, verbose=0).history["loss"]
    assert again == first  # same slots, step count, shuffles: the very same run
    for a, b in zip(model.get_weights(), after_first):
        np.testing.assert_array_equal(a, b)
    assert model._functions.programs() == programs


def test_reset_training_state_before_compile_names_the_fix():
    model = thawnet.Sequential([L.Input(shape=(4,)), L.Dense(1)])
    with pytest.raises(RuntimeError, match=r"call compile\(\) before reset_training_state"):
        model.reset_training_state()
