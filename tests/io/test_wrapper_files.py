"""Wrapper layers in files: layers that hold layers (TimeDistributed, Bidirectional,
SpectralNormalization, an RNN's cell, StackedRNNCells' cells) rebuilt by thawnet's loaders.

Each wrapper deserializes the layers it holds in its from_config (classes by name only); the
.keras reader first converts each nested Keras entry (dtype policies, initializers) and checks
its class as it checks a top-level one. A ``training`` value Keras recorded in a node yields to
the model's call, as in Keras 3.
"""

import json
import zipfile

import keras
import numpy as np
import pytest

from thawnet import layers as L
from thawnet.io.keras_config import KerasConfigError, build_from_config
from thawnet.models import Model, load_model

X = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
# Constant initial values (Keras compiles a program per random-initializer shape); the
# fixtures then set random weights, which the files must carry.
Z = {"kernel_initializer": "zeros"}
R = {**Z, "recurrent_initializer": "zeros"}


def wrappers(M, stacked=False):
    """TimeDistributed(Dense) -> Bidirectional(LSTM) -> RNN(LSTMCell) [-> RNN(StackedRNNCells)]
    -> SpectralNormalization(Dense), in thawnet (``M = thawnet.layers``) or Keras."""
    inp = M.Input(shape=(4, 3), name="x")
    h = M.TimeDistributed(M.Dense(5, **Z), name="td")(inp)
    h = M.Bidirectional(M.LSTM(2, return_sequences=True, **R), merge_mode="concat",
                        name="bi")(h)
    h = M.RNN(M.LSTMCell(3, **R), return_sequences=True, name="rnn")(h)
    if stacked:
        h = M.RNN(M.StackedRNNCells([M.GRUCell(2, **R), M.SimpleRNNCell(3, **R)]),
                  return_sequences=True, name="stack")(h)
    return inp, M.SpectralNormalization(M.Dense(2, **Z), power_iterations=2, name="sn")(h)


def random_weights(shapes, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=shape) * 0.5).astype("float32") for shape in shapes]


@pytest.fixture(scope="module")
def thawnet_model():
    model = Model(*wrappers(L, stacked=True), name="wrappers")
    for v, value in zip(model.weights, random_weights([v.shape for v in model.weights])):
        v.assign(value)
    return model


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    model = keras.Model(*wrappers(keras.layers, stacked=True))
    model.set_weights(random_weights([w.shape for w in model.get_weights()]))
    path = tmp_path_factory.mktemp("wrappers") / "k.keras"
    model.save(path)
    return path, model.predict(X, verbose=0)


def _sublayer_names(model):
    return [(layer.name, type(layer).__name__,
             [type(c).__name__ for c in layer._children()]) for layer in model.layers]


@pytest.mark.parametrize("ext", ["thawnet", "keras"])
def test_thawnet_file_with_wrappers_loads_with_identical_outputs(thawnet_model, ext, tmp_path):
    thawnet_model.save(tmp_path / f"m.{ext}")
    loaded = load_model(tmp_path / f"m.{ext}")
    np.testing.assert_array_equal(np.asarray(loaded(X)), np.asarray(thawnet_model(X)))
    assert _sublayer_names(loaded) == _sublayer_names(thawnet_model)
    assert [v.path for v in loaded.weights] == [v.path for v in thawnet_model.weights]
    for a, b in zip(loaded.weights, thawnet_model.weights):
        np.testing.assert_array_equal(np.asarray(a.value), np.asarray(b.value), err_msg=a.path)
    stack = loaded.get_layer("stack").cell
    assert [type(c).__name__ for c in stack.cells] == ["GRUCell", "SimpleRNNCell"]
    assert loaded.get_layer("sn").power_iterations == 2


def test_keras_file_with_wrappers_loads_with_keras_outputs(keras_file):
    path, expected = keras_file
    loaded = load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(X)), expected, atol=1e-5, rtol=1e-5)
    bi = loaded.get_layer("bi")
    assert (type(bi.forward_layer).__name__, bi.forward_layer.units, bi.merge_mode) == (
        "LSTM", 2, "concat")
    assert type(loaded.get_layer("td").layer).__name__ == "Dense"


