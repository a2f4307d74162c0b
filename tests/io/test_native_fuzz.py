"""Damaged native files: hand-made corruptions (each with the error it must give) and fuzzing
(Hypothesis mutations of bytes and of config.json): every case ends in FileFormatError or a
correct load — no other exception, no hang, no partial load, no file written anywhere."""

import hashlib
import io
import json
import os
import struct
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from thawnet import layers as L
from thawnet.io import archive as archive_lib
from thawnet.io import native
from thawnet.io import safetensors_io as st
from thawnet.io.errors import FileFormatError
from thawnet.models import Model, Sequential, load_model

FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])
PER_CASE_LIMIT_S = 5.0

mutation = hs.one_of(
    hs.tuples(hs.just("flip"), hs.integers(0, 2**31), hs.integers(0, 7)),
    hs.tuples(hs.just("truncate"), hs.integers(0, 2**31)),
    hs.tuples(hs.just("insert"), hs.integers(0, 2**31), hs.binary(min_size=1, max_size=8)),
    hs.tuples(hs.just("overwrite"), hs.integers(0, 2**31), hs.binary(min_size=1, max_size=8)))


def mutate(data, mutations):
    data = bytearray(data)
    for m in mutations:
        at = m[1] % max(len(data), 1)
        if m[0] == "flip" and data:
            data[at] ^= 1 << m[2]
        elif m[0] == "truncate":
            del data[at:]
        elif m[0] == "insert":
            data[at:at] = m[2]
        elif m[0] == "overwrite":
            data[at:at + len(m[2])] = m[2]
    return bytes(data)


def _model(seed):
    model = Sequential([L.Input(shape=(3,)), L.Dense(2, name="d"),
                        L.BatchNormalization(name="bn")], name="fuzzed")
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.uniform(0.5, 2.0, size=v.shape).astype("float32"))
    return model


def _values(model):
    # what files hold: the weights (seed-generator states are not saved, as in Keras)
    return {p: np.asarray(v.value) for p, v in model.weights_by_path().items()}


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def write_members(path, content, fix_manifest=True):
    """Write a zip of ``content``; optionally recompute the manifest so checksums pass."""
    content = dict(content)
    if fix_manifest:
        content[archive_lib.MANIFEST] = archive_lib.manifest_for(
            {k: content[k] for k in (archive_lib.CONFIG, archive_lib.WEIGHTS)})
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in content.items():
            zf.writestr(name, data)



