"""thawnet writes Keras 3 files: .keras archives and .weights.h5 that Keras 3 loads.

Keras is the oracle: `keras.saving.load_model` / `load_weights` must give the same outputs
(within 1e-5), the same trainable flags, and a layout (config keys, HDF5 groups) like the one
Keras itself writes for the same architecture. thawnet reads its own files back exactly.
"""

import json
import os
import zipfile

import h5py
import keras
import numpy as np
import pytest

from thawnet import layers as tl
from thawnet.io import keras_writer
from thawnet.io.errors import FileFormatError
from thawnet.layers.layer import Layer, register
from thawnet.models import Model, Sequential, load_model

RNG = np.random.RandomState(0)
X_VEC = RNG.randn(5, 4).astype("float32")
X_A, X_B = RNG.randn(5, 3).astype("float32"), RNG.randn(5, 3).astype("float32")
X_IMG = RNG.randn(2, 8, 8, 3).astype("float32")


def _randomize(model, seed=1):
    """Non-trivial values everywhere, BN variances positive, so a mix-up shows."""
    rng = np.random.RandomState(seed)
    for v in model.weights:
        value = rng.randn(*v.shape).astype("float32")
        v.assign(np.abs(value) + 0.5 if "variance" in v.path else value)


def _mlp(L, S):
    return S([L.Input((4,)), L.Dense(8, activation="relu", trainable=False),
              L.BatchNormalization(), L.Dropout(0.3), L.Dense(2)])


def _two_inputs(L, M):
    a, b = L.Input((3,), name="a"), L.Input((3,), name="b")
    merged = L.Concatenate()([L.Dense(4, activation="tanh")(a), L.Dense(4)(b)])
    summed = L.Add()([L.Dense(3)(merged), L.Dense(3)(merged)])
    return M([a, b], L.Dense(1)(summed), name="two_inputs")


