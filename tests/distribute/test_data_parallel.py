"""Data-parallel training matches single-device training; frozen weights stay bit-identical.

Each run is a subprocess: the number of (forced) CPU devices is fixed when JAX starts.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = str(Path(__file__).with_name("dp_script.py"))


def _run(out_dir, mode):
    proc = subprocess.run([sys.executable, SCRIPT, str(out_dir), mode], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(out_dir / f"{mode}_0.npz")


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("single"), "single")


def _weights(result):
    return [result[k] for k in sorted((k for k in result.files if k.startswith("w")),
                                      key=lambda k: int(k[1:]))]


def test_four_devices_match_one_device_with_the_same_global_batch(single, tmp_path):
    dp = _run(tmp_path, "dp4")
    assert dp["devices"].tolist() == [4, 4]
    for a, b in zip(_weights(dp), _weights(single)):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    # The frozen kernel kept its exact bits (checked on every replica inside the script).
    assert np.array_equal(dp["w0"], dp["frozen_kernel_initial"])


def test_two_processes_with_two_devices_each_end_identical_and_match_one_process(
        single, tmp_path):
    env = dict(os.environ, THAWNET_COORDINATOR="127.0.0.1:12397", THAWNET_NUM_PROCESSES="2")
    procs = [subprocess.Popen([sys.executable, SCRIPT, str(tmp_path), "multiprocess"],
                              env=dict(env, THAWNET_PROCESS_ID=str(rank)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    first, second = (np.load(tmp_path / f"multiprocess_{i}.npz") for i in range(2))
    assert first["devices"].tolist() == [4, 2]
    for a, b, c in zip(_weights(first), _weights(second), _weights(single)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, atol=1e-5, rtol=0)
    # The checkpoint the pair wrote loads in a single process, with the same values.
    import thawnet
    from thawnet import layers as tl
    model = thawnet.Sequential([
        tl.Input(shape=(6,)), tl.Dense(8, name="frozen", trainable=False),
        tl.Dense(16, name="hidden"), tl.BatchNormalization(name="bn"), tl.ReLU(),
        tl.Dense(3, name="out", activation="softmax")])
    model.load_weights(str(tmp_path / "pair.safetensors"))
    for a, b in zip(model.get_weights(), _weights(first)):
        np.testing.assert_array_equal(a, b)


def test_global_batch_not_divisible_by_the_devices_is_refused_with_a_fix():
    import thawnet
    from thawnet.distribute import DataParallel

    strategy = DataParallel()
    strategy.num_devices = 4  # the check is arithmetic: no need for 4 real devices here
    with pytest.raises(ValueError, match=r"divisible by 4; received batch_size=10\. Use "
                                         r"batch_size=8 or 12"):
        strategy.check_batch_size(10)
    assert thawnet.distribute.DataParallel().num_devices >= 1


def test_unreachable_coordinator_fails_within_the_timeout():
    code = ("from thawnet.distribute import initialize\n"
            "initialize('127.0.0.1:9', num_processes=2, process_id=1, timeout_s=5)\n")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "could not join the run at 127.0.0.1:9" in proc.stderr
    assert time.monotonic() - start < 90
