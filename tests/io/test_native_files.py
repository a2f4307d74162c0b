"""Native files (.thawnet, folder, .safetensors): round trips, atomic writes, strict loading.

Damaged files (hand-made corruptions and Hypothesis mutations) are in test_native_fuzz.py.
"""

import errno
import os

import numpy as np
import pytest

import thawnet
from thawnet import layers as L
from thawnet.io import archive as archive_lib
from thawnet.io import native
from thawnet.io import safetensors_io as st
from thawnet.io.errors import FileFormatError
from thawnet.layers.layer import Layer
from thawnet.models import Model, Sequential, load_model

from tests.io.layer_cases import CASES, SLOW_CASES, single_layer_model


# -- helpers -----------------------------------------------------------------------------------
def randomize(model, seed=1):
    """New random values for every weight (statistics too), so that a load is visible."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        if np.issubdtype(v.dtype, np.integer):
            v.assign(rng.integers(1, 9, size=v.shape).astype(v.dtype))
        elif "variance" in v.name:
            v.assign(rng.uniform(0.5, 2.0, size=v.shape).astype(v.dtype))
        else:
            v.assign(rng.normal(size=v.shape).astype(v.dtype))
    return model


def summary_text(model):
    lines = []
    model.summary(print_fn=lines.append, expand_nested=True, show_trainable=True)
    return "\n".join(lines)


def values(model):
    # what files hold: the weights (seed-generator states are not saved, as in Keras)
    return {p: np.asarray(v.value) for p, v in model.weights_by_path().items()}


def flags(model):
    """Layer flags (recursively), each weight's role and own flag, and the effective split."""
    out = []

    def walk(layer, prefix):
        out.append((prefix + layer.name, layer._trainable))
        for child in layer._children():
            walk(child, prefix + layer.name + "/")
    walk(model, "")
    own = [(p, v.role, v.trainable) for p, v in model.variables_by_path().items()]
    return out, own, model.trainable_split()


def assert_same_model(a, b, x):
    out_a, out_b = a(x), b(x)
    out_a, out_b = (o if isinstance(o, (list, tuple)) else [o] for o in (out_a, out_b))
    assert len(out_a) == len(out_b)
    for p, q in zip(out_a, out_b):
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q))
    va, vb = values(a), values(b)
    assert list(va) == list(vb)
    for p in va:
        np.testing.assert_array_equal(va[p], vb[p], err_msg=p)
        assert va[p].dtype == vb[p].dtype
    assert flags(a) == flags(b)
    assert summary_text(a) == summary_text(b)


# -- round trips -------------------------------------------------------------------------------
def test_every_thawnet_layer_class_has_a_round_trip_case():
    exported = {obj.__name__ for obj in (getattr(L, n) for n in L.__all__)
                if isinstance(obj, type) and issubclass(obj, Layer)} - {"Layer", "InputLayer"}
    assert exported - set(CASES) == set(), "add a case to CASES for each new layer class"


@pytest.mark.parametrize("case", [c if c not in SLOW_CASES else
                                  pytest.param(c, marks=pytest.mark.slow) for c in sorted(CASES)])
def test_each_layer_type_round_trips_with_identical_outputs_flags_and_summary(case, tmp_path):
    model, x = single_layer_model(case)
    randomize(model)
    model.save(tmp_path / "m.thawnet")
    assert_same_model(model, load_model(tmp_path / "m.thawnet"), x)


@pytest.fixture(scope="module")
def composite(tmp_path_factory):
    """Shared layers, a nested Sequential, a frozen layer, a frozen variable, two inputs."""
    inner = Sequential([L.Input(shape=(4,)), L.Dense(4, name="in_dense"),
                        L.BatchNormalization(name="in_bn")], name="inner")
    x, y = L.Input(shape=(3,), name="x"), L.Input(shape=(4,), name="y")
    shared = L.Dense(4, name="shared")
    a, b = shared(x), shared(L.Dense(3, name="pre")(y))
    out = L.Concatenate(name="cat")([inner(L.add([a, b])), a])
    model = randomize(Model([x, y], [out, b], name="composite"))
    model.get_layer("pre").trainable = False
    model.get_layer("inner").get_layer("in_dense").kernel.trainable = False
    data = [np.ones((2, 3), "float32"), np.full((2, 4), 0.5, "float32")]
    folder = tmp_path_factory.mktemp("native")
    model.save(folder / "c.thawnet")
    return model, data, folder


