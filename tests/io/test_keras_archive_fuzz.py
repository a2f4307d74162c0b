"""Fuzzing the ``.keras`` reader with archives Keras itself wrote: random byte flips,
truncations and insertions of the whole archive, edits of ``config.json`` (values replaced,
keys deleted, lists emptied or nested), and damage inside ``model.weights.h5``. Every case
either raises FileFormatError naming the user's file, or loads a model whose weights have the
original shapes — no other exception, no hang, no temporary file left behind."""

import copy
import json
import os
import tempfile
import time
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from thawnet.io.errors import FileFormatError
from thawnet.models import load_model

PER_CASE_LIMIT_S = 5.0
FAST = settings(max_examples=120, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])
FULL = settings(FAST, max_examples=1500)

byte_edit = hs.one_of(
    hs.tuples(hs.just("flip"), hs.integers(0, 2**31), hs.integers(0, 7)),
    hs.tuples(hs.just("truncate"), hs.integers(0, 2**31)),
    hs.tuples(hs.just("insert"), hs.integers(0, 2**31), hs.binary(min_size=1, max_size=8)),
    hs.tuples(hs.just("overwrite"), hs.integers(0, 2**31), hs.binary(min_size=1, max_size=8)))
json_value = hs.recursive(
    hs.none() | hs.booleans() | hs.integers(-2**40, 2**40) | hs.floats(allow_nan=True)
    | hs.text(max_size=12) | hs.sampled_from(["Dense", "Lambda", "Sequential", "keras.layers",
                                              "__keras_tensor__", "float16", "relu"]),
    lambda inner: hs.lists(inner, max_size=3) | hs.dictionaries(hs.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6)
config_edit = hs.tuples(hs.sampled_from(["replace", "delete", "wrap", "empty"]),
                        hs.integers(0, 2**31), json_value)


def _apply_bytes(data, edits):
    data = bytearray(data)
    for edit in edits:
        at = edit[1] % max(len(data), 1)
        if edit[0] == "flip" and data:
            data[at] ^= 1 << edit[2]
        elif edit[0] == "truncate":
            del data[at:]
        elif edit[0] == "insert":
            data[at:at] = edit[2]
        elif edit[0] == "overwrite":
            data[at:at + len(edit[2])] = edit[2]
    return bytes(data)


def _slots(node, out, parent=None, key=None):
    """Every (container, key) in a JSON tree, in a fixed order."""
    if parent is not None:
        out.append((parent, key))
    if isinstance(node, dict):
        for k in list(node):
            _slots(node[k], out, node, k)
    elif isinstance(node, list):
        for i in range(len(node)):
            _slots(node[i], out, node, i)
    return out


def _apply_config(config, edits):
    config = copy.deepcopy(config)
    for kind, index, value in edits:
        slots = _slots(config, [])
        if not slots:
            break
        parent, key = slots[index % len(slots)]
        if kind == "replace":
            parent[key] = value
        elif kind == "delete":
            del parent[key]
        elif kind == "wrap":
            parent[key] = [parent[key]]
        elif isinstance(parent[key], (list, dict)):
            parent[key] = type(parent[key])()
    return config


def _write_archive(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as out:
        for name, data in members.items():
            out.writestr(name, data)


class _World(dict):
    """The fuzzing state; a short repr keeps Hypothesis's reports readable."""

    def __repr__(self):
        return "<keras fuzz world>"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import keras

    root = tmp_path_factory.mktemp("keras_fuzz")
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4, name="d"),
                              keras.layers.BatchNormalization(name="bn"),
                              keras.layers.Dense(2, name="out")])
    model.compile(optimizer="adam", loss="mse")
    model.save(root / "valid.keras")
    with zipfile.ZipFile(root / "valid.keras") as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    (root / "cases").mkdir()
    # A private temporary folder: other processes' thawnet_keras_* folders do not count, and a
    # folder the reader leaves behind is seen.
    (root / "tmp").mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(root / "tmp")
    yield _World(root=root, bytes=(root / "valid.keras").read_bytes(), members=members,
                  config=json.loads(members["config.json"]),
                  shapes=[tuple(w.shape) for w in model.weights], tally={})
    tempfile.tempdir = saved


