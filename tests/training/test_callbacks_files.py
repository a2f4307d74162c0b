"""Callbacks that write files (CSVLogger, ModelCheckpoint, TensorBoard) driven by hand with a fake model, checked against Keras's
own callbacks driven with the same logs."""

import os
import struct
import sys

import keras
import pytest

from callback_fakes import ACCS, LOSSES, FakeModel, _run_epochs
from thawnet import callbacks as tc

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


# -- CSVLogger ------------------------------------------------------------------------------

def _csv_run(cls, path, logs_seq, **kwargs):
    cb = cls(str(path), **kwargs)
    cb.on_train_begin()
    for epoch, logs in enumerate(logs_seq):
        cb.on_epoch_end(epoch, dict(logs))
    cb.on_train_end()
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("logs_seq,kwargs", [
    ([{"loss": 0.5, "accuracy": 0.25, "val_loss": 0.75, "val_accuracy": 0.125},
      {"loss": 0.1 + 0.2, "accuracy": 1 / 3, "val_loss": 0.5, "val_accuracy": 0.5}], {}),
    ([{"loss": 0.5, "learning_rate": 0.001}, {"loss": 0.25, "learning_rate": 0.0001}],
     {"separator": ";"}),
    ([{"loss": 0.5, "name": "a,b", "vec": [1, 2]}], {}),
])
def test_csv_logger_writes_the_same_bytes_as_keras(tmp_path, logs_seq, kwargs):
    ours = _csv_run(tc.CSVLogger, tmp_path / "ours.csv", logs_seq, **kwargs)
    theirs = _csv_run(keras.callbacks.CSVLogger, tmp_path / "keras.csv", logs_seq, **kwargs)
    assert ours == theirs


def test_csv_logger_contents_and_append(tmp_path):
    path = tmp_path / "log.csv"
    logs_seq = [{"loss": 0.5, "accuracy": 0.75}, {"loss": 0.25, "accuracy": 0.875}]
    _csv_run(tc.CSVLogger, path, logs_seq)
    text = _csv_run(tc.CSVLogger, path, logs_seq[:1], append=True).decode()
    assert text == ("epoch,accuracy,loss,val_accuracy,val_loss\r\n"
                    "0,0.75,0.5,NA,NA\r\n"
                    "1,0.875,0.25,NA,NA\r\n"
                    "0,0.75,0.5,NA,NA\r\n")
    assert _csv_run(tc.CSVLogger, path, logs_seq[:1]).decode().count("epoch") == 1


# -- ModelCheckpoint ------------------------------------------------------------------------

class RecordingKerasSide(FakeModel):
    """Given to Keras's ModelCheckpoint so it records where it would save."""


CHECKPOINT_CASES = [
    ("w.{epoch:02d}-{val_loss:.2f}.weights.h5", dict(save_weights_only=True)),
    ("best.keras", dict(save_best_only=True)),
    ("sub/m.{epoch:03d}.keras", dict(save_best_only=True, monitor="val_accuracy", mode="max")),
    ("m-{epoch}.keras", dict(save_best_only=True, initial_value_threshold=0.79)),
    ("b.{epoch:02d}-{batch:03d}.weights.h5", dict(save_weights_only=True, save_freq=3)),
]


@pytest.mark.parametrize("template,kwargs", CHECKPOINT_CASES)
def test_model_checkpoint_saves_what_keras_saves(tmp_path, template, kwargs):
    logs_seq = [{"loss": 1.0, "val_loss": v, "val_accuracy": a} for v, a in zip(LOSSES, ACCS)]
    saved = []
    for cls, model in [(keras.callbacks.ModelCheckpoint, RecordingKerasSide()),
                       (tc.ModelCheckpoint, FakeModel())]:
        folder = tmp_path / cls.__module__.split(".")[0]
        folder.mkdir()
        # thawnet writes its own formats: .thawnet models, .safetensors weights.
        ours = template.replace(".weights.h5", ".safetensors").replace(".keras", ".thawnet")
        cb = cls(str(folder / (template if cls is keras.callbacks.ModelCheckpoint else ours)),
                 **kwargs)
        cb.set_model(model)
        cb.on_train_begin({})
        for epoch, logs in enumerate(logs_seq):
            cb.on_epoch_begin(epoch, {})
            for batch in range(4):
                cb.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1)})
            cb.on_epoch_end(epoch, dict(logs))
        saved.append([(kind, os.path.relpath(path, folder).replace(".safetensors", ".weights.h5")
                       .replace(".thawnet", ".keras")) for kind, path in model.saved])
    assert saved[1] == saved[0] and saved[1]
    assert all(os.path.exists(tmp_path / "thawnet" / path.replace(".weights.h5", ".safetensors")
                              .replace(".keras", ".thawnet")) for _, path in saved[1])