@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The original model, its valid files, a target model and an empty folder to fuzz in."""
    root = tmp_path_factory.mktemp("fuzz")
    source = _model(seed=1)
    (root / "valid").mkdir()
    source.save(root / "valid" / "m.thawnet")
    source.save_weights(root / "valid" / "w.safetensors")
    for kind in ("thawnet", "safetensors", "baseline"):
        (root / kind).mkdir()
    return {"root": root, "expected": _values(source), "target": _model(seed=2),
            "thawnet": (root / "valid" / "m.thawnet").read_bytes(),
            "safetensors": (root / "valid" / "w.safetensors").read_bytes()}


def _listing(folder):
    return sorted(os.listdir(folder))


def _attempt(world, path, fn):
    """Run one loader call: FileFormatError leaves the target as it was; success must load
    exactly the original weights."""
    target = world["target"]
    before = _values(target)
    cwd, root = _listing(os.getcwd()), _listing(world["root"])
    start = time.monotonic()
    try:
        result = fn()
    except FileFormatError:
        result = None
        after = _values(target)
        assert all(np.array_equal(after[p], v) for p, v in before.items()), "partial load"
    assert time.monotonic() - start < PER_CASE_LIMIT_S
    assert _listing(os.getcwd()) == cwd and _listing(world["root"]) == root
    assert _listing(path.parent) == [path.name], "a loader wrote next to the file"
    return result


def _check_loaded(world, model):
    if model is None:
        return
    got = _values(model)
    assert list(got) == list(world["expected"])
    assert all(np.array_equal(got[p], v) for p, v in world["expected"].items())


@FUZZ
@given(mutations=hs.lists(mutation, min_size=1, max_size=3))
def test_mutated_thawnet_files_give_file_format_error_or_a_correct_load(world, mutations):
    path = world["root"] / "thawnet" / "f.thawnet"
    path.write_bytes(mutate(world["thawnet"], mutations))
    _check_loaded(world, _attempt(world, path, lambda: load_model(path)))
    if _attempt(world, path, lambda: world["target"].load_weights(path) or True):
        _check_loaded(world, world["target"])
    info = _attempt(world, path, lambda: native.describe(path))
    if info is not None:
        assert [w.path for w in info] == list(world["expected"])


@FUZZ
@given(mutations=hs.lists(mutation, min_size=1, max_size=3))
def test_mutated_safetensors_files_give_file_format_error_or_a_correct_load(world, mutations):
    path = world["root"] / "safetensors" / "f.safetensors"
    path.write_bytes(mutate(world["safetensors"], mutations))
    if _attempt(world, path, lambda: world["target"].load_weights(path) or True):
        _check_loaded(world, world["target"])
    info = _attempt(world, path, lambda: native.describe(path))
    if info is not None:
        assert all(isinstance(w.path, str) and isinstance(w.size, int) for w in info)


def _json_paths(value, path=()):
    yield path
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, child in items:
        yield from _json_paths(child, path + (key,))


json_value = hs.recursive(
    hs.none() | hs.booleans() | hs.integers(-2**40, 2**40) | hs.floats(allow_nan=False)
    | hs.text(max_size=6) | hs.sampled_from(["Dense", "Model", "Sequential", "InputLayer", "s",
                                             "x", "inner", "list", "dict", "value"]),
    lambda inner: hs.lists(inner, max_size=3) | hs.dictionaries(
        hs.sampled_from(["list", "dict", "value", "class_name", "name", "config",
                         "extra_args", "kwargs", "args"]), inner,
        max_size=2), max_leaves=6)


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """The members of a saved functional model with a shared layer and a nested Sequential."""
    x = L.Input(shape=(3,), name="x")
    shared = L.Dense(3, name="s")
    inner = Sequential([L.Input(shape=(3,)), L.Dense(2, name="i")], name="inner")
    model = Model(x, inner(L.add([shared(x), shared(shared(x))])), name="rich")
    for v in model.weights:
        v.assign(np.ones(v.shape, "float32"))
    path = tmp_path_factory.mktemp("rich") / "rich.thawnet"
    model.save(path)
    content = members(path)
    config = json.loads(content[archive_lib.CONFIG])
    return content, config, list(_json_paths(config)), path.parent


@settings(max_examples=100, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(where=hs.integers(0, 10**6), value=json_value)
def test_configs_with_any_value_replaced_give_file_format_error_or_a_model(rich, where, value):
    content, config, paths, folder = rich
    path = paths[where % len(paths)]
    changed = json.loads(json.dumps(config))
    if path:
        parent = changed
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value
    else:
        changed = value
    target = folder / "c.thawnet"
    write_members(target, {**content, archive_lib.CONFIG: json.dumps(changed).encode()})
    start = time.monotonic()
    try:
        assert isinstance(load_model(target), Model)
    except FileFormatError:
        pass
    assert time.monotonic() - start < PER_CASE_LIMIT_S
    assert _listing(folder) == ["c.thawnet", "rich.thawnet"]


def test_fuzz_inputs_include_the_unmutated_files_loading_correctly(world):
    """The baseline the fuzz tests mutate: both valid files load exactly."""
    folder = world["root"] / "baseline"
    (folder / "f.thawnet").write_bytes(world["thawnet"])
    (folder / "f.safetensors").write_bytes(world["safetensors"])
    _check_loaded(world, load_model(folder / "f.thawnet"))
    target = _model(seed=3)
    target.load_weights(folder / "f.safetensors")
    _check_loaded(world, target)


# -- hand-made corruptions ---------------------------------------------------------------------
@pytest.fixture
def small(tmp_path, world):
    """A model (other weights than the files') and copies of the valid files."""
    (tmp_path / "m.thawnet").write_bytes(world["thawnet"])
    (tmp_path / "w.safetensors").write_bytes(world["safetensors"])
    return _model(seed=5), tmp_path


def _zip_with_declared_size(data, member, size):
    """Patch the central directory's uncompressed size of ``member`` (nothing inflated)."""
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        n = struct.unpack("<H", data[at + 28:at + 30])[0]
        if data[at + 46:at + 46 + n] == member.encode():
            return data[:at + 24] + struct.pack("<I", size) + data[at + 28:]
        at += 4


def _corrupt(kind, path, model):
    content = members(path)
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif kind == "checksum":
        other = st.encode({p: v + 1 for p, v in _values(model).items()})
        write_members(path, {**content, archive_lib.WEIGHTS: other}, fix_manifest=False)
    elif kind == "zip bomb (declared size)":
        path.write_bytes(_zip_with_declared_size(path.read_bytes(), "config.json", 2**32 - 1))
    elif kind == "zip bomb (deflate)":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(archive_lib.MANIFEST, b" " * 8 * 2**20)
        path.write_bytes(buf.getvalue())
    elif kind == "path traversal":
        write_members(path, {**content, "../evil.txt": b"owned"})
    elif kind in ("unknown class", "newer config"):
        config = json.loads(content[archive_lib.CONFIG])
        if kind == "unknown class":
            config["model"]["layers"][0]["class_name"] = "EvilLayer"
        else:
            config["format_version"] = 2
        write_members(path, {**content, archive_lib.CONFIG: json.dumps(config).encode()})
    elif kind == "newer manifest":
        manifest = json.loads(content[archive_lib.MANIFEST])
        manifest["format_version"] = 7
        write_members(path, {**content, archive_lib.MANIFEST: json.dumps(manifest).encode()},
                      fix_manifest=False)


@pytest.mark.parametrize("kind,message", [
    ("truncated", "truncated or corrupted"), ("checksum", "checksum mismatch in model"),
    ("zip bomb (declared size)", "zip bomb"), ("zip bomb (deflate)", "declares 8388608 bytes"),
    ("path traversal", "'../evil.txt'.*path traversal"),
    ("unknown class", "'EvilLayer'.*custom_objects"),
    ("newer config", "newer thawnet.*version 2.*Upgrade thawnet"),
    ("newer manifest", "newer thawnet.*version 7.*Upgrade thawnet")])
def test_damaged_thawnet_files_raise_file_format_error(small, kind, message):
    model, folder = small
    path = folder / "m.thawnet"
    _corrupt(kind, path, model)
    before = _values(model)
    with pytest.raises(FileFormatError, match=message):
        load_model(path)
    if kind not in ("unknown class",):
        with pytest.raises(FileFormatError, match=message):
            model.load_weights(path)
    assert all(np.array_equal(_values(model)[p], v) for p, v in before.items())
    assert sorted(os.listdir(folder)) == ["m.thawnet", "w.safetensors"]
    assert not (folder.parent / "evil.txt").exists()


@pytest.mark.parametrize("kind,message", [
    ("truncated", "truncated"), ("flipped data byte", "checksum mismatch"),
    ("absurd header length", "header declares"),
    ("newer version", "newer thawnet.*version 3.*Upgrade thawnet")])
def test_damaged_safetensors_files_raise_file_format_error(small, kind, message):
    model, folder = small
    path = folder / "w.safetensors"
    data = bytearray(path.read_bytes())
    if kind == "truncated":
        data = data[:-5]
    elif kind == "flipped data byte":
        data[-3] ^= 0x40
    elif kind == "absurd header length":
        data[:8] = struct.pack("<Q", 2**60)
    else:
        header = st.parse_header(data, len(data), "w").metadata
        meta = {**json.loads(header["thawnet"]), "format_version": 3}
        data = st.encode(st.decode(bytes(data), "w")[0], {"thawnet": json.dumps(meta)})
    path.write_bytes(bytes(data))
    before = _values(model)
    with pytest.raises(FileFormatError, match=message):
        model.load_weights(path)
    assert all(np.array_equal(_values(model)[p], v) for p, v in before.items())
    if kind == "flipped data byte":  # describe reads the header only, which is intact
        assert [w.path for w in native.describe(path)] == list(before)
    else:
        with pytest.raises(FileFormatError, match=message):
            native.describe(path)


def test_checksums_in_the_manifest_are_sha256_of_each_member(small):
    _, folder = small
    content = members(folder / "m.thawnet")
    manifest = json.loads(content[archive_lib.MANIFEST])
    assert manifest["format_version"] == native.FORMAT_VERSION
    for name in (archive_lib.CONFIG, archive_lib.WEIGHTS):
        assert manifest["members"][name]["sha256"] == hashlib.sha256(content[name]).hexdigest()
