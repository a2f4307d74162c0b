"""How atomic saves treat what is already there: the folder swap's rules (other files, the
working folder, symlinks, the two-rename fallback) and the names and clean-up of temporary
files. Kills and full disks are in test_save_crashes.py."""

import os
import subprocess
import sys

import numpy as np
import pytest

from thawnet import layers as L
from thawnet.io import archive as archive_lib
from thawnet.io import atomic, path_exchange
from thawnet.models import Sequential, load_model


def _model(seed):
    model = Sequential([L.Input(shape=(3,)), L.Dense(2, name="d")], name="tiny")
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.standard_normal(v.shape).astype("float32"))
    return model


def _same_weights(a, b):
    return all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a.weights, b.weights))


WRITTEN = sorted([archive_lib.MANIFEST, archive_lib.CONFIG, archive_lib.WEIGHTS])


def test_folder_save_replaces_the_folder_and_leaves_nothing_beside_it(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    os.chmod(folder, 0o750)
    _model(1).save(folder)
    inode = os.stat(folder).st_ino
    second = _model(2)
    second.save(folder)
    assert sorted(os.listdir(folder)) == WRITTEN
    assert os.listdir(tmp_path) == ["m"]
    assert os.stat(folder).st_ino != inode  # a new folder was swapped in, not rewritten
    assert oct(os.stat(folder).st_mode & 0o777) == oct(0o750)
    assert _same_weights(load_model(folder), second)


def test_folder_holding_other_files_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds \['notes.txt'\] besides the model's files"):
        _model(1).save(folder)
    assert os.listdir(folder) == ["notes.txt"]
    assert os.listdir(tmp_path) == ["m"]


def test_optional_members_of_an_earlier_save_may_be_dropped(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    optional = sorted(set(archive_lib.MEMBERS) - set(WRITTEN))
    for name in optional:  # e.g. the optimizer state of a compiled model saved before
        (folder / name).write_bytes(b"old")
    _model(1).save(folder)
    assert sorted(os.listdir(folder)) == WRITTEN


def test_saving_the_working_folder_keeps_the_working_folder_usable(tmp_path, monkeypatch):
    folder = tmp_path / "m"
    folder.mkdir()
    monkeypatch.chdir(folder)
    _model(1).save(".")
    second = _model(2)
    second.save(".")
    assert os.path.realpath(os.getcwd()) == os.path.realpath(folder)
    assert sorted(os.listdir(".")) == WRITTEN  # not the swapped-out, deleted folder
    assert _same_weights(load_model("."), second)


def test_a_symlinked_folder_is_replaced_behind_its_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    model = _model(3)
    model.save(link)
    assert os.path.islink(link) and os.readlink(link) == str(real)
    assert sorted(os.listdir(real)) == WRITTEN
    assert _same_weights(load_model(link), model)


def test_two_rename_fallback_saves_the_same_folder(tmp_path, monkeypatch):
    def unavailable(a, b):
        raise path_exchange.ExchangeUnavailable()
    monkeypatch.setattr(path_exchange, "exchange", unavailable)
    folder = tmp_path / "m"
    folder.mkdir()
    _model(1).save(folder)
    second = _model(2)
    second.save(folder)
    assert os.listdir(tmp_path) == ["m"]
    assert sorted(os.listdir(folder)) == WRITTEN
    assert _same_weights(load_model(folder), second)


def _dead_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.parametrize("name", ["m.thawnet", "w.safetensors", "m"])
def test_leftovers_of_dead_saves_are_removed_and_of_live_ones_kept(tmp_path, name):
    dead = tmp_path / f".{name}.thawnet-tmp-{_dead_pid()}-0123456789ab"
    live = tmp_path / f".{name}.thawnet-tmp-{os.getppid()}-ba9876543210"  # our parent runs
    unrelated = tmp_path / f".other.thawnet-tmp-{_dead_pid()}-0123456789ab"
    dead.mkdir() if name == "m" else dead.write_bytes(b"half a file")
    live.write_bytes(b"being written")
    unrelated.write_bytes(b"not ours")
    assert atomic.leftovers(tmp_path / name) == sorted([str(dead), str(live)])
    model = _model(4)
    if name == "m":
        (tmp_path / name).mkdir()
        model.save(tmp_path / name)
    elif name.endswith(".thawnet"):
        model.save(tmp_path / name)
    else:
        model.save_weights(tmp_path / name)
    assert sorted(os.listdir(tmp_path)) == sorted([name, live.name, unrelated.name])
