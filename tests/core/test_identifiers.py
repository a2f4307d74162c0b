"""One resolver for the seven identifier namespaces (issue #11 item 4): the same rules and the
same "unknown <kind> 'name'; known: [...]" error everywhere, and registered objects by name."""

import pytest

import thawnet
from thawnet import (activations, constraints, initializers, losses, metrics, optimizers,
                     regularizers)

NAMESPACES = {"activation": (activations.get, "relu"), "constraint": (constraints.get, "non_neg"),
              "initializer": (initializers.get, "zeros"), "loss": (losses.get, "mse"),
              "metric": (metrics.get, "mae"), "optimizer": (optimizers.get, "sgd"),
              "regularizer": (regularizers.get, "l2")}


@pytest.mark.parametrize("kind", sorted(NAMESPACES))
def test_unknown_names_get_the_same_error_listing_the_known_ones(kind):
    get, known = NAMESPACES[kind]
    assert get(known) is not None
    with pytest.raises(ValueError, match=rf"unknown {kind} 'no_such_name'; known: \[.*'{known}'"):
        get("no_such_name")


@pytest.mark.parametrize("kind", ["constraint", "initializer", "loss", "metric", "optimizer",
                                  "regularizer"])
def test_an_unknown_class_in_a_config_names_the_class(kind):
    get, _ = NAMESPACES[kind]
    with pytest.raises(ValueError, match=rf"unknown {kind} class 'Nope'; known:"):
        get({"class_name": "Nope", "config": {}})


def test_registered_objects_resolve_by_name_in_every_namespace():
    @thawnet.saving.register_keras_serializable(package="Ids")
    class Halving(thawnet.constraints.Constraint):
        def __call__(self, w):
            return w / 2

    @thawnet.saving.register_keras_serializable(package="Ids")
    def doubled(x):
        return 2 * x

    assert isinstance(constraints.get("Ids>Halving"), Halving)
    assert activations.get("Ids>doubled") is doubled
    with thawnet.saving.custom_object_scope({"my_loss": lambda t, p: (t - p) ** 2}):
        assert losses.get("my_loss") is not None


def test_configs_build_objects_and_instances_pass_through():
    l2 = regularizers.get({"class_name": "L2", "config": {"l2": 0.5}})
    assert l2.get_config() == {"l2": 0.5}
    assert regularizers.get(l2) is l2
    assert type(initializers.get({"class_name": "GlorotUniform", "config": {}})).__name__ in (
        "GlorotUniform", "VarianceScaling")
    adam = optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.01}})
    assert float(adam.learning_rate) == pytest.approx(0.01)


KERAS_CASES = {  # identifiers each namespace resolves to the same class as Keras 3's get()
    "activations": ["relu", None, {"class_name": "function", "config": "tanh",
                                   "module": "keras.activations", "registered_name": "tanh"}],
    "constraints": ["non_neg", "NonNeg", "MaxNorm", {"class_name": "MaxNorm",
                                                     "config": {"max_value": 2.0}}, None],
    "initializers": ["zeros", "Zeros", "orthogonal", {"class_name": "RandomNormal",
                                                     "config": {"stddev": 0.1}}, None],
    "losses": ["MeanSquaredError", {"class_name": "MeanSquaredError", "config": {}}, None],
    "metrics": ["mae", "AUC", "auc", {"class_name": "AUC", "config": {}}, None],
    "optimizers": ["adam", "Adam", "RMSprop", {"class_name": "Adam",
                                               "config": {"learning_rate": 0.1}}],
    "regularizers": ["l2", "L2", {"class_name": "L2", "config": {"l2": 0.1}}, None],
}
CLASSES = {"constraints": "NonNeg", "initializers": "Zeros", "losses": "MeanSquaredError",
           "metrics": "AUC", "regularizers": "L2"}


def _resolved(get, identifier):
    found = get(identifier)
    return getattr(found, "__name__", None) if callable(found) and not hasattr(
        found, "get_config") else type(found).__name__


@pytest.mark.parametrize("namespace", sorted(KERAS_CASES))
def test_names_configs_and_classes_resolve_as_keras_resolves_them(namespace):
    keras = pytest.importorskip("keras")
    ours, theirs = getattr(thawnet, namespace), getattr(keras, namespace)
    for identifier in KERAS_CASES[namespace]:
        assert _resolved(ours.get, identifier) == _resolved(theirs.get, identifier), identifier
    if namespace in CLASSES:
        name = CLASSES[namespace]
        assert type(ours.get(getattr(ours, name))).__name__ == name
        assert type(theirs.get(getattr(theirs, name))).__name__ == name


@pytest.mark.parametrize("kind", sorted(NAMESPACES))
def test_objects_pass_through_and_values_of_no_kind_are_refused_alike(kind):
    get, known = NAMESPACES[kind]
    obj = get(known)
    assert get(obj) is obj
    with pytest.raises(ValueError, match=rf"could not interpret {kind} 3: pass a name \(known:"):
        get(3)


def test_callables_are_used_as_keras_uses_them():
    def half(x):
        return x / 2
    for namespace in (activations, constraints, initializers, regularizers):
        assert namespace.get(half) is half
    assert type(losses.get(half)).__name__ == "LossFunctionWrapper"  # always reduces to a scalar
    assert type(metrics.get(half)).__name__ == "MeanMetricWrapper"
    with pytest.raises(ValueError, match="could not interpret optimizer"):
        optimizers.get(half)


@pytest.mark.parametrize("namespace", ["activations", "constraints", "initializers", "losses",
                                       "metrics", "optimizers", "regularizers"])
def test_deserialize_goes_through_the_same_resolver(namespace):
    module = getattr(thawnet, namespace)
    kind = {"activations": "activation", "losses": "loss", "metrics": "metric"}.get(
        namespace, namespace[:-1])
    with pytest.raises(ValueError, match=rf"unknown {kind} class 'Nope'; known:"):
        module.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match=rf"a {kind} config must be a dict"):
        module.deserialize("relu")


def test_function_configs_and_custom_objects_in_deserialize():
    assert activations.deserialize({"class_name": "function", "config": "relu"}) is (
        activations.relu)
    reg = regularizers.deserialize({"class_name": "Mine", "config": {"l2": 0.25}},
                                   custom_objects={"Mine": regularizers.L2})
    assert reg.get_config() == {"l2": 0.25}
    cons = constraints.deserialize({"class_name": "MaxNorm", "config": {"max_value": 3.0}})
    assert cons.get_config()["max_value"] == 3.0


def test_learning_rate_schedules_deserialize_through_the_same_resolver():
    schedules = optimizers.schedules
    config = schedules.serialize(schedules.ExponentialDecay(0.1, 10, 0.9))
    assert schedules.deserialize(config).get_config() == config["config"]
    with pytest.raises(ValueError, match=r"unknown learning rate schedule class 'Nope'; known: "
                                         r"\['CosineDecay'"):
        schedules.deserialize({"class_name": "Nope", "config": {}})
    custom = schedules.deserialize({"class_name": "Mine", "config": config["config"]},
                                   custom_objects={"Mine": schedules.ExponentialDecay})
    assert type(custom).__name__ == "ExponentialDecay"
