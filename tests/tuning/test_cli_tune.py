"""The ``tune`` command line (``thawnet.tuning.cli_tune.main``) and its input checks."""

import re

import numpy as np
import pytest

import tuning_spaces

optuna = pytest.importorskip("optuna", reason="thawnet.tuning needs optuna: pip install optuna")

from thawnet.tuning import load_build_fn, load_data  # noqa: E402
from thawnet.tuning.cli_tune import main  # noqa: E402


def _run_args(tmp_path, data, cache, trials):
    return ["run", tuning_spaces.spec("build_one_layer"), "--data", data, "--trials",
            str(trials), "--epochs", "2", "--batch-size", "8", "--directory", str(tmp_path),
            "--study", "cli", "--seed", "0", "--compile-cache", cache]


def test_tune_run_prints_a_line_per_trial_and_resumes(tmp_path, xor_npz, compile_cache_dir,
                                                     capsys):
    assert main(_run_args(tmp_path, xor_npz, compile_cache_dir, trials=2)) == 0
    out = capsys.readouterr().out.splitlines()
    trial_lines = [line for line in out if re.match(r"trial \d+ ", line)]
    assert [line.split()[:3] for line in trial_lines] == [["trial", "0", "COMPLETE"],
                                                         ["trial", "1", "COMPLETE"]]
    assert "val_loss=" in trial_lines[0] and "[lr=" in trial_lines[0]
    assert any(line.startswith("Results summary: study 'cli'") for line in out)
    assert (tmp_path / "cli.db").exists()

    assert main(_run_args(tmp_path, xor_npz, compile_cache_dir, trials=3)) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in out if re.match(r"trial \d+ ", line)] == [
        ["trial", "2", "COMPLETE"]]

    storage = f"sqlite:///{tmp_path}/cli.db"
    assert main(["summary", "--storage", storage, "--study", "cli"]) == 0
    out = capsys.readouterr().out
    assert "3 trials (3 complete)" in out and "best trial " in out


def test_tune_reports_bad_input_with_exit_status_2(tmp_path, capsys):
    no_y = str(tmp_path / "no_y.npz")
    np.savez(no_y, x=np.zeros((4, 2), "float32"))
    cases = [
        (["run", tuning_spaces.spec("build_xor"), "--data", str(tmp_path / "none.npz")],
         "data file"),
        (["run", tuning_spaces.spec("build_xor"), "--data", no_y], "has no y array"),
        (["run", "model.py", "--data", no_y], "must look like 'file.py:build_fn'"),
        (["run", tuning_spaces.spec("nope"), "--data", no_y], "has no function 'nope'"),
    ]
    for argv, message in cases:
        assert main(argv + ["--directory", str(tmp_path)]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["worker", tuning_spaces.spec("build_xor"), "--data", no_y])  # needs --storage


def test_specs_load_from_files_and_modules_and_data_from_npz(tmp_path, xor_npz):
    assert load_build_fn(tuning_spaces.spec("build_xor")).__name__ == "build_xor"
    assert load_build_fn("tuning_spaces:build_xor") is tuning_spaces.build_xor
    x, y, (x_val, y_val) = load_data(xor_npz)
    assert x.shape == (64, 2) and y.shape == (64,) and x_val.shape == (32, 2)
    half = str(tmp_path / "half.npz")
    np.savez(half, x=x, y=y, x_val=x_val)
    with pytest.raises(ValueError, match="only one of x_val / y_val"):
        load_data(half)
