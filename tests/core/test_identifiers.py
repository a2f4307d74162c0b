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