def test_thawnet_keras_file_with_wrappers_loads_in_keras(tmp_path):
    model = Model(*wrappers(L), name="wrappers")
    for v, value in zip(model.weights, random_weights([v.shape for v in model.weights], 2)):
        v.assign(value)
    model.save(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(theirs.predict(X, verbose=0), np.asarray(model(X)), atol=1e-5)


def _entry(path, layer_name):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return next(e for e in config["config"]["layers"] if e["config"]["name"] == layer_name)


def test_nested_layer_entries_are_checked_like_top_level_ones(keras_file):
    entry = _entry(keras_file[0], "td")
    entry["config"]["layer"]["module"] = "evil.payload"
    with pytest.raises(KerasConfigError, match="'Dense' comes from module 'evil.payload', "
                                               "outside Keras"):
        build_from_config(entry)
    entry["config"]["layer"].update(module="keras.layers", class_name="Unknown")
    with pytest.raises(KerasConfigError, match=r'"td" \(TimeDistributed\).*\'Unknown\' is '
                                               "neither a thawnet class nor registered"):
        build_from_config(entry)
    cells = _entry(keras_file[0], "stack")
    cells["config"]["cell"]["config"]["cells"][1]["config"]["kernel_constraint"] = {
        "module": "keras.constraints", "class_name": "NonNeg", "config": {}}
    with pytest.raises(KerasConfigError, match="kernel_constraint.*not supported"):
        build_from_config(cells)


def test_a_custom_cell_in_a_keras_file_loads_through_custom_objects(keras_file):
    class MyCell(L.SimpleRNNCell):
        pass

    entry = _entry(keras_file[0], "rnn")
    entry["config"]["cell"].update(class_name="MyCell", module=None, registered_name="pkg>MyCell")
    with pytest.raises(KerasConfigError, match=r"RNN config: the wrapped layer: .*'MyCell' is "
                                               "neither a thawnet class nor registered"):
        build_from_config(entry)
    entry["config"]["cell"]["config"] = {"units": 3, "name": "c"}
    layer = build_from_config(entry, custom_objects={"pkg>MyCell": MyCell})
    assert type(layer.cell) is MyCell and layer.cell.units == 3


class Scale(L.Layer):
    """A user's layer, known to the loaders only through custom_objects."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@pytest.mark.parametrize("ext", ["thawnet", "keras"])
def test_a_wrapped_custom_layer_loads_only_through_custom_objects(ext, tmp_path):
    inp = L.Input(shape=(4, 3))
    model = Model(inp, L.TimeDistributed(Scale(3.0), name="td")(inp))
    model.save(tmp_path / f"m.{ext}")
    with pytest.raises(ValueError, match=r'"td" \(TimeDistributed\).*\'Scale\' is neither'):
        load_model(tmp_path / f"m.{ext}")
    loaded = load_model(tmp_path / f"m.{ext}", custom_objects={"Scale": Scale})
    assert type(loaded.get_layer("td").layer) is Scale
    np.testing.assert_array_equal(np.asarray(loaded(X)), X * 3.0)


def test_keras_recorded_training_flag_yields_to_the_models_call(tmp_path):
    """Keras 3 records ``training=True`` (its default) in the node of a random image layer;
    predict/evaluate run it in inference as Keras does, a training call augments."""
    inp = keras.Input(shape=(3, 3, 1))
    keras.Model(inp, keras.layers.RandomBrightness(0.5, seed=1)(inp)).save(tmp_path / "b.keras")
    node = _entry(tmp_path / "b.keras", "random_brightness")["inbound_nodes"][0]
    assert node["kwargs"] == {"training": True}
    loaded = load_model(tmp_path / "b.keras")
    images = np.random.default_rng(3).uniform(0, 255, size=(2, 3, 3, 1)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), images)
    np.testing.assert_array_equal(np.asarray(loaded(images)), images)
    assert np.abs(np.asarray(loaded(images, training=True)) - images).max() > 1.0


def test_a_model_inside_a_wrapper_in_a_keras_file_loads(tmp_path):
    inner = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)], name="inner")
    inp = keras.Input(shape=(4, 3))
    theirs = keras.Model(inp, keras.layers.TimeDistributed(inner, name="td")(inp))
    theirs.set_weights(random_weights([w.shape for w in theirs.get_weights()]))
    theirs.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert type(loaded.get_layer("td").layer).__name__ == "Sequential"
    np.testing.assert_allclose(np.asarray(loaded(X)), theirs.predict(X, verbose=0), atol=1e-5)
