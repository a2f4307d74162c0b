"""Keras files into thawnet: .weights.h5, legacy .h5 and .keras archives written by Keras 3."""

import json
import zipfile

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

from thawnet import layers as tl
from thawnet.io.errors import FileFormatError
from thawnet.models import Model, Sequential, load_model

X_IMG = np.random.RandomState(0).rand(3, 8, 8, 3).astype("float32")
X_VEC = np.random.RandomState(1).rand(3, 6).astype("float32")


def _cnn(L, S, names=("c1", "bn", "out"), out_units=5):
    return S([L.Input(shape=(8, 8, 3)), L.Conv2D(4, 3, name=names[0]),
              L.BatchNormalization(name=names[1]), L.ReLU(), L.Flatten(),
              L.Dense(out_units, name=names[2])])


def _two_branch(L, M, S):
    inner = S([L.Input(shape=(9,)), L.Dense(4, activation="relu"), L.Dense(2)], name="inner")
    x = L.Input(shape=(6,))
    a = L.Dense(5, activation="tanh")(x)
    b = L.Dense(4, trainable=False)(x)
    return M(x, inner(L.Concatenate()([a, b])), name="two_branch")


def _randomize(keras_model, seed):
    rng = np.random.RandomState(seed)
    keras_model.set_weights([np.abs(rng.normal(size=w.shape)).astype("float32") + 0.5
                             if "variance" in w.path else rng.normal(size=w.shape).astype("float32")
                             for w in keras_model.weights])


def _weights_of(model):
    return [np.array(w) for w in model.get_weights()]