def _cnn(L, S):
    return S([L.Input((8, 8, 3)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(),
              L.Conv2D(2, 2, padding="same"), L.AveragePooling2D(2), L.Flatten(), L.Dense(3)])


def _nested(L, M, S):
    inner = S([L.Input((8,)), L.Dense(5), L.BatchNormalization()], name="inner")
    inner.trainable = False
    x = L.Input((4,))
    return M(x, L.Dense(2)(inner(L.Dense(8, activation="relu")(x))), name="outer")


CASES = {"mlp": (lambda: _mlp(tl, Sequential), X_VEC),
         "two_inputs": (lambda: _two_inputs(tl, Model), [X_A, X_B]),
         "cnn": (lambda: _cnn(tl, Sequential), X_IMG),
         "nested": (lambda: _nested(tl, Model, Sequential), X_VEC)}


def _leaf_layers(model):
    """(name, trainable) of every non-model layer, depth first, in Keras's layer order."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers"):
            out.extend(_leaf_layers(layer))
        elif type(layer).__name__ != "InputLayer":
            out.append((layer.name, bool(layer.trainable)))
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_loads_a_thawnet_keras_file_with_equal_outputs_and_flags(case, tmp_path):
    build, x = CASES[case]
    model = build()
    _randomize(model)
    path = str(tmp_path / f"{case}.keras")
    model.save(path)

    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(theirs(x)), np.asarray(model(x)), atol=1e-5)
    assert _leaf_layers(theirs) == _leaf_layers(model)
    assert len(theirs.trainable_weights) == len(model.trainable_weights)
    assert len(theirs.non_trainable_weights) == len(model.non_trainable_weights)

    again = load_model(path)
    assert _leaf_layers(again) == _leaf_layers(model)
    assert [l.name for l in again.layers] == [l.name for l in model.layers]
    assert again.trainable_split() == model.trainable_split()
    # Seed generators' states are variables but not weights: Keras files hold none (as Keras).
    weights = {id(v) for v in model.weights}
    for (p, v), (q, w) in zip(model.variables_by_path().items(),
                              again.variables_by_path().items()):
        assert p == q, p
        assert id(v) not in weights or np.array_equal(np.asarray(v.value), np.asarray(w.value)), p
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(model(x)))


def test_frozen_nested_model_and_bn_statistics_survive_thawnet_round_trip(tmp_path):
    model = _nested(tl, Model, Sequential)
    _randomize(model, seed=3)
    model.save(tmp_path / "n.keras")
    again = load_model(tmp_path / "n.keras")
    inner = again.get_layer("inner")
    assert inner.trainable is False and [l.trainable for l in inner.layers] == [False, False]
    stats = {p: np.asarray(v.value) for p, v in again.variables_by_path().items()
             if "moving" in p}
    assert sorted(stats) == ["inner/batch_normalization_1/moving_mean",
                             "inner/batch_normalization_1/moving_variance"]
    for p, value in stats.items():
        np.testing.assert_array_equal(value, np.asarray(model.variables_by_path()[p].value))


def _strip(entry):
    """The key structure of a config entry: which keys sit where (values left out)."""
    if isinstance(entry, dict):
        return {k: _strip(v) for k, v in entry.items()
                if k not in ("name", "shared_object_id", "inbound_nodes", "input_layers",
                             "output_layers")}
    if isinstance(entry, list):
        return [_strip(v) for v in entry if isinstance(v, (dict, list))]
    return None


def _keras_twin(case):
    builders = {"mlp": lambda: _mlp(keras.layers, keras.Sequential),
                "two_inputs": lambda: _two_inputs(keras.layers, keras.Model),
                "cnn": lambda: _cnn(keras.layers, keras.Sequential)}
    return builders[case]()


@pytest.mark.parametrize("case", ["mlp", "two_inputs", "cnn"])
def test_config_and_weights_layout_are_the_ones_keras_writes(case, tmp_path):
    ours, theirs = CASES[case][0](), _keras_twin(case)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    configs, layouts = [], []
    for name in ("ours", "theirs"):
        with zipfile.ZipFile(tmp_path / f"{name}.keras") as zf:
            assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
            config = json.loads(zf.read("config.json"))
            assert set(json.loads(zf.read("metadata.json"))) >= {"keras_version", "date_saved"}
            zf.extract("model.weights.h5", tmp_path / name)
        configs.append(config)
        found = []
        with h5py.File(tmp_path / name / "model.weights.h5", "r") as f:
            f.visititems(lambda p, o: found.append((p, o.shape)) if isinstance(o, h5py.Dataset)
                         else None)
        layouts.append(sorted(found))
    ours_config, keras_config = configs
    assert {k: ours_config[k] for k in ("module", "class_name", "registered_name")} == \
        {k: keras_config[k] for k in ("module", "class_name", "registered_name")}
    # build_config may be extra (Keras writes it only for layers with their own build(), and
    # accepts it on any layer); everything else sits where Keras puts it.
    assert [(l["module"], l["class_name"], l["registered_name"], sorted(set(l) - {"build_config"}))
            for l in ours_config["config"]["layers"]] == \
        [(l["module"], l["class_name"], l["registered_name"], sorted(set(l) - {"build_config"}))
         for l in keras_config["config"]["layers"]]
    for ours_layer, keras_layer in zip(ours_config["config"]["layers"],
                                       keras_config["config"]["layers"]):
        assert set(ours_layer["config"]) <= set(keras_layer["config"]), ours_layer["class_name"]
        if "build_config" in keras_layer:
            assert ours_layer["build_config"] == keras_layer["build_config"]
    assert layouts[0] == layouts[1]


def test_functional_graph_is_written_with_keras_tensor_references(tmp_path):
    model = _two_inputs(tl, Model)
    model.save(tmp_path / "f.keras")
    with zipfile.ZipFile(tmp_path / "f.keras") as zf:
        config = json.loads(zf.read("config.json"))["config"]
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    concat = next(l for l in config["layers"] if l["class_name"] == "Concatenate")
    (node,) = concat["inbound_nodes"]
    refs = [t["config"]["keras_history"] for t in node["args"][0]]
    assert [t["class_name"] for t in node["args"][0]] == ["__keras_tensor__"] * 2
    assert refs == [["dense_1", 0, 0], ["dense_2", 0, 0]] and node["kwargs"] == {}


def test_save_weights_h5_loads_in_keras_and_back_into_thawnet(tmp_path):
    model = _cnn(tl, Sequential)
    _randomize(model)
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)

    theirs = _keras_twin("cnn")
    theirs.load_weights(path)
    np.testing.assert_allclose(np.asarray(theirs(X_IMG)), np.asarray(model(X_IMG)), atol=1e-5)

    again = _cnn(tl, Sequential)
    again.load_weights(path)
    for v, w in zip(model.weights, again.weights):
        assert np.asarray(v.value).tobytes() == np.asarray(w.value).tobytes(), v.path


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    model = _mlp(tl, Sequential)
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()

    def broken(f, members):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(keras_writer, "_write_zip", broken)
    _randomize(model)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]   # no temporary file left behind
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save_weights(tmp_path / "w.weights.h5", overwrite=False)


def test_subclassed_and_unbuilt_models_are_refused_with_the_fix(tmp_path):
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.dense = tl.Dense(2)

        def call(self, x, training=False):
            return self.dense(x)

    net = Net()
    net(X_VEC)
    with pytest.raises(ValueError, match=r"subclassed.*save_weights\('model.weights.h5'\)"):
        net.save(tmp_path / "n.keras")
    with pytest.raises(ValueError, match="no input shape yet"):
        Sequential([tl.Dense(2)]).save(tmp_path / "s.keras")
    assert not os.listdir(tmp_path)


@register
class WriterTestScale(Layer):
    """A custom layer registered with thawnet: multiplies by a learned per-feature factor."""

    def __init__(self, init=2.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        self.factor.assign(np.full((input_shape[-1],), self.init, "float32"))

    def call(self, x, training=False):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "init": self.init}


def test_custom_layers_go_through_the_registry(tmp_path):
    model = Sequential([tl.Input((4,)), tl.Dense(3), WriterTestScale(init=3.0)])
    model.save(tmp_path / "c.keras")
    with zipfile.ZipFile(tmp_path / "c.keras") as zf:
        entry = json.loads(zf.read("config.json"))["config"]["layers"][-1]
    assert (entry["module"], entry["class_name"], entry["registered_name"]) == \
        (WriterTestScale.__module__, "WriterTestScale", "Custom>WriterTestScale")
    again = load_model(tmp_path / "c.keras")
    assert isinstance(again.layers[-1], WriterTestScale) and again.layers[-1].init == 3.0
    np.testing.assert_array_equal(np.asarray(again(X_VEC)), np.asarray(model(X_VEC)))

    # A class this process does not know: refused, naming the class and the fix.
    text = (tmp_path / "c.keras").read_bytes()
    with zipfile.ZipFile(tmp_path / "c.keras") as zf:
        config = zf.read("config.json").replace(b'"WriterTestScale"', b'"Unknown"')
        members = {n: zf.read(n) for n in zf.namelist()}
    members["config.json"] = config
    with zipfile.ZipFile(tmp_path / "u.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    assert text   # the original file is untouched
    with pytest.raises(FileFormatError, match=r"'Unknown'.*custom_objects"):
        load_model(tmp_path / "u.keras")


def test_wrapped_layers_and_regularizers_are_serialized_as_keras_objects(tmp_path):
    model = Sequential([tl.Input((3, 4)), tl.TimeDistributed(tl.Dense(2, kernel_regularizer="l2")),
                        tl.LayerNormalization(), tl.GlobalAveragePooling1D()])
    _randomize(model)
    model.save(tmp_path / "w.keras")
    with zipfile.ZipFile(tmp_path / "w.keras") as zf:
        wrapper = json.loads(zf.read("config.json"))["config"]["layers"][1]["config"]
    inner = wrapper["layer"]
    assert (inner["module"], inner["class_name"], inner["registered_name"]) == \
        ("keras.layers", "Dense", None)
    assert inner["config"]["kernel_regularizer"]["module"] == "keras.regularizers"
    assert inner["config"]["dtype"]["class_name"] == "DTypePolicy"
    x = RNG.randn(2, 3, 4).astype("float32")
    theirs = keras.saving.load_model(tmp_path / "w.keras")
    np.testing.assert_allclose(np.asarray(theirs(x)), np.asarray(model(x)), atol=1e-5)
