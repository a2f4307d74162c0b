"""Saves that survive SIGKILL and full disks: the native folder, .thawnet zips, .safetensors.

Every kill below is a real SIGKILL of a process in the middle of ``model.save`` /
``model.save_weights``; afterwards the path must load, through the public loaders, as exactly
the old weights or exactly the new ones (bitwise), and the next save must clean up what the
killed one left. Children are forked from a server (save_kill_script.py) that imports thawnet
once, so a trial costs a fraction of a second. Kill points are chosen two ways: just before
the k-th file-system call of the save (deterministic, so the points around the final rename
are always hit), and after a random delay while the child saves two weight sets in turn.
The ``slow`` variants kill at every call and at many more random moments.
"""

import errno
import importlib.util
import json
import os
import random
import select
import shutil
import subprocess
import sys

import numpy as np
import pytest

from thawnet.io import atomic, path_exchange
from thawnet.models import load_model

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("save_kill_script",
                                               os.path.join(HERE, "save_kill_script.py"))
ks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ks)
FORMATS = list(ks.FORMATS)
TIMEOUT = 120  # seconds for one answer of the server (a trial takes well under one)


class Server:
    """The fork server, one per test module."""

    def __init__(self, log_path):
        env = dict(os.environ, JAX_PLATFORMS="cpu", KERAS_BACKEND="jax",
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "save_kill_script.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True, env=env)
        assert self._line() == "ready"

    def _line(self):
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self._log.flush()
            raise AssertionError("the save server did not answer; its log:\n"
                                 + open(self.log_path).read()[-3000:])
        return line.strip()

    def trial(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._line())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self._log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("server") / "server.log"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def victim():
    """The test's own copy of the model, and weight sets A (old), B (new) and C (cleanup)."""
    model = ks.build_model()
    return model, {t: ks.weight_set(model, t) for t in "ABC"}


def _which(values, sets):
    """The tag of the weight set ``values`` equals bit for bit, or None."""
    for tag, expected in sets.items():
        if values.keys() == expected.keys() and all(
                values[p].tobytes() == expected[p].tobytes() for p in expected):
            return tag
    return None


def _target(folder, fmt):
    return os.path.join(folder, ks.FORMATS[fmt])


def _check_and_resave(folder, fmt, victim, allowed):
    """After a kill: the target loads as one of ``allowed``, nothing but discoverable temp
    names lies beside it, and the next save leaves only the target. Returns
    ``(tag loaded, names left by the killed save)``."""
    model, sets = victim
    target = _target(folder, fmt)
    left = {os.path.basename(p) for p in atomic.leftovers(target)}
    assert set(os.listdir(folder)) == {ks.FORMATS[fmt]} | left
    tag = _which(ks.load_values(target, fmt), sets)
    assert tag in allowed, f"{fmt}: the path holds {tag!r} weights, expected one of {allowed}"
    ks.assign(model, sets["C"])
    ks.save(model, target, fmt)
    assert os.listdir(folder) == [ks.FORMATS[fmt]]
    return tag, sorted(left)


def _calls_of_one_save(server, tmp_path, fmt):
    folder = tmp_path / f"{fmt}-count"
    folder.mkdir()
    result = tmp_path / f"{fmt}-calls.json"
    answer = server.trial(fmt=fmt, dir=str(folder), mode="op", kill_at=None, result=str(result))
    assert answer["exit"] == 0, answer
    return json.loads(result.read_text())


def _commit_index(calls):
    """Index of the call that swaps the new file or folder in."""
    return next(i for i, c in enumerate(calls) if c.split()[0] in ("exchange", "replace"))


def _kill_at_calls(server, tmp_path, fmt, victim, points, fallback=False):
    outcomes = []
    for k in points:
        folder = tmp_path / f"{fmt}-op{k}{'-fb' if fallback else ''}"
        folder.mkdir()
        answer = server.trial(fmt=fmt, dir=str(folder), mode="op", kill_at=k,
                              result=str(tmp_path / "unused.json"), fallback=fallback)
        assert answer["signal"] == 9, (k, answer)
        outcomes.append(_check_and_resave(folder, fmt, victim, {"A", "B"}))
    return outcomes


def _kill_after_delays(server, tmp_path, fmt, victim, delays):
    outcomes, inside = [], 0
    for i, delay in enumerate(delays):
        folder = tmp_path / f"{fmt}-delay{i}"
        folder.mkdir()
        answer = server.trial(fmt=fmt, dir=str(folder), mode="delay", delay=delay)
        assert answer["signal"] == 9, answer
        n = answer["completed"]  # saves done after the first (A): A, then B, A, B, ...
        allowed = {"AB"[n % 2]} | ({"AB"[(n + 1) % 2]} if answer["inside"] else set())
        outcomes.append(_check_and_resave(folder, fmt, victim, allowed))
        inside += answer["inside"]
    return outcomes, inside


def _report(fmt, kind, outcomes, inside=None):
    tags = [t for t, _ in outcomes]
    left = sum(bool(names) for _, names in outcomes)
    extra = f", {inside} landed inside a save" if inside is not None else ""
    print(f"\n{fmt} {kind}: {len(outcomes)} SIGKILLs: old/A {tags.count('A')}, new/B "
          f"{tags.count('B')}{extra}; {left} left temp names, all removed by the next save")


@pytest.mark.parametrize("fmt", FORMATS)
def test_sigkill_during_save_leaves_complete_old_or_new_model(server, victim, tmp_path, fmt):
    calls = _calls_of_one_save(server, tmp_path, fmt)
    commit = _commit_index(calls)
    # Around the swap, plus points spread over the whole save (writes included).
    points = sorted({0, commit - 1, commit, commit + 1, len(calls) - 1}
                    | {round(i * (len(calls) - 1) / 4) for i in range(5)})
    by_call = _kill_at_calls(server, tmp_path, fmt, victim, points)
    rng = random.Random(f"kill-{fmt}")
    by_delay, inside = _kill_after_delays(server, tmp_path, fmt, victim,
                                          [rng.uniform(0.0, 0.15) for _ in range(15 - len(points))])
    outcomes = by_call + by_delay
    _report(fmt, "kill points", outcomes, inside)
    assert len(outcomes) >= 15
    # Kills before the swap keep the old model, kills after it show the new one.
    assert [t for t, _ in by_call] == ["A" if k <= commit else "B" for k in points]
    assert any(names for _, names in by_call)  # the kills did land inside the save
    assert inside >= 1


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_sigkill_at_every_call_and_many_moments(server, victim, tmp_path, fmt):
    calls = _calls_of_one_save(server, tmp_path, fmt)
    commit = _commit_index(calls)
    by_call = _kill_at_calls(server, tmp_path, fmt, victim, range(len(calls)))
    assert [t for t, _ in by_call] == ["A" if k <= commit else "B" for k in range(len(calls))]
    rng = random.Random(f"slow-{fmt}")
    by_delay, inside = _kill_after_delays(server, tmp_path, fmt, victim,
                                          [rng.uniform(0.0, 0.3) for _ in range(60)])
    _report(fmt, f"every call ({len(calls)})", by_call)
    _report(fmt, "random moments", by_delay, inside)
    assert inside >= 30


def test_sigkill_during_fallback_folder_swap_keeps_the_old_model_recoverable(
        server, victim, tmp_path):
    """Without renameat2 the swap is two renames; a kill between them leaves the path
    missing for a moment, the complete old model under a backup name, and the next save
    (or a reader's error message) finds it."""
    calls = _calls_of_one_save(server, tmp_path, "folder")
    first = next(i for i, c in enumerate(calls) if c.split()[0] == "exchange")
    # In fallback mode the exchange call fails and two renames follow: old aside (call
    # first + 1), new in (first + 2). Kill between them:
    folder = tmp_path / "between"
    folder.mkdir()
    answer = server.trial(fmt="folder", dir=str(folder), mode="op", kill_at=first + 2,
                          result=str(tmp_path / "unused.json"), fallback=True)
    assert answer["signal"] == 9
    target = _target(folder, "folder")
    assert not os.path.exists(target)
    backups = atomic.interrupted_backups(target)
    assert len(backups) == 1 and ".model.thawnet-old-" in backups[0]
    with pytest.raises(FileNotFoundError, match="previous model is complete at"):
        load_model(target)
    model, sets = victim
    assert _which(ks.load_values(backups[0], "folder"), sets) == "A"
    ks.assign(model, sets["C"])
    ks.save(model, target, "folder")  # puts A back, then replaces it by C
    assert os.listdir(folder) == ["model"]
    assert _which(ks.load_values(target, "folder"), sets) == "C"
    outcomes = _kill_at_calls(server, tmp_path, "folder", victim,
                              [first - 1, first, first + 1, first + 3, first + 4],
                              fallback=True)
    assert [t for t, _ in outcomes] == ["A", "A", "A", "B", "B"]


# -- full disks and other failed saves ---------------------------------------------------------
class _FillsUp:
    """A file that takes half of the first write, then reports a full disk."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(bytes(data)[:len(data) // 2])
        self._f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)


def _saved_small(folder, fmt):
    """A small model saved at ``folder``/target with weights A; returns (model, sets)."""
    model = ks.build_model(units=(4, 3))
    sets = {t: ks.weight_set(model, t) for t in "AB"}
    target = _target(folder, fmt)
    if fmt == "folder":
        os.mkdir(target)
    ks.assign(model, sets["A"])
    ks.save(model, target, fmt)
    return model, sets


def _assert_failed_save_kept_old(folder, fmt, before, sets, error, units=(4, 3)):
    """The error names the target (not the temporary name), nothing new lies in ``folder``,
    and the target still loads as weight set A."""
    target = _target(folder, fmt)
    message = str(error.value)
    assert repr(target) in message and "thawnet-tmp" not in message
    assert "previous content of that path is unchanged" in message
    assert sorted(os.listdir(folder)) == before
    assert _which(ks.load_values(target, fmt, units=units), sets) == "A"


@pytest.mark.parametrize("fmt", FORMATS)
def test_disk_full_mid_write_keeps_previous_model_and_names_the_target(tmp_path, fmt,
                                                                       monkeypatch):
    model, sets = _saved_small(str(tmp_path), fmt)
    before = sorted(os.listdir(tmp_path))
    ks.assign(model, sets["B"])
    real_fdopen = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: _FillsUp(real_fdopen(*a, **k)))
    with pytest.raises(OSError) as error:
        ks.save(model, _target(str(tmp_path), fmt), fmt)
    monkeypatch.undo()
    assert error.value.errno == errno.ENOSPC
    _assert_failed_save_kept_old(str(tmp_path), fmt, before, sets, error)


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 256 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode()[:200]}")
    try:
        yield str(mount)
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_really_full_disk_keeps_previous_model_and_leaves_no_temp_file(tiny_disk, fmt):
    model, sets = _saved_small(tiny_disk, fmt)
    with open(os.path.join(tiny_disk, "filler"), "wb", buffering=0) as f:
        with pytest.raises(OSError, match="No space left"):
            while True:  # fill the disk to the last block
                f.write(b"\0" * 4096)
    before = sorted(os.listdir(tiny_disk))
    ks.assign(model, sets["B"])
    with pytest.raises(OSError) as error:
        ks.save(model, _target(tiny_disk, fmt), fmt)
    assert error.value.errno == errno.ENOSPC
    _assert_failed_save_kept_old(tiny_disk, fmt, before, sets, error)


@pytest.mark.parametrize("fmt", FORMATS)
def test_refused_rename_names_the_target_not_the_temporary_file(tmp_path, fmt, monkeypatch):
    model, sets = _saved_small(str(tmp_path), fmt)
    before = sorted(os.listdir(tmp_path))
    ks.assign(model, sets["B"])

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", src, dst)
    monkeypatch.setattr(path_exchange, "exchange", refuse)
    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(PermissionError) as error:
        ks.save(model, _target(str(tmp_path), fmt), fmt)
    monkeypatch.undo()
    _assert_failed_save_kept_old(str(tmp_path), fmt, before, sets, error)
