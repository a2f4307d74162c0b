"""Hostile HDF5 weight files: each construction that makes HDF5 read outside the file (external
storage, external links, virtual datasets), alias or reorder weights (soft links, renamed
``vars``), or allocate far more than the file holds (a huge declared chunked dataset) is refused
with FileFormatError — quickly, with bounded memory, and with the model left untouched.

The files start from ones Keras itself writes (``save_weights``, ``model.save`` and the legacy
``.h5`` writer), edited with h5py, so the valid layout around each defect is Keras's. The loads
run in one subprocess (``python tests/io/test_hostile_h5.py cases.json``) whose peak RSS
(``resource.getrusage``) and per-case time are measured.
"""

import json
import os
import re
import resource
import subprocess
import sys
import time
import zipfile

import h5py
import numpy as np
import pytest

SECRET = np.arange(1, 9, dtype="float32") * 1111.0   # the "other file": 32 recognisable bytes
KERNEL = "layers/dense/vars/0"                          # Dense(4) kernel, shape (3, 4)
MAX_SECONDS_PER_CASE = 5.0
MAX_RSS_BYTES = 1.5 * 2**30


def _thawnet_model(arch="small"):
    from thawnet import layers as tl
    from thawnet.models import Sequential
    if arch == "wide":   # declares 2.5 GB of weights; never materialised by the test
        return Sequential([tl.Input(shape=(25000,)), tl.Dense(25000)])
    return Sequential([tl.Input(shape=(3,)), tl.Dense(4), tl.BatchNormalization(), tl.Dense(2)])


def _keras_model():
    import keras
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    rng = np.random.RandomState(0)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in model.weights])
    return model


def _replace(path, name, make):
    """Delete dataset ``name`` in the HDF5 file ``path`` and let ``make(group, leaf)`` put
    something else under that name."""
    with h5py.File(path, "r+") as f:
        group_name, leaf = name.rsplit("/", 1)
        del f[group_name][leaf]
        make(f[group_name], leaf)


def _external_storage(secret_file):
    return lambda g, leaf: g.create_dataset(leaf, (3, 4), "float32",
                                            external=[(secret_file, 0, 48)])


def _virtual(other_h5):
    def make(g, leaf):
        layout = h5py.VirtualLayout(shape=(3, 4), dtype="float32")
        layout[...] = h5py.VirtualSource(other_h5, "secret", shape=(3, 4))
        g.create_virtual_dataset(leaf, layout)
    return make


def _user_filter(g, leaf):
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_chunk((3, 4))
    plist.set_filter(40000, h5py.h5z.FLAG_OPTIONAL, ())   # an unregistered plugin's id
    dataset = h5py.h5d.create(g.id, leaf.encode(), h5py.h5t.py_create(np.dtype("float32")),
                              h5py.h5s.create_simple((3, 4)), dcpl=plist)
    h5py.Dataset(dataset)[...] = np.ones((3, 4), "float32")


def _huge_chunked(g, leaf):
    g.create_dataset(leaf, (25000, 25000), "float32", chunks=(1000, 1000), compression="gzip")


def _rename(path, old, new):
    with h5py.File(path, "r+") as f:
        f.move(old, new)


def _copy(src, dst):
    dst.write_bytes(src.read_bytes())
    return dst


