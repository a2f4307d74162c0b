"""Functional, Sequential and subclassed models; counts against Keras for shared and nested layers."""

import keras
import numpy as np
import pytest

from thawnet import layers as tl
from thawnet.models import Model, Sequential
from thawnet.models.summary import count_split


def _keras_split(model):
    t = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    n = sum(int(np.prod(v.shape)) for v in model.non_trainable_weights)
    return t + n, t, n


def _copy_by_layer(ours, theirs):
    for a, b in zip([lay for lay in ours.layers if lay.weights],
                    [lay for lay in theirs.layers if lay.weights]):
        a.set_weights(b.get_weights())


def test_shared_layer_and_nested_model_counts_equal_keras():
    def build(L, M, S, freeze):
        x1, x2 = L.Input(shape=(6,)), L.Input(shape=(6,))
        shared = L.Dense(5)
        inner = S([L.Input(shape=(5,)), L.Dense(4), L.Dense(3)])
        y = L.Concatenate()([inner(shared(x1)), inner(shared(x2))]) if hasattr(L, "Concatenate") \
            else None
        model = M([x1, x2], L.Dense(1)(y))
        if freeze:
            inner.trainable = False
        return model

    for freeze in (False, True):
        ours = build(tl, Model, Sequential, freeze)
        theirs = build(keras.layers, keras.Model, keras.Sequential, freeze)
        assert count_split(ours) == _keras_split(theirs)
        assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


def test_functional_multi_input_multi_output_matches_keras_outputs():
    def build(L, M):
        a, b = L.Input(shape=(3,), name="a"), L.Input(shape=(2,), name="b")
        h = L.Dense(4, activation="tanh")(a)
        return M([a, b], [L.Dense(2)(h), L.Dense(1, activation="sigmoid")(b)])

    ours, theirs = build(tl, Model), build(keras.layers, keras.Model)
    ours.set_weights(theirs.get_weights())
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(4, 3)).astype("f4"), rng.normal(size=(4, 2)).astype("f4")
    for o, k in zip(ours([xa, xb]), theirs([xa, xb])):
        np.testing.assert_allclose(np.asarray(o), np.asarray(k), rtol=1e-5, atol=1e-6)
    named = ours({"a": xa, "b": xb})
    np.testing.assert_allclose(np.asarray(named[0]), np.asarray(ours([xa, xb])[0]))


def test_sequential_add_pop_and_get_layer():
    model = Sequential([tl.Input(shape=(4,)), tl.Dense(3, name="first")])
    model.add(tl.Dense(2, name="second"))
    assert model.output_shape == (None, 2)
    assert model.get_layer("second") is model.layers[1]
    assert model.get_layer(index=0).name == "first"
    popped = model.pop()
    assert popped.name == "second" and model.output_shape == (None, 3)
    assert model.count_params() == 15
    with pytest.raises(ValueError, match='has no layer named "nope"'):
        model.get_layer("nope")


def test_sequential_without_input_builds_on_first_call():
    model = Sequential([tl.Dense(3), tl.Dense(1)])
    assert not model.built
    with pytest.raises(ValueError, match="has not been built yet"):
        model.summary()
    out = model(np.ones((2, 5), "f4"))
    assert out.shape == (2, 1) and model.count_params() == 18 + 4


def test_subclassed_model_tracks_its_layers_and_trains_through_the_bridge():
    class TwoLayer(Model):
        def __init__(self):
            super().__init__()
            self.hidden = tl.Dense(4, activation="relu")
            self.out = tl.Dense(1)

        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs))

    model = TwoLayer()
    y = model(np.ones((3, 2), "f4"))
    assert y.shape == (3, 1)
    assert model.count_params() == 12 + 5
    assert list(model.variables_by_path()) == [
        "hidden_name/kernel".replace("hidden_name", model.hidden.name),
        f"{model.hidden.name}/bias", f"{model.out.name}/kernel", f"{model.out.name}/bias"]
    np.testing.assert_allclose(np.asarray(model(np.ones((3, 2), "f4"))), np.asarray(y))


def test_input_of_the_wrong_shape_names_model_and_shapes():
    x = tl.Input(shape=(4,), name="features")
    model = Model(x, tl.Dense(1)(x))
    with pytest.raises(ValueError, match=r'input "features" expects shape \(None, 4\); received '
                                         r"shape \(2, 5\)"):
        model(np.ones((2, 5), "f4"))


def test_output_not_reachable_from_inputs_is_refused():
    a, b = tl.Input(shape=(2,)), tl.Input(shape=(2,))
    with pytest.raises(ValueError, match="not among the model's inputs"):
        Model(a, tl.Dense(1)(b))
