"""A fake model honouring the callback contract, and helpers to drive callbacks by hand
(shared by the callback test files)."""

import keras
import numpy as np

LOSSES = [1.0, 0.8, 0.81, 0.79, 0.795, 0.9, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75]
ACCS = [0.5, 0.6, 0.6, 0.65, 0.64, 0.7, 0.69, 0.68, 0.7, 0.71, 0.6, 0.6]


class FakeModel:
    """The model side of the callback contract. The learning rate is stored as float32, like
    Keras's optimizer variable (and the trainer's optax state)."""

    def __init__(self, n_weights=2, lr=0.1, save_error=None):
        self.name = "fake"
        self.stop_training = False
        self._weights = [np.zeros((2, 1), "f4"), np.zeros((1,), "f4")][:n_weights]
        self._lr = float(np.float32(lr))
        self.saved = []
        self.save_error = save_error

    def get_weights(self):
        return [w.copy() for w in self._weights]

    def set_weights(self, weights):
        self._weights = [np.array(w, "f4") for w in weights]

    def get_learning_rate(self):
        return self._lr

    def set_learning_rate(self, value):
        self._lr = float(np.float32(value))

    def save(self, path, overwrite=True):
        if self.save_error:
            raise self.save_error
        self.saved.append(("model", path))
        with open(path, "w") as f:
            f.write("model")

    def save_weights(self, path, overwrite=True):
        if self.save_error:
            raise self.save_error
        self.saved.append(("weights", path))
        with open(path, "w") as f:
            f.write("weights")


def _keras_model(lr=0.1):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=lr), "mse")
    return model


def _epoch_weights(epoch):
    return [np.full((2, 1), epoch, "f4"), np.full((1,), -epoch, "f4")]


def _run_epochs(callback, model, logs_seq, set_weights=True):
    """Drive a callback through a fit: returns the epoch after which training stopped."""
    callback.set_model(model)
    callback.on_train_begin({})
    stopped_after = None
    for epoch, logs in enumerate(logs_seq):
        callback.on_epoch_begin(epoch, {})
        if set_weights:
            model.set_weights(_epoch_weights(epoch))
        callback.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            stopped_after = epoch
            break
    callback.on_train_end({})
    return stopped_after