def _rezip(keras_file, target, edit):
    """A copy of a .keras archive whose model.weights.h5 went through ``edit(path)``."""
    inner = target.with_suffix(".inner.h5")
    with zipfile.ZipFile(keras_file) as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    inner.write_bytes(members["model.weights.h5"])
    edit(inner)
    members["model.weights.h5"] = inner.read_bytes()
    with zipfile.ZipFile(target, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    return target


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Keras-written files, the "other" files an attacker points at, and every hostile case:
    ``{name: (path, loader, expected message)}``."""
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    import keras
    keras.backend.clear_session()  # Keras's automatic names (dense, sequential) from scratch
    root = tmp_path_factory.mktemp("hostile")
    model = _keras_model()
    model.compile(optimizer="adam", loss="mse")
    model.save_weights(root / "k.weights.h5")
    model.save(root / "k.keras")
    with h5py.File(root / "k.h5", "w") as f:
        save_weights_to_hdf5_group(f, model)
    secret = root / "secret.bin"
    secret.write_bytes(np.concatenate([SECRET, SECRET[:4]]).tobytes())
    other = root / "other.h5"
    with h5py.File(other, "w") as f:
        f["secret"] = np.concatenate([SECRET, SECRET[:4]]).reshape(3, 4)
    import keras
    keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4)]).save_weights(
        root / "dense.weights.h5")
    legacy_kernel = "dense/sequential/dense/kernel"
    w3 = root / "k.weights.h5"
    cases = {}

    def case(name, base, edit, message, loader="load_weights", arch="small"):
        path = root / f"{name}{'.keras' if base.suffix == '.keras' else ''.join(base.suffixes)}"
        if base.suffix == ".keras":
            _rezip(base, path, edit)
        else:
            edit(_copy(base, path))
        cases[name] = (str(path), loader, message, arch)

    case("external_storage", w3, lambda p: _replace(p, KERNEL, _external_storage(str(secret))),
         "external file.*HDF5 external storage")
    case("external_link", w3, lambda p: _replace(
        p, KERNEL, lambda g, leaf: g.__setitem__(leaf, h5py.ExternalLink(str(other), "/secret"))),
        "is an external link")
    case("soft_link", w3, lambda p: _replace(   # BN beta aliased to moving_mean
        p, "layers/batch_normalization/vars/1",
        lambda g, leaf: g.__setitem__(leaf, h5py.SoftLink(
            "/layers/batch_normalization/vars/2"))), "is a soft link")
    case("hard_link_alias", w3, lambda p: _replace(   # the same, with a second hard link
        p, "layers/batch_normalization/vars/1",
        lambda g, leaf: g.__setitem__(leaf, g["2"])), "hard link alias")
    case("virtual_dataset", w3, lambda p: _replace(p, KERNEL, _virtual(str(other))),
         "virtual dataset")
    case("user_filter", w3, lambda p: _replace(p, KERNEL, _user_filter),
         "filter id 40000.*user-defined")
    case("renamed_vars", w3, lambda p: _rename(p, "layers/batch_normalization/vars/1",
                                               "layers/batch_normalization/vars/5"),
         r"named '0'..'3'.*\['0', '2', '3', '5'\]")
    case("huge_chunked", w3, lambda p: _replace(p, KERNEL, _huge_chunked),
         r"\(25000, 25000\)")
    case("shape_bomb_fitting_the_model", root / "dense.weights.h5", lambda p: (
        _replace(p, KERNEL, _huge_chunked),
        _replace(p, "layers/dense/vars/1", lambda g, leaf: g.create_dataset(
            leaf, data=np.zeros(25000, "float32")))),
        r"declares 2500000000 bytes but stores only \d+: a shape bomb", arch="wide")
    case("legacy_external_storage", root / "k.h5",
         lambda p: _replace(p, legacy_kernel, _external_storage(str(secret))),
         "external file")
    case("legacy_soft_link", root / "k.h5", lambda p: _replace(
        p, legacy_kernel, lambda g, leaf: g.__setitem__(leaf, h5py.SoftLink(
            "/dense_1/sequential/dense_1/kernel"))), "is a soft link")
    case("legacy_huge_chunked", root / "k.h5", lambda p: _replace(p, legacy_kernel,
                                                                  _huge_chunked),
         r"\(25000, 25000\)")
    case("keras_external_storage", root / "k.keras",
         lambda p: _replace(p, KERNEL, _external_storage(str(secret))),
         r"keras_external_storage\.keras' \(member model.weights.h5\).*external file",
         loader="load_model")
    case("keras_external_link", root / "k.keras", lambda p: _replace(
        p, KERNEL, lambda g, leaf: g.__setitem__(leaf, h5py.ExternalLink(str(other), "/secret"))),
        r"\(member model.weights.h5\).*external link", loader="load_model")
    case("keras_huge_chunked", root / "k.keras", lambda p: _replace(p, KERNEL, _huge_chunked),
         r"\(25000, 25000\)", loader="load_model")
    return {"root": root, "cases": cases, "keras": model, "valid": {
        "weights.h5": str(root / "k.weights.h5"), "h5": str(root / "k.h5"),
        "keras": str(root / "k.keras")}}


def test_the_hostile_files_really_reach_outside_when_read_naively(world):
    """The constructions work: plain h5py hands the other file's bytes over as the kernel."""
    expected = np.concatenate([SECRET, SECRET[:4]]).reshape(3, 4)
    for name in ("external_storage", "external_link", "virtual_dataset"):
        with h5py.File(world["cases"][name][0], "r") as f:
            np.testing.assert_array_equal(f[KERNEL][()], expected)
    for name in ("soft_link", "hard_link_alias"):   # beta would be read as moving_mean
        with h5py.File(world["cases"][name][0], "r") as f:
            bn = "layers/batch_normalization/vars"
            np.testing.assert_array_equal(f[f"{bn}/1"][()], f[f"{bn}/2"][()])
    assert os.path.getsize(world["cases"]["huge_chunked"][0]) < 64 * 1024   # declares 2.5 GB


def _run_worker(cases, root):
    spec = root / "cases.json"
    spec.write_text(json.dumps(cases))
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, __file__, str(spec)], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_each_hostile_file_is_refused_quickly_small_and_without_touching_the_model(world):
    report = _run_worker({**world["cases"], **{
        f"valid_{k}": (v, "load_model" if k == "keras" else "load_weights", None, "small")
        for k, v in world["valid"].items()}}, world["root"])
    hostile = [n for n in world["cases"]]
    assert len(hostile) == 15
    for name in hostile:
        outcome = report["cases"][name]
        assert outcome["error"] == "FileFormatError", (name, outcome)
        assert outcome["unchanged"], f"{name}: a failed load changed the model"
        assert outcome["seconds"] < MAX_SECONDS_PER_CASE, (name, outcome["seconds"])
        assert outcome["names_file"], (name, outcome["message"])
        assert outcome["matches"], (name, outcome["message"])
        assert not outcome["secret_in_weights"], name
    for kind in ("weights.h5", "h5", "keras"):   # the untouched Keras files still load exactly
        outcome = report["cases"][f"valid_{kind}"]
        assert outcome["error"] is None and outcome["equal_to_keras"], (kind, outcome)
    # What the hostile files cost: the peak above the process's state before the first load
    # (JAX, Keras and the reference model loaded), under 1.5 GB.
    grown = report["peak_rss_bytes"] - report["baseline_rss_bytes"]
    assert grown < MAX_RSS_BYTES, (grown, report)
    print(f"\nhostile HDF5: {len(hostile)} cases, all FileFormatError; slowest "
          f"{max(report['cases'][n]['seconds'] for n in hostile):.3f} s; peak RSS "
          f"{report['peak_rss_bytes'] / 2**20:.0f} MiB, "
          f"{grown / 2**20:.0f} MiB above the loaded process")