def _fill(model, value=0.25):
    """Give every weight a known value (cheaper than materialising initializers)."""
    for index, v in enumerate(model.weights):
        v.assign(np.full(v.shape, value + index, "float32"))
    return _weights_of(model)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Keras models with random weights (BN statistics included), saved in every format."""
    root = tmp_path_factory.mktemp("keras_files")
    out = {}
    for kind, build in (("cnn", lambda: _cnn(keras.layers, keras.Sequential)),
                        ("branch", lambda: _two_branch(keras.layers, keras.Model,
                                                       keras.Sequential))):
        km = build()
        _randomize(km, seed=len(kind))
        km.compile(optimizer="adam", loss="mse")
        km.save_weights(root / f"{kind}.weights.h5")
        km.save(root / f"{kind}.keras")
        with h5py.File(root / f"{kind}.h5", "w") as handle:
            save_weights_to_hdf5_group(handle, km)
        x = X_IMG if kind == "cnn" else X_VEC
        out[kind] = {"model": km, "x": x, "pred": np.asarray(km.predict(x, verbose=0)),
                     **{ext: root / f"{kind}.{ext}" for ext in ("weights.h5", "keras", "h5")}}
    out["root"] = root
    return out


def _thawnet_model(kind):
    if kind == "cnn":
        return _cnn(tl, Sequential)
    return _two_branch(tl, Model, Sequential)


def _max_diff(model, entry):
    return float(np.abs(np.asarray(model.predict(entry["x"], verbose=0)) - entry["pred"]).max())


@pytest.mark.parametrize("kind", ["cnn", "branch"])
@pytest.mark.parametrize("ext", ["weights.h5", "h5"])
def test_keras_weight_files_give_keras_predictions(files, kind, ext):
    model = _thawnet_model(kind)
    model.load_weights(files[kind][ext])
    assert _max_diff(model, files[kind]) <= 1e-5
    if kind == "cnn":   # BN moving statistics come from the file, not the initializers
        bn = files[kind]["model"].get_layer("bn")
        np.testing.assert_allclose(np.asarray(model.get_layer("bn").weights[2].value),
                                   np.asarray(bn.moving_mean), atol=0)
        np.testing.assert_allclose(np.asarray(model.get_layer("bn").weights[3].value),
                                   np.asarray(bn.moving_variance), atol=0)


def test_legacy_h5_by_name_loads_only_matching_names(files):
    model = _cnn(tl, Sequential, names=("c1", "bn", "head"), out_units=7)
    head_before = _fill(model)[-2:]
    model.load_weights(files["cnn"]["h5"], by_name=True)
    np.testing.assert_array_equal(np.asarray(model.get_layer("c1").weights[0].value),
                                  np.asarray(files["cnn"]["model"].get_layer("c1").kernel))
    for before, after in zip(head_before, _weights_of(model.get_layer("head"))):
        np.testing.assert_array_equal(before, after)


def test_legacy_h5_skip_mismatch_skips_wrong_shapes_with_warning(files):
    model = _cnn(tl, Sequential, out_units=7)          # "out" has 7 units; the file has 5
    out_before = _fill(model)[-2:]
    with pytest.raises(ValueError, match=r'"out".*\(144, 7\).*\(144, 5\)'):
        model.load_weights(files["cnn"]["h5"], by_name=True)
    with pytest.warns(UserWarning, match="Skipping.*out"):
        model.load_weights(files["cnn"]["h5"], by_name=True, skip_mismatch=True)
    for before, after in zip(out_before, _weights_of(model.get_layer("out"))):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(np.asarray(model.get_layer("bn").weights[3].value),
                                  np.asarray(files["cnn"]["model"].get_layer("bn").moving_variance))


def test_keras2_applications_layout_with_colon_names_loads(files):
    """The layout of Keras 2 files (~/.keras/models): bytes attrs, "<layer>/<layer>/kernel:0",
    here inside "model_weights" as model.save("x.h5") wrote it."""
    km = files["cnn"]["model"]
    path = files["root"] / "keras2_layout.h5"
    with h5py.File(path, "w") as handle:
        group = handle.create_group("model_weights")
        group.attrs["layer_names"] = np.array([lay.name.encode() for lay in km.layers])
        group.attrs["backend"] = b"tensorflow"
        for lay in km.layers:
            names = [f"{lay.name}/{w.path.split('/')[-1]}:0".encode() for w in lay.weights]
            layer_group = group.create_group(lay.name)
            layer_group.attrs["weight_names"] = np.array(names, dtype="S")
            for name, w in zip(names, lay.weights):
                layer_group.create_dataset(name.decode(), data=np.asarray(w))
    model = _thawnet_model("cnn")
    model.load_weights(path)
    assert _max_diff(model, files["cnn"]) <= 1e-5


def test_file_layout_is_detected_when_the_name_suffix_is_the_other_formats(files, tmp_path):
    keras3_as_h5 = tmp_path / "renamed.h5"
    keras3_as_h5.write_bytes(files["cnn"]["weights.h5"].read_bytes())
    legacy_as_weights_h5 = tmp_path / "renamed_legacy.weights.h5"
    legacy_as_weights_h5.write_bytes(files["cnn"]["h5"].read_bytes())
    for path in (keras3_as_h5, legacy_as_weights_h5):
        model = _thawnet_model("cnn")
        model.load_weights(path)
        assert _max_diff(model, files["cnn"]) <= 1e-5


def test_legacy_h5_layer_count_mismatch_names_first_differing_layer(files):
    model = Sequential([tl.Input(shape=(8, 8, 3)), tl.Conv2D(4, 3), tl.BatchNormalization(),
                        tl.Flatten(), tl.Dense(8, name="extra"), tl.Dense(5)])
    before = _fill(model)
    with pytest.raises(ValueError, match=r'3 layer.*4 layer.*"extra".*\(144, 8\).*\(144, 5\)'):
        model.load_weights(files["cnn"]["h5"])
    for a, b in zip(before, _weights_of(model)):
        np.testing.assert_array_equal(a, b)


def test_unbuilt_model_is_refused_with_a_clear_error(files):
    with pytest.raises(ValueError, match="no weights yet.*Build the model"):
        Sequential([tl.Dense(3)]).load_weights(files["cnn"]["weights.h5"])


@pytest.mark.parametrize("ext", ["weights.h5", "h5"])
def test_wrong_model_file_raises_and_keeps_old_weights(files, ext):
    model = _cnn(tl, Sequential, out_units=7)
    before = _fill(model)
    with pytest.raises(ValueError, match=r'"out".*\(144, 7\).*\(144, 5\).*old weights'):
        model.load_weights(files["cnn"][ext])
    other = _thawnet_model("branch")
    other_before = _fill(other)
    with pytest.raises(ValueError, match="old weights|has no entry"):
        other.load_weights(files["cnn"][ext])
    for a, b in zip(before + other_before, _weights_of(model) + _weights_of(other)):
        np.testing.assert_array_equal(a, b)


def test_keras3_weights_skip_mismatch_loads_the_rest(files):
    model = _cnn(tl, Sequential, out_units=7)
    out_before = _fill(model)[-2:]
    with pytest.warns(UserWarning, match="out"):
        model.load_weights(files["cnn"]["weights.h5"], skip_mismatch=True)
    np.testing.assert_array_equal(_weights_of(model.get_layer("out"))[0], out_before[0])
    np.testing.assert_array_equal(np.asarray(model.get_layer("c1").weights[0].value),
                                  np.asarray(files["cnn"]["model"].get_layer("c1").kernel))


@pytest.mark.parametrize("kind", ["cnn", "branch"])
def test_keras_archive_rebuilds_names_flags_weights_and_compile(files, kind):
    km = files[kind]["model"]
    model = load_model(files[kind]["keras"])
    assert type(model) is (Sequential if kind == "cnn" else Model)
    assert [lay.name for lay in model.layers] == [lay.name for lay in km.layers]
    assert [lay.trainable for lay in model.layers] == [lay.trainable for lay in km.layers]
    assert _max_diff(model, files[kind]) <= 1e-5
    assert model.count_params() == km.count_params()
    if kind == "branch":
        frozen = [lay for lay in model.layers if not lay.trainable]
        assert [lay.name for lay in frozen] == [km.layers[2].name]
        assert len(model.trainable_weights) == len(km.trainable_weights) == 6
    assert type(model.optimizer).__name__ == "Adam" and model.compiled
    assert not getattr(load_model(files[kind]["keras"], compile=False), "compiled", False)


def _craft(files, name, mutate=None, extra=()):
    """A copy of the CNN archive with config.json changed by ``mutate`` and members added."""
    src = zipfile.ZipFile(files["cnn"]["keras"])
    target = files["root"] / name
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.namelist():
            data = src.read(item)
            if item == "config.json" and mutate is not None:
                config = json.loads(data)
                mutate(config)
                data = json.dumps(config).encode()
            out.writestr(item, data)
        for member, data in extra:
            out.writestr(member, data)
    return target


def _layer_entry(config, index):
    return config["config"]["layers"][index]


@pytest.mark.parametrize("mutate, message", [
    (lambda c: _layer_entry(c, 3).update(class_name="Lambda", config={
        "name": "l", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}}),
     "Lambda.*never executes"),
    (lambda c: _layer_entry(c, 5)["config"].update(activation={
        "class_name": "__lambda__", "config": {"code": "4wEAAAAA"}}), "__lambda__.*never"),
    (lambda c: _layer_entry(c, 3).update(class_name="EvilLayer"), "EvilLayer.*not a thawnet layer"),
    (lambda c: _layer_entry(c, 3).update(module="os.path"), "module 'os.path'.*outside Keras"),
    (lambda c: _layer_entry(c, 3).update(registered_name="Evil>ReLU"), "Evil>ReLU"),
    # renorm is supported now; a config that claims it while the file holds the 4 weights of
    # a plain BatchNormalization does not fit, and says so.
    (lambda c: _layer_entry(c, 2)["config"].update(renorm=True),
     r'"bn".*has 7 weight\(s\).*the file has 4'),
    (lambda c: _layer_entry(c, 1)["config"].update(kernel_constraint={
        "module": "keras.constraints", "class_name": "NonNeg", "config": {}}),
     r'"c1".*kernel_constraint'),
])
def test_crafted_archives_with_code_or_unknown_config_are_refused(files, mutate, message):
    path = _craft(files, "crafted.keras", mutate)
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_custom_objects_resolve_a_registered_name_the_registry_lacks(files):
    path = _craft(files, "custom.keras",
                  lambda c: _layer_entry(c, 3).update(registered_name="Mine>ReLU",
                                                      module="my_package.layers"))
    model = load_model(path, custom_objects={"Mine>ReLU": tl.ReLU}, compile=False)
    assert _max_diff(model, files["cnn"]) <= 1e-5


def test_archive_path_traversal_pickle_and_zip_bomb_are_refused(files):
    with pytest.raises(ValueError, match="path traversal"):
        load_model(_craft(files, "trav.keras", extra=[("../../etc/evil.json", b"{}")]))
    with pytest.raises(ValueError, match="pickled"):
        load_model(_craft(files, "pkl.keras", extra=[("assets/obj.pkl", b"\x80\x04N.")]))
    with pytest.raises(ValueError, match="zip bomb"):
        load_model(_craft(files, "bomb.keras", extra=[("assets/zeros.bin", bytes(4 << 20))]))


def test_truncated_or_garbage_files_give_errors_naming_the_file(files):
    root = files["root"]
    blob = files["cnn"]["weights.h5"].read_bytes()
    truncated = root / "truncated.weights.h5"
    truncated.write_bytes(blob[: len(blob) // 2])
    garbage = root / "garbage.h5"
    garbage.write_bytes(b"not an hdf5 file" * 64)
    model = _thawnet_model("cnn")
    before = _fill(model)
    for path in (truncated, garbage):
        with pytest.raises((ValueError, OSError), match=path.name) as info:
            model.load_weights(path)
        assert type(info.value) is FileFormatError   # one loader error type (issue 10)
    broken_zip = root / "broken.keras"
    broken_zip.write_bytes(files["cnn"]["keras"].read_bytes()[:200])
    with pytest.raises(ValueError, match="broken.keras"):
        load_model(broken_zip)
    for a, b in zip(before, _weights_of(model)):
        np.testing.assert_array_equal(a, b)
