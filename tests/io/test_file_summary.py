"""`thawnet summary <file>`: architecture and weight table from headers, no arrays loaded."""

import keras
import numpy as np

import thawnet
from thawnet import layers as tl
from thawnet.io.file_summary import summarize_file


def _lines(path):
    out = []
    summarize_file(str(path), print_fn=out.append)
    return out


def test_native_file_summary_shows_counts_roles_and_trainable_flags(tmp_path):
    model = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(3, trainable=False, name="frozen"),
                                tl.BatchNormalization(name="bn"), tl.Dense(1, name="head")])
    model.save(str(tmp_path / "m.thawnet"))
    model.save_weights(str(tmp_path / "m.safetensors"))
    lines = _lines(tmp_path / "m.thawnet")
    assert "Non-trainable params: 21" in lines and "Trainable params: 10" in lines
    row = [line.split() for line in lines if line.strip().startswith("bn/moving_mean")][0]
    assert row[1:3] == ["statistic", "N"]
    frozen = [line.split() for line in lines if line.strip().startswith("frozen/kernel")][0]
    assert frozen[1:3] == ["parameter", "N"]
    assert _lines(tmp_path / "m.safetensors")[-1].strip() == "8 arrays, 31 values"


def test_keras_files_summaries(tmp_path):
    theirs = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2, name="d"),
                               keras.layers.BatchNormalization(name="b")])
    theirs.save(str(tmp_path / "k.keras"))
    theirs.save_weights(str(tmp_path / "k.weights.h5"))
    lines = _lines(tmp_path / "k.keras")
    assert "Total params: 18" in lines and "Non-trainable params: 4" in lines
    h5 = _lines(tmp_path / "k.weights.h5")
    assert h5[-1].strip() == "6 arrays, 18 values"
    assert np.isclose(len([line for line in h5 if "vars" in line]), 6)