def _worker(spec_path):
    """Load every case into a fresh thawnet model; print one JSON report line."""
    import keras

    from thawnet.io.errors import FileFormatError
    from thawnet.models import load_model

    cases = json.loads(open(spec_path).read())
    root = os.path.dirname(spec_path)
    reference = keras.models.load_model(os.path.join(root, "k.keras"), compile=False)
    keras_weights = [np.asarray(w) for w in reference.weights]
    # The high-water mark once JAX, Keras and the reference model are in: the hostile loads
    # are measured from here (the imports alone vary with the machine's state).
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {}
    for name, (path, loader, message, arch) in cases.items():
        model = _thawnet_model(arch)
        if arch == "small":
            for index, v in enumerate(model.weights):
                v.assign(np.full(v.shape, 0.25 + index, "float32"))
        before = [np.asarray(v.value) for v in model.weights if v.is_materialized]
        start, error, text = time.monotonic(), None, ""
        try:
            if loader == "load_model":
                model = load_model(path, compile=False)
            else:
                model.load_weights(path)
        except FileFormatError as exc:
            error, text = "FileFormatError", str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded, and the test fails on it
            error, text = f"{type(exc).__name__}", str(exc)
        seconds = time.monotonic() - start
        after = [np.asarray(v.value) for v in model.weights if v.is_materialized]
        out[name] = {
            "error": error, "message": text[:600], "seconds": seconds,
            "unchanged": loader == "load_model" or (len(before) == len(after) and all(
                np.array_equal(a, b) for a, b in zip(before, after))),
            "names_file": os.path.basename(path) in text,
            "matches": message is None or bool(re.search(message, text)),
            "secret_in_weights": any(np.isin(SECRET, a).any() for a in after),
            "equal_to_keras": error is None and len(after) == len(keras_weights) and all(
                np.array_equal(a, k) for a, k in zip(after, keras_weights)),
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux: KiB
    print(json.dumps({"cases": out, "peak_rss_bytes": peak,
                      "baseline_rss_bytes": baseline}))


if __name__ == "__main__":
    _worker(sys.argv[1])
