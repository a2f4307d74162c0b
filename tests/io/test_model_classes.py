"""io knows models only through the class registry (io/model_classes.py, issue #11): the kind
of each model is an isinstance test, so a subclass is what its base is and can be saved."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import thawnet
from thawnet.io import model_classes


class MySequential(thawnet.Sequential):
    """A user's Sequential subclass (no code of its own: Keras files describe it as data)."""


class MyModel(thawnet.Model):
    """A subclassed model: its structure lives in its call()."""

    def __init__(self):
        super().__init__()
        self.dense = thawnet.layers.Dense(2)

    def call(self, inputs, training=False):
        return self.dense(inputs)


@pytest.fixture(scope="module")
def sequential_subclass():
    thawnet.set_random_seed(3)
    return MySequential([thawnet.Input((3,)), thawnet.layers.Dense(4, name="hidden"),
                         thawnet.layers.Dense(2, name="out")])


def test_the_registry_gives_io_thawnet_s_model_classes():
    assert model_classes.model_class() is thawnet.Model
    assert model_classes.sequential_class() is thawnet.Sequential


def test_each_model_kind_is_told_by_isinstance(sequential_subclass):
    graph = thawnet.Model(sequential_subclass.inputs, sequential_subclass.outputs)
    subclassed = MyModel()
    kinds = {name: (model_classes.is_model(m), model_classes.is_sequential(m),
                    model_classes.is_graph_model(m), model_classes.is_plain_graph_model(m))
             for name, m in [("sequential subclass", sequential_subclass), ("graph", graph),
                             ("subclassed", subclassed),
                             ("layer", thawnet.layers.Dense(1))]}
    assert kinds == {"sequential subclass": (True, True, False, False),
                     "graph": (True, False, True, True),
                     "subclassed": (True, False, False, False),
                     "layer": (False, False, False, False)}


def test_a_sequential_subclass_saves_as_a_keras_sequential(sequential_subclass, tmp_path):
    path = tmp_path / "subclass.keras"
    sequential_subclass.save(path)
    x = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
    expected = sequential_subclass.predict(x, verbose=0)
    ours = thawnet.models.load_model(path)
    theirs = keras.saving.load_model(path)
    assert type(ours) is thawnet.Sequential and [layer.name for layer in ours.layers] == [
        "hidden", "out"]
    np.testing.assert_array_equal(ours.predict(x, verbose=0), expected)
    assert type(theirs).__name__ == "Sequential"
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
