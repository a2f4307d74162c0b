"""The ``thawnet summary`` command: built-in names, files and modules."""

import subprocess
import sys
import textwrap

import pytest


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "thawnet.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_summary_of_the_seed_model_explains_every_non_trainable_parameter():
    out = _run("summary", "seed", "--explain", "--show-trainable")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "Total params: 1,050" in lines
    assert "Trainable params: 20" in lines
    assert "Non-trainable params: 1,030" in lines
    assert "  1,010 = dense_1 (kernel + bias), frozen by trainable=False" in lines
    assert ("  20 = moving_mean + moving_variance of batch_normalization_1 (statistics, updated "
            "by moving average)") in lines


def test_summary_of_a_user_file_and_function(tmp_path):
    (tmp_path / "my_model.py").write_text(textwrap.dedent("""
        from thawnet.layers import Dense, Input
        from thawnet.models import Sequential

        def build():
            return Sequential([Input(shape=(3,)), Dense(2, trainable=False), Dense(1)])
    """))
    out = _run("summary", "my_model.py:build", "--explain", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Non-trainable params: 8" in out.stdout
    assert "Trainable params: 3" in out.stdout


def test_summary_of_an_unknown_name_lists_the_built_in_models():
    out = _run("summary", "nope")
    assert out.returncode != 0
    assert "unknown model 'nope'" in out.stderr and "seed" in out.stderr


def _main(capsys, *args):
    """The command in this process (a subprocess costs an import of thawnet per call)."""
    from thawnet import cli
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(args))
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_explain_groups_inception_v3_and_full_lists_every_layer(capsys):
    out = _main(capsys, "summary", "inception_v3", "--explain")
    explained = out.split("Non-trainable params explained:\n")[1].splitlines()
    assert explained[0] == ("  34,432 = moving_mean + moving_variance of 94 BatchNormalization "
                            "layers (statistics, updated by moving average)")
    assert set(explained[1]) == {"_"}
    out = _main(capsys, "summary", "inception_v3", "--explain", "full")
    explained = out.split("Non-trainable params explained:\n")[1].splitlines()
    assert len(explained) == 95 and explained[1] == (
        "  64 = moving_mean + moving_variance of batch_normalization_1 (statistics, updated by "
        "moving average)")
