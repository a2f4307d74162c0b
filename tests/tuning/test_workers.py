"""Worker processes sharing one study: SQLite, a real PostgreSQL server, a killed worker."""

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import tuning_spaces

optuna = pytest.importorskip("optuna", reason="thawnet.tuning needs optuna: pip install optuna")

from thawnet.tuning import Tuner  # noqa: E402
from thawnet.tuning.storage import retried_trial_number  # noqa: E402

LINE = re.compile(r"^\[worker (\d+)\] trial (\d+) (\w+) val_loss=(\S+) best=(\S+) "
                  r"\(trial (\d+)\)")
WORKERS, TRIALS_EACH = 3, 2


def _worker_cmd(storage, study, data, directory, cache, seed, trials=TRIALS_EACH,
                build="build_xor", extra=()):
    return [sys.executable, "-m", "thawnet.tuning.cli_tune", "worker",
            tuning_spaces.spec(build), "--data", data, "--storage", storage, "--study", study,
            "--trials", str(trials), "--epochs", "3", "--batch-size", "8", "--pruner", "none",
            "--directory", directory, "--compile-cache", cache, "--seed", str(seed), *extra]


def _env(**extra):
    return dict(os.environ, JAX_PLATFORMS="cpu", **extra)


def _run_workers(storage, study, data, directory, cache):
    procs = [subprocess.Popen(_worker_cmd(storage, study, data, directory, cache, seed=k),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env()) for k in range(WORKERS)]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        outputs.append(out)
    return outputs


def _check_shared_study(storage, study_name, outputs):
    reported = {}   # trial number -> (worker pid, value)
    last_best = {}  # worker pid -> best trial it reported last
    for out in outputs:
        for line in out.splitlines():
            match = LINE.match(line)
            if match:
                pid, number, state, value, _, best = match.groups()
                assert state == "COMPLETE", line
                assert int(number) not in reported, f"trial {number} reported twice"
                reported[int(number)] = (pid, float(value))
                last_best[pid] = int(best)
    assert len(last_best) == WORKERS
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials()
    # Every trial recorded exactly once, none lost, each run by the worker that reported it.
    assert sorted(reported) == [t.number for t in trials] == list(range(WORKERS * TRIALS_EACH))
    for trial in trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert trial.value == pytest.approx(reported[trial.number][1], rel=1e-5)
    best = min(reported, key=lambda n: reported[n][1])
    assert study.best_trial.number == best
    # The trial that finished last saw every other one: its worker reports the same best.
    last = max(trials, key=lambda t: t.datetime_complete)
    assert last_best[reported[last.number][0]] == best


def test_three_sqlite_workers_share_one_study(tmp_path, xor_npz, compile_cache_dir):
    storage = f"sqlite:///{tmp_path}/shared.db"
    outputs = _run_workers(storage, "shared", xor_npz, str(tmp_path), compile_cache_dir)
    _check_shared_study(storage, "shared", outputs)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster on loopback, in a temporary folder."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install "
                                           "psycopg2-binary)")
    bindir = os.path.dirname(initdbs[-1])
    root = tempfile.mkdtemp(prefix="thawnet-pg-")
    prefix = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None or shutil.which("runuser") is None:
            pytest.skip("running as root without a 'postgres'/'nobody' user and runuser")
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    data, port = os.path.join(root, "data"), _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        subprocess.run(prefix + [f"{bindir}/initdb", "-D", data, "-U", "postgres",
                                 "--auth=trust", "--no-sync"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run(prefix + [f"{bindir}/pg_ctl", "-D", data, "-l", f"{root}/log", "-w",
                                 "-t", "60", "-o", options, "start"],
                       check=True, capture_output=True, timeout=90)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
        detail = getattr(err, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start: {err} {detail.decode()[-500:]}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(prefix + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_three_workers_share_one_study_on_postgresql(tmp_path, postgres_url, xor_npz,
                                                     compile_cache_dir):
    outputs = _run_workers(postgres_url, "pg_shared", xor_npz, str(tmp_path),
                           compile_cache_dir)
    _check_shared_study(postgres_url, "pg_shared", outputs)


def test_a_worker_killed_mid_trial_leaves_the_study_usable(tmp_path, xor, xor_npz,
                                                         compile_cache_dir):
    storage, marker = f"sqlite:///{tmp_path}/killed.db", str(tmp_path / "hanging")
    cmd = _worker_cmd(storage, "killed", xor_npz, str(tmp_path), compile_cache_dir, seed=0,
                      trials=1, build="build_hangs_in_worker", extra=("--heartbeat", "1"))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=_env(THAWNET_TEST_HANG=marker))
    deadline = time.monotonic() + 120
    while not os.path.exists(marker):
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the worker never started its trial"
        time.sleep(0.2)
    study = optuna.load_study(study_name="killed", storage=storage)
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.RUNNING]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()

    time.sleep(3)  # past the grace period (2 s) of the dead worker's last heartbeat
    (x, y), val = xor
    tuner = Tuner(tuning_spaces.build_hangs_in_worker, max_trials=None, pruner=None,
                  storage=storage, study_name="killed", directory=str(tmp_path),
                  heartbeat_interval=1, grace_period=2, max_retry=1,
                  compile_cache=compile_cache_dir)
    assert tuner.search(x, y, validation_data=val, epochs=2, batch_size=8, n_trials=2) == [1, 2]
    killed, retry, fresh = tuner.trials()
    assert killed.state == optuna.trial.TrialState.FAIL
    assert retried_trial_number(retry) == 0
    assert retry.params == killed.params
    assert retry.state == fresh.state == optuna.trial.TrialState.COMPLETE
