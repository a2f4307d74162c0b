"""thawnet.constraints: Keras 3's math, names and configs; every constraint argument of a layer
is resolved, stored on its Variable and serialised; constraints hold after fit (applied inside
the compiled step), match Keras 3's fit, and never touch a frozen weight."""

import jax.numpy as jnp
import keras
import numpy as np
import pytest

from thawnet import constraints
from thawnet import layers as tl
from thawnet.models import Sequential

RNG = np.random.default_rng(0)
W = RNG.normal(size=(5, 4)).astype("f4")
W4 = RNG.normal(size=(3, 3, 2, 4)).astype("f4")


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    return value


@pytest.mark.parametrize("name,kwargs,w", [
    ("NonNeg", {}, W),
    ("MaxNorm", {}, W), ("MaxNorm", {"max_value": 0.5, "axis": 1}, W),
    ("MaxNorm", {"max_value": 1.0, "axis": [0, 1, 2]}, W4),
    ("UnitNorm", {}, W), ("UnitNorm", {"axis": [0, 1, 2]}, W4),
    ("MinMaxNorm", {}, W), ("MinMaxNorm", {"min_value": 1.5, "max_value": 2.0, "rate": 0.5,
                                           "axis": 1}, W),
])
def test_constraint_math_and_config_match_keras(name, kwargs, w):
    ours, theirs = getattr(constraints, name)(**kwargs), getattr(keras.constraints, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(w))), np.asarray(theirs(w)),
                               rtol=1e-6, atol=1e-6)
    assert ours.get_config() == theirs.get_config()
    clone = type(ours).from_config(ours.get_config())
    np.testing.assert_array_equal(np.asarray(clone(w)), np.asarray(ours(w)))


@pytest.mark.parametrize("identifier,cls", [
    ("non_neg", constraints.NonNeg), ("NonNeg", constraints.NonNeg),
    ("max_norm", constraints.MaxNorm), ("MaxNorm", constraints.MaxNorm),
    ("unit_norm", constraints.UnitNorm), ("min_max_norm", constraints.MinMaxNorm),
    ("MinMaxNorm", constraints.MinMaxNorm), (constraints.UnitNorm, constraints.UnitNorm),
    ({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 0}}, constraints.MaxNorm),
    ({"module": "keras.constraints", "class_name": "NonNeg", "config": {},
      "registered_name": None}, constraints.NonNeg),
])
def test_get_resolves_names_classes_and_configs(identifier, cls):
    assert type(constraints.get(identifier)) is cls
    # Keras resolves the same identifiers to the class of the same name.
    assert type(keras.constraints.get(identifier if not isinstance(identifier, type)
                                      else keras.constraints.UnitNorm)).__name__ == cls.__name__


def test_get_passes_objects_and_callables_through_and_refuses_unknown_names():
    obj = constraints.MaxNorm(1.5)
    assert constraints.get(obj) is obj and constraints.get(None) is None
    fn = lambda w: w * 0.5  # noqa: E731
    assert constraints.get(fn) is fn
    with pytest.raises(ValueError, match=r"unknown constraint 'x'; known: \[.*'non_neg'"):
        constraints.get("x")
    with pytest.raises(ValueError, match=r"could not interpret constraint 3"):
        constraints.get(3)
    assert constraints.serialize(constraints.MaxNorm(2, axis=1)) == {
        "class_name": "MaxNorm", "config": {"max_value": 2, "axis": 1}}
    with pytest.raises(ValueError, match="only Constraint objects have a config"):
        constraints.serialize(fn)


def test_layer_errors_name_the_layer_and_the_argument():
    with pytest.raises(ValueError, match=r'Dense "d_bad": kernel_constraint: unknown constraint '
                                         r"'nonneg'"):
        tl.Dense(2, kernel_constraint="nonneg", name="d_bad")
    with pytest.raises(ValueError, match=r'PReLU ".*": alpha_constraint: unknown constraint'):
        tl.PReLU(alpha_constraint="positive")


LAYER_CASES = [
    ("Dense", {"units": 3}, (2, 4), ["kernel_constraint", "bias_constraint"]),
    ("Conv2D", {"filters": 2, "kernel_size": 3}, (1, 5, 5, 2),
     ["kernel_constraint", "bias_constraint"]),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3}, (1, 5, 2),
     ["kernel_constraint", "bias_constraint"]),
    ("DepthwiseConv2D", {"kernel_size": 3}, (1, 5, 5, 2),
     ["depthwise_constraint", "bias_constraint"]),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 3}, (1, 6, 2),
     ["depthwise_constraint", "pointwise_constraint", "bias_constraint"]),
    ("BatchNormalization", {}, (2, 3), ["gamma_constraint", "beta_constraint"]),
    ("LayerNormalization", {}, (2, 3), ["gamma_constraint", "beta_constraint"]),
    ("PReLU", {}, (2, 3), ["alpha_constraint"]),
]
# Which weight each constraint argument lands on (Keras's weight names).
_TARGET = {"kernel_constraint": "kernel", "bias_constraint": "bias", "gamma_constraint": "gamma",
           "beta_constraint": "beta", "alpha_constraint": "alpha",
           "depthwise_constraint": ("kernel", "depthwise_kernel"),
           "pointwise_constraint": "pointwise_kernel"}


