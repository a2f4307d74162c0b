"""BackupAndRestore writes and reads Keras 3's backup files (``latest.weights.h5``,
``training_metadata.json``, their ``.bkp`` copies), so a backup folder moves between Keras 3
and thawnet in both directions; Keras's arguments and errors."""

import json
import os

import keras
import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl

RNG = np.random.default_rng(3)
X = RNG.normal(size=(12, 3)).astype("f4")   # 3 batches of 4
Y = RNG.normal(size=(12, 1)).astype("f4")


class Interrupt(Exception):
    pass


class StopAfterEpochs:
    """A callback of either library that raises at the end of its ``n``-th epoch."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    def on_epoch_end(self, epoch, logs=None):
        self.seen += 1
        if self.seen == self.n:
            raise Interrupt(f"interrupted after epoch {epoch}")


class ThawnetStop(StopAfterEpochs, cb.Callback):
    def __init__(self, n):
        cb.Callback.__init__(self)
        StopAfterEpochs.__init__(self, n)


class KerasStop(StopAfterEpochs, keras.callbacks.Callback):
    def __init__(self, n):
        keras.callbacks.Callback.__init__(self)
        StopAfterEpochs.__init__(self, n)


class WeightsAtStart(cb.Callback):
    """The model's kernel when training (after any restore) begins."""

    def on_train_begin(self, logs=None):
        self.kernel = np.asarray(self.model.layers[0].kernel.value)


def _thawnet_model():
    thawnet.set_random_seed(0)
    model = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(1, name="d")])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _keras_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, name="d")])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _read(path):
    with open(path) as f:
        return json.load(f)


def test_thawnet_backup_holds_keras_files_that_keras_resumes_from(tmp_path):
    backup = str(tmp_path / "b")
    model = _thawnet_model()
    with pytest.raises(Interrupt):
        model.fit(X, Y, batch_size=4, epochs=5, verbose=0, shuffle=False,
                  callbacks=[cb.BackupAndRestore(backup, double_checkpoint=True),
                             ThawnetStop(3)])
    names = set(os.listdir(backup))
    assert {"latest.weights.h5", "training_metadata.json", "latest.weights.h5.bkp",
            "training_metadata.json.bkp"} <= names
    # Keras's schedule: written at each epoch end, the .bkp one epoch behind.
    assert _read(os.path.join(backup, "training_metadata.json")) == {"epoch": 3, "batch": 0}
    assert _read(os.path.join(backup, "training_metadata.json.bkp")) == {"epoch": 2, "batch": 0}
    # Keras 3's BackupAndRestore continues from it: the weights at epoch 3, epochs 3 and 4.
    k = _keras_model()
    history = k.fit(X, Y, batch_size=4, epochs=5, verbose=0, shuffle=False,
                    callbacks=[keras.callbacks.BackupAndRestore(backup,
                                                                delete_checkpoint=False)])
    assert history.epoch == [3, 4]
    reference = _keras_model()
    reference.load_weights(os.path.join(tmp_path, "b", "latest.weights.h5"))  # now epoch 5
    np.testing.assert_array_equal(k.get_weights()[0], reference.get_weights()[0])
    np.testing.assert_array_equal(k.predict(X, verbose=0), reference.predict(X, verbose=0))


def test_thawnet_resumes_from_a_keras_backup_folder(tmp_path):
    backup = str(tmp_path / "kb")
    k = _keras_model()
    with pytest.raises(Interrupt):
        k.fit(X, Y, batch_size=4, epochs=5, verbose=0, shuffle=False,
              callbacks=[keras.callbacks.BackupAndRestore(backup), KerasStop(2)])
    keras_kernel = k.layers[0].get_weights()[0]
    start = WeightsAtStart()
    model = _thawnet_model()
    history = model.fit(X, Y, batch_size=4, epochs=5, verbose=0, shuffle=False,
                        callbacks=[cb.BackupAndRestore(backup), start])
    assert history.epoch == [2, 3, 4]              # Keras's recorded epoch: 2
    np.testing.assert_array_equal(start.kernel, keras_kernel)
    assert not os.path.exists(backup)               # delete_checkpoint=True: removed at the end


def test_an_unreadable_keras_backup_falls_back_to_its_bkp(tmp_path):
    backup = str(tmp_path / "kb")
    k = _keras_model()
    with pytest.raises(Interrupt):
        k.fit(X, Y, batch_size=4, epochs=5, verbose=0, shuffle=False,
              callbacks=[keras.callbacks.BackupAndRestore(backup, double_checkpoint=True),
                         KerasStop(3)])
    previous = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, name="d")])
    copy = str(tmp_path / "previous.weights.h5")   # Keras reads a .bkp only under its name
    with open(os.path.join(backup, "latest.weights.h5.bkp"), "rb") as src, open(copy, "wb") as f:
        f.write(src.read())
    previous.load_weights(copy)
    with open(os.path.join(backup, "latest.weights.h5"), "w") as f:
        f.write("0")                                # corrupted
    start = WeightsAtStart()
    with pytest.warns(UserWarning, match="resuming from the previous backup"):
        history = _thawnet_model().fit(X, Y, batch_size=4, epochs=4, verbose=0,
                                       callbacks=[cb.BackupAndRestore(backup), start])
    assert history.epoch == [2, 3]                 # the .bkp metadata: epoch 2
    np.testing.assert_array_equal(start.kernel, previous.layers[0].get_weights()[0])


def test_keras_arguments_and_attributes(tmp_path):
    backup = cb.BackupAndRestore(str(tmp_path / "x"), "epoch", True, False)
    assert (backup.double_checkpoint, backup.delete_checkpoint) == (True, False)
    assert backup._weights_path == os.path.join(str(tmp_path / "x"), "latest.weights.h5")
    assert backup._prev_training_metadata_path.endswith("training_metadata.json.bkp")
    for empty in ("", None):
        with pytest.raises(ValueError, match=r"empty backup_dir argument passed \(received "):
            cb.BackupAndRestore(empty)
    for bad in ("batch", 0.15, 0):
        with pytest.raises(ValueError, match="invalid value for save_freq"):
            cb.BackupAndRestore("b", save_freq=bad)
