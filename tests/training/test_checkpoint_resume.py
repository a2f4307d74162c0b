"""A fit killed with SIGKILL and resumed from its backups ends bit-identical to an
uninterrupted run (same seed); a kill during a backup write leaves the last one loadable."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = str(Path(__file__).with_name("resume_script.py"))


def _run(out, backup, mode, kill_at=None):
    args = [sys.executable, SCRIPT, str(out), str(backup), mode] + (
        [str(kill_at)] if kill_at else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def _final(out):
    data = np.load(Path(out) / "final.npz")
    return [data[f"arr_{i}"] for i in range(len(data.files))]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("plain")
    plain = _run(out, out / "unused", "plain")
    assert plain.returncode == 0 and plain.stdout.strip().endswith(": 12")
    return _final(out)


@pytest.mark.parametrize("mode,kill_at", [("backup", 3), ("backup", 6), ("kill_in_save", 5)],
                         ids=["mid_epoch_1", "mid_epoch_2", "during_backup_write"])
def test_killed_fit_resumes_bit_identical(uninterrupted, tmp_path, mode, kill_at):
    backup = tmp_path / "backup"
    killed = _run(tmp_path, backup, mode, kill_at)
    assert killed.returncode == -9, killed.stderr[-2000:]
    from thawnet.training.checkpoint import latest_checkpoint
    assert latest_checkpoint(str(backup)) is not None  # the last complete backup survived
    resumed = _run(tmp_path, backup, mode)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    trained = int(resumed.stdout.rsplit(":", 1)[1])
    # 3 epochs x 4 batches; the resumed process only runs what the backup had not covered.
    assert 0 < trained < 12
    for a, b in zip(_final(tmp_path), uninterrupted):
        assert np.array_equal(a, b)