def _temp_dirs():
    return set(os.listdir(tempfile.gettempdir()))


def _attempt(world, path, kind):
    """Load ``path``; only FileFormatError (naming the file) or a correct model may result."""
    before = _temp_dirs()
    start = time.monotonic()
    try:
        model = load_model(str(path), compile=False)
    except FileFormatError as exc:
        assert path.name in str(exc), str(exc)[:300]
        assert "thawnet_keras_" not in str(exc), "names a temporary copy"
        outcome = "FileFormatError"
    else:
        assert [tuple(v.shape) for v in model.weights] == world["shapes"]
        outcome = "loaded"
    assert time.monotonic() - start < PER_CASE_LIMIT_S
    assert _temp_dirs() <= before, "a temporary folder was left behind"
    tally = world["tally"].setdefault(kind, {})
    tally[outcome] = tally.get(outcome, 0) + 1


def _fuzz_whole_archive(world, edits):
    path = world["root"] / "cases" / "bytes.keras"
    path.write_bytes(_apply_bytes(world["bytes"], edits))
    _attempt(world, path, "archive bytes")


def _fuzz_config(world, edits, deflate):
    path = world["root"] / "cases" / "config.keras"
    members = dict(world["members"])
    members["config.json"] = json.dumps(_apply_config(world["config"], edits)).encode()
    _write_archive(path, members, zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)
    _attempt(world, path, "config.json edits")


def _fuzz_weights_member(world, edits):
    path = world["root"] / "cases" / "weights.keras"
    members = dict(world["members"])
    members["model.weights.h5"] = _apply_bytes(members["model.weights.h5"], edits)
    _write_archive(path, members)
    _attempt(world, path, "model.weights.h5 bytes")


@FAST
@given(edits=hs.lists(byte_edit, min_size=1, max_size=3))
def test_damaged_archive_bytes_raise_only_file_format_error(world, edits):
    _fuzz_whole_archive(world, edits)


@FAST
@given(edits=hs.lists(config_edit, min_size=1, max_size=3), deflate=hs.booleans())
def test_edited_configs_raise_only_file_format_error(world, edits, deflate):
    _fuzz_config(world, edits, deflate)


@FAST
@given(edits=hs.lists(byte_edit, min_size=1, max_size=2))
def test_damaged_weights_members_raise_only_file_format_error(world, edits):
    _fuzz_weights_member(world, edits)


@pytest.mark.slow
@FULL
@given(edits=hs.lists(byte_edit, min_size=1, max_size=3))
def test_damaged_archive_bytes_full(world, edits):
    _fuzz_whole_archive(world, edits)


@pytest.mark.slow
@FULL
@given(edits=hs.lists(config_edit, min_size=1, max_size=3), deflate=hs.booleans())
def test_edited_configs_full(world, edits, deflate):
    _fuzz_config(world, edits, deflate)


@pytest.mark.slow
@FULL
@given(edits=hs.lists(byte_edit, min_size=1, max_size=2))
def test_damaged_weights_members_full(world, edits):
    _fuzz_weights_member(world, edits)


def test_fuzzing_reached_both_outcomes(world):
    """The fuzz cases above ran (same module) and exercised refusals and valid loads alike."""
    tally = world["tally"]
    print(f"\n.keras fuzz outcomes: {json.dumps(tally)}")
    if not tally:
        pytest.skip("run together with the fuzz tests of this module")
    total = sum(sum(t.values()) for t in tally.values())
    assert total >= 300
    assert sum(t.get("FileFormatError", 0) for t in tally.values()) > 50
    assert np.sum([t.get("loaded", 0) for t in tally.values()]) > 0