def test_model_checkpoint_expected_files_state_and_errors(tmp_path, capsys):
    model = FakeModel()
    cb = tc.ModelCheckpoint(str(tmp_path / "w.{epoch:02d}-{val_loss:.2f}.safetensors"),
                            save_weights_only=True, save_best_only=True, verbose=1)
    _run_epochs(cb, model, [{"val_loss": v} for v in [0.5, 0.6, 0.4]], set_weights=False)
    assert sorted(os.listdir(tmp_path)) == ["w.01-0.50.safetensors", "w.03-0.40.safetensors"]
    out = capsys.readouterr().out
    assert "Epoch 2: val_loss did not improve from 0.50000" in out
    assert "Epoch 3: val_loss improved from 0.50000 to 0.40000, saving model to" in out
    assert cb.get_state()["best"] == 0.4
    resumed = tc.ModelCheckpoint(str(tmp_path / "r.thawnet"), save_best_only=True)
    resumed.set_state(cb.get_state())
    resumed.set_model(model)
    resumed.on_epoch_end(3, {"val_loss": 0.45})
    assert not os.path.exists(tmp_path / "r.thawnet")

    with pytest.raises(ValueError, match=".safetensors"):
        tc.ModelCheckpoint("w.h5", save_weights_only=True)
    with pytest.raises(ValueError, match=".thawnet"):
        tc.ModelCheckpoint("model.pkl")
    with pytest.raises(ValueError, match="save_freq"):
        tc.ModelCheckpoint("m.thawnet", save_freq="often")
    with pytest.raises(KeyError, match="Failed to format"):
        bad = tc.ModelCheckpoint(str(tmp_path / "{nope}.thawnet"))
        bad.set_model(model)
        bad.on_epoch_end(0, {"val_loss": 1.0})


def test_model_checkpoint_keeps_only_the_last_k_files(tmp_path):
    model = FakeModel()
    cb = tc.ModelCheckpoint(str(tmp_path / "m.{epoch:02d}.thawnet"), keep=2)
    cb.set_model(model)
    for epoch in range(4):
        cb.on_epoch_end(epoch, {"val_loss": 1.0})
    assert sorted(os.listdir(tmp_path)) == ["m.03.thawnet", "m.04.thawnet"]


# -- TensorBoard ----------------------------------------------------------------------------

def _read_events(folder):
    """(tag, step, value) of every scalar, and the histogram tags, in the event files."""
    from tensorboardX.proto import event_pb2

    scalars, histograms = [], set()
    for name in sorted(os.listdir(folder)):
        if "tfevents" not in name:
            continue
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):  # TFRecord: length, crc, payload, crc
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                if value.HasField("histo"):
                    histograms.add((value.tag, event.step))
                else:
                    scalars.append((value.tag, event.step, value.simple_value))
    return scalars, histograms


def test_tensorboard_writes_keras_layout(tmp_path):
    pytest.importorskip("tensorboardX")
    model = FakeModel(lr=0.01)
    callbacks = tc.CallbackList([tc.TensorBoard(str(tmp_path), histogram_freq=2,
                                                update_freq=2)], model=model, epochs=3, steps=3)
    callbacks.on_train_begin()
    for epoch in range(3):
        callbacks.on_epoch_begin(epoch)
        for batch in range(3):
            callbacks.on_train_batch_begin(batch)
            callbacks.on_train_batch_end(batch, {"loss": 1.0 + batch})
        callbacks.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": 0.5,
                                       "val_loss": 2.0 / (epoch + 1)})
    callbacks.on_train_end()
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, histos = _read_events(tmp_path / "train")
    val, _ = _read_events(tmp_path / "validation")
    epoch_loss = [(step, value) for tag, step, value in train if tag == "epoch_loss"]
    assert epoch_loss == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert [(s, v) for t, s, v in train if t == "epoch_learning_rate"] == [
        (e, pytest.approx(0.01)) for e in range(3)]
    assert [(s, v) for t, s, v in train if t == "epoch_accuracy"] == [(e, 0.5) for e in range(3)]
    assert [(s, v) for t, s, v in train if t == "batch_loss"] == [(2, 2.0), (4, 1.0), (6, 3.0),
                                                                  (8, 2.0)]
    assert sorted((t, s, v) for t, s, v in val) == [
        ("epoch_loss", 0, 2.0), ("epoch_loss", 1, 1.0), ("epoch_loss", 2, pytest.approx(2 / 3))]
    assert histos == {(f"weight_{i}/histogram", e) for i in range(2) for e in (0, 2)}


def test_tensorboard_missing_package_and_unsupported_options(monkeypatch):
    with pytest.raises(NotImplementedError, match="profile_batch"):
        tc.TensorBoard(profile_batch=2)
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        tc.TensorBoard("logs")
