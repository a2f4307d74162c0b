"""A fit killed with SIGKILL and resumed from its backups ends bit-identical to an
uninterrupted run (same seed), History included, with ``EarlyStopping`` and
``ReduceLROnPlateau`` monitoring the training "loss"; a kill during a backup write leaves the
last one loadable.

The run is 4 epochs x 4 batches. Its plateau decision after epoch 2 hangs on a margin of about
0.001 in that epoch's mean loss, so a resumed epoch whose logs averaged only the batches after
the resume (the metric accumulators missing from the backup) changes the learning rate, the
weights and the History. The default run tries three kill points and a kill inside a backup
write; ``-m slow`` tries every kill point, backups every 3 batches and every epoch, and
``fit(resume_from=)``.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from thawnet.io.training_checkpoint import latest_checkpoint

SCRIPT = str(Path(__file__).with_name("resume_script.py"))
TOTAL = 16  # 4 epochs x 4 batches


def _run(out, backup, mode, kill_at=None, save_freq="1"):
    args = [sys.executable, SCRIPT, str(out), str(backup), mode, str(kill_at or 0), save_freq]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def _final(out):
    data = np.load(Path(out) / "final.npz")
    weights = [data[f"arr_{i}"] for i in range(len(data.files))]
    with open(Path(out) / "history.json") as f:
        return weights, json.load(f)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    plain = _run(out, out / "unused", "plain")
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert plain.stdout.strip().endswith(f": {TOTAL}")
    weights, record = _final(out)
    # The plateau test really decides: the rate is halved once, after epoch 2.
    assert record["history"]["learning_rate"] == pytest.approx([0.01, 0.01, 0.01, 0.005])
    return weights, record


def _kill_and_resume(tmp_path, mode, kill_at, save_freq="1", resume_mode=None):
    backup = tmp_path / "backup"
    killed = _run(tmp_path, backup, mode, kill_at, save_freq)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert latest_checkpoint(str(backup)) is not None  # the last complete backup survived
    resumed = _run(tmp_path, backup, resume_mode or mode, None, save_freq)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    trained = int(resumed.stdout.rsplit(":", 1)[1])
    assert 0 < trained < TOTAL or (trained == 0 and kill_at >= TOTAL - 1)
    return _final(tmp_path)


def _assert_identical(result, uninterrupted):
    (weights, record), (ref_weights, ref_record) = result, uninterrupted
    assert record == ref_record  # History (loss, learning_rate), epochs, final rate
    assert len(weights) == len(ref_weights)
    for a, b in zip(weights, ref_weights):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("mode,kill_at", [("backup", 3), ("backup", 10), ("kill_in_save", 5)],
                         ids=["mid_epoch_1", "mid_epoch_3", "during_backup_write"])
def test_killed_fit_resumes_bit_identical(uninterrupted, tmp_path, mode, kill_at):
    _assert_identical(_kill_and_resume(tmp_path, mode, kill_at), uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", range(1, TOTAL))
@pytest.mark.parametrize("save_freq", ["1", "3", "epoch"])
def test_every_kill_point_resumes_bit_identical(uninterrupted, tmp_path, kill_at, save_freq):
    if save_freq == "epoch" and kill_at <= 4:
        pytest.skip("no epoch backup exists before the end of epoch 1")
    if save_freq == "3" and kill_at < 3:
        pytest.skip("no backup exists before batch 3")
    _assert_identical(_kill_and_resume(tmp_path, "backup", kill_at, save_freq), uninterrupted)


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [2, 4, 7, 10, 15])
def test_fit_resume_from_a_killed_runs_backup_is_bit_identical(uninterrupted, tmp_path,
                                                                kill_at):
    _assert_identical(_kill_and_resume(tmp_path, "backup", kill_at, resume_mode="resume_from"),
                      uninterrupted)