def test_functional_model_with_shared_layers_and_nested_sequential_round_trips(composite):
    model, data, folder = composite
    loaded = load_model(folder / "c.thawnet")
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert_same_model(model, loaded, data)
    assert loaded.trainable_split()[1][:2] == ["pre/kernel", "pre/bias"]
    assert "inner/in_dense/kernel" in loaded.trainable_split()[1]


def test_folder_format_and_save_weights_round_trip(composite, tmp_path):
    model, data, _ = composite
    model.save(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["config.json", "manifest.json", "model.safetensors"]
    assert values(load_model(tmp_path)).keys() == values(model).keys()
    model.save_weights(tmp_path / "w.safetensors")
    fresh = randomize(load_model(tmp_path), seed=7)
    fresh.load_weights(tmp_path / "w.safetensors")
    for p, v in values(model).items():
        np.testing.assert_array_equal(values(fresh)[p], v)


def test_saving_the_same_model_twice_gives_identical_bytes(composite, tmp_path):
    model, _, folder = composite
    model.save(tmp_path / "again.thawnet")
    assert (tmp_path / "again.thawnet").read_bytes() == (folder / "c.thawnet").read_bytes()


def test_load_weights_accepts_a_thawnet_file_and_foreign_safetensors(composite, tmp_path):
    model, _, folder = composite
    target = randomize(load_model(folder / "c.thawnet"), seed=3)
    target.load_weights(folder / "c.thawnet")
    foreign = tmp_path / "foreign.safetensors"  # no thawnet metadata, e.g. from another tool
    foreign.write_bytes(st.encode(values(model)))
    randomize(target, seed=4)
    target.load_weights(foreign)
    assert all(np.array_equal(values(target)[p], v) for p, v in values(model).items())


def test_describe_reads_headers_only(composite, tmp_path, monkeypatch):
    model, _, folder = composite
    model.save_weights(tmp_path / "w.safetensors")
    monkeypatch.setattr(st, "decode", lambda *a: pytest.fail("describe loaded the arrays"))
    for path in (folder / "c.thawnet", tmp_path / "w.safetensors"):
        info = native.describe(path)
        assert [w.path for w in info] == list(values(model))
        assert info[0] == ("pre/kernel", "parameter", False, (4, 3), "float32", 12)
        stat = [w for w in info if w.path == "inner/in_bn/moving_mean"][0]
        assert (stat.role, stat.trainable, stat.size) == ("statistic", False, 4)


def test_custom_layer_loads_only_through_custom_objects(tmp_path):
    class Scale(Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    inp = L.Input(shape=(2,))
    model = Model(inp, Scale(3.0, name="scale")(inp))
    model.save(tmp_path / "s.thawnet")
    with pytest.raises(FileFormatError, match="'Scale'.*custom_objects"):
        load_model(tmp_path / "s.thawnet")
    loaded = load_model(tmp_path / "s.thawnet", custom_objects={"Scale": Scale})
    np.testing.assert_array_equal(np.asarray(loaded(np.ones((1, 2), "float32"))), [[3.0, 3.0]])


def test_subclassed_models_and_wrong_names_are_refused_on_save(tmp_path):
    class Sub(Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x):
            return self.d(x)
    with pytest.raises(ValueError, match="subclassed.*save_weights"):
        native.save_model(Sub(), tmp_path / "s.thawnet")
    model = Sequential([L.Input(shape=(2,)), L.Dense(1)])
    with pytest.raises(ValueError, match=r"\.thawnet"):
        model.save(tmp_path / "m.zip")
    with pytest.raises(ValueError, match=r"\.safetensors"):
        model.save_weights(tmp_path / "w.npz")
    assert os.listdir(tmp_path) == []


# -- atomic writes -----------------------------------------------------------------------------
@pytest.fixture
def small(tmp_path):
    model = randomize(Sequential([L.Input(shape=(3,)), L.Dense(2, name="d")], name="small"))
    model.save(tmp_path / "m.thawnet")
    model.save_weights(tmp_path / "w.safetensors")
    return model, tmp_path


def _failing_write(f, members):
    f.write(b"partial data")
    raise RuntimeError("serialisation failed")


@pytest.mark.parametrize("failure", ["serialisation", "disk full", "permission"])
def test_failed_save_leaves_previous_file_untouched_and_no_temp_file(small, failure,
                                                                     monkeypatch):
    model, folder = small
    before = {n: (folder / n).read_bytes() for n in os.listdir(folder)}
    randomize(model, seed=9)
    if failure == "serialisation":
        monkeypatch.setattr(archive_lib, "write_zip", _failing_write)
        expected = RuntimeError
    elif failure == "disk full":
        def fsync(fd):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr("thawnet.io.atomic.os.fsync", fsync)
        expected = OSError
    else:
        def replace(src, dst):
            raise PermissionError(errno.EACCES, "Permission denied", dst)
        monkeypatch.setattr("thawnet.io.atomic.os.replace", replace)
        expected = PermissionError
    with pytest.raises(expected):
        model.save(folder / "m.thawnet")
    if failure != "serialisation":
        with pytest.raises(expected):
            model.save_weights(folder / "w.safetensors")
    assert {n: (folder / n).read_bytes() for n in os.listdir(folder)} == before


def test_overwrite_false_refuses_an_existing_file(small):
    model, folder = small
    before = (folder / "m.thawnet").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(folder / "m.thawnet", overwrite=False)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save_weights(folder / "w.safetensors", overwrite=False)
    assert (folder / "m.thawnet").read_bytes() == before
    model.save(folder / "new.thawnet", overwrite=False)
    assert sorted(os.listdir(folder)) == ["m.thawnet", "new.thawnet", "w.safetensors"]


# -- strict, all-or-nothing loading ------------------------------------------------------------
def _bad_weights(kind, good):
    arrays = dict(good)
    if kind == "missing":
        del arrays["d/bias"]
    elif kind == "extra":
        arrays["d/gamma"] = np.ones(2, "float32")
    elif kind == "shape":
        arrays["d/kernel"] = np.ones((2, 3), "float32")
    else:
        arrays["d/kernel"] = arrays["d/kernel"].astype("float64")
    return st.encode(arrays)


@pytest.mark.parametrize("kind,message", [
    ("missing", 'missing weights.*"d/bias"'), ("extra", 'extra weights.*"d/gamma"'),
    ("shape", r'"d/kernel": the model expects shape \(3, 2\), the file has \(2, 3\)'),
    ("dtype", '"d/kernel": the model expects dtype float32, the file has float64')])
def test_load_weights_that_do_not_fit_raise_and_change_nothing(small, kind, message):
    model, folder = small
    path = folder / "bad.safetensors"
    path.write_bytes(_bad_weights(kind, values(model)))
    randomize(model, seed=5)
    before = values(model)
    with pytest.raises(FileFormatError, match=message):
        model.load_weights(path)
    assert all(np.array_equal(values(model)[p], v) for p, v in before.items())


def test_zoo_model_round_trip_keeps_outputs_flags_and_summary(tmp_path):
    import thawnet
    model = thawnet.applications.ResNet50(include_top=False, pooling="avg",
                                          input_shape=(32, 32, 3))
    thawnet.freeze(model, up_to="conv3_block1_out")
    path = tmp_path / "resnet.thawnet"
    model.save(str(path))
    loaded = thawnet.models.load_model(str(path))
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("f4")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.trainable_split() == model.trainable_split()
    a, b = [], []
    model.summary(print_fn=a.append, explain=True)
    loaded.summary(print_fn=b.append, explain=True)
    assert a == b