@pytest.mark.parametrize("name,kwargs,shape,args", LAYER_CASES)
def test_every_constraint_argument_is_resolved_stored_and_serialised(name, kwargs, shape, args):
    given = {arg: ("non_neg" if i % 2 == 0 else constraints.MaxNorm(1.5, axis=0))
             for i, arg in enumerate(args)}
    ours = getattr(tl, name)(**kwargs, **given)
    theirs = getattr(keras.layers, name)(**kwargs, **given | {
        a: keras.constraints.MaxNorm(1.5, axis=0) for a, v in given.items() if v != "non_neg"})
    x = np.ones(shape, "f4")
    ours(x)
    theirs(x)
    by_name = {v.name: v for v in ours.weights}
    for arg in args:
        target = _TARGET[arg]
        weight = next(by_name[t] for t in (target if isinstance(target, tuple) else (target,))
                      if t in by_name)
        assert isinstance(weight.constraint, constraints.Constraint), arg
        assert type(weight.constraint).__name__ == type(getattr(theirs, arg)).__name__, arg
    config = ours.get_config()
    for arg in args:
        assert config[arg] == _plain(theirs.get_config()[arg]), arg
    clone = getattr(tl, name).from_config(config)
    for arg in args:
        assert constraints.serialize(getattr(clone, arg)) == config[arg]


X = RNG.normal(size=(64, 4)).astype("f4")
Y = -np.abs(RNG.normal(size=(64, 3))).astype("f4") * 4.0  # pulls weights negative


def _fit(layer, epochs=3, x=X, y=Y):
    model = Sequential([tl.Input(shape=(x.shape[1],)), layer])
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return model


def test_non_neg_holds_after_fit_and_without_it_entries_go_negative():
    free = _fit(tl.Dense(3, name="free"))
    assert free.get_weights()[0].min() < -0.1  # the data really drives the kernel below zero
    held = _fit(tl.Dense(3, kernel_constraint="non_neg", name="held"))
    kernel = held.get_weights()[0]
    assert kernel.min() >= 0.0 and kernel.max() > 0.0


def test_max_norm_holds_after_fit_with_steps_per_execution():
    model = Sequential([tl.Input(shape=(4,)),
                        tl.Dense(3, kernel_constraint=constraints.MaxNorm(0.3))])
    model.compile("sgd", "mse", steps_per_execution=2)
    model.fit(X, Y * 10.0, epochs=2, batch_size=16, verbose=0)
    norms = np.sqrt((model.get_weights()[0] ** 2).sum(axis=0))
    assert norms.max() <= 0.3 + 1e-6 and norms.min() > 0.2


def test_a_custom_constraint_subclass_is_applied_in_fit():
    class Clip(constraints.Constraint):
        def __call__(self, w):
            return jnp.clip(w, -0.05, 0.05)

    model = _fit(tl.Dense(3, kernel_constraint=Clip(), bias_constraint=Clip()))
    for w in model.get_weights():
        assert np.abs(w).max() <= 0.05 + 1e-7


def test_embedding_constraint_given_by_name_is_applied_in_fit():
    ids = RNG.integers(0, 6, size=(32, 2))
    model = Sequential([tl.Input(shape=(2,), dtype="int32"),
                        tl.Embedding(6, 3, embeddings_constraint="non_neg"), tl.Flatten()])
    model.compile("sgd", "mse")
    model.fit(ids, -np.ones((32, 6), "f4"), epochs=2, batch_size=8, verbose=0)
    assert model.get_weights()[0].min() >= 0.0


def test_a_frozen_constrained_weight_keeps_its_exact_bits():
    frozen = tl.Dense(3, kernel_constraint=constraints.MaxNorm(0.01), name="frozen")
    model = Sequential([tl.Input(shape=(4,)), frozen, tl.Dense(3, name="top")])
    model.build((None, 4))
    before = [w.copy() for w in frozen.get_weights()]
    top_before = model.layers[-1].get_weights()[0].copy()
    # The initial kernel violates the constraint: applying it would change the bits.
    assert np.sqrt((before[0] ** 2).sum(axis=0)).min() > 0.01
    frozen.trainable = False
    model.compile("sgd", "mse")
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(before, frozen.get_weights()):
        assert a.tobytes() == b.tobytes()
    assert not np.allclose(model.layers[-1].get_weights()[0], top_before)  # training ran


def test_constrained_sgd_fit_matches_keras():
    keras.utils.set_random_seed(0)
    theirs = keras.Sequential([keras.Input((4,)),
                               keras.layers.Dense(5, activation="relu",
                                                  kernel_constraint="non_neg"),
                               keras.layers.Dense(3, kernel_constraint=keras.constraints.MaxNorm(
                                   0.5), bias_constraint="non_neg")])
    ours = Sequential([tl.Input(shape=(4,)),
                       tl.Dense(5, activation="relu", kernel_constraint="non_neg"),
                       tl.Dense(3, kernel_constraint=constraints.MaxNorm(0.5),
                                bias_constraint="non_neg")])
    ours.set_weights(theirs.get_weights())
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse")
        m.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert ours.get_weights()[0].min() >= 0.0
