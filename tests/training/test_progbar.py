"""Progbar and ProgbarLogger: Keras 3's line layouts, throttling, terminal vs log-file output."""

import contextlib
import io
import re

import keras
import numpy as np
import pytest

from thawnet.callbacks import CallbackList, ProgbarLogger
from thawnet.utils.progbar import (Progbar, format_eta, format_time_per_unit, format_value,
                                      is_dynamic_stream)

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BAR = "\u2501" * 20


class Clock:
    """A fake clock advanced by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TTY(io.StringIO):
    def isatty(self):
        return True


def _normalize(text):
    """Visible text with the timings replaced: no colours, no backspaces."""
    text = ANSI.sub("", text).replace("\b", "")
    text = re.sub(r"\d+(\.\d+)?(s|ms|us)/step", "T/step", text)
    text = re.sub(r" (\d+:)?(\d+:)?\d+s( |$)", r" T\3", text)
    return text


def _lines(text):
    """Finished lines of an in-place bar: the last ``\\r`` segment of each ``\\n`` line."""
    return [line.split("\r")[-1].rstrip() for line in text.split("\n") if line]


def _keras_output(fn):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn()
    return buf.getvalue()


# -- formatting helpers ----------------------------------------------------------------------

def test_value_time_and_eta_formats():
    assert format_value(0.69314) == "0.6931"
    assert format_value(-2.5) == "-2.5000"
    assert format_value(1e-4) == "1.0000e-04"
    assert format_value(0.0) == "0.0000e+00"
    assert format_value(np.float32(0.25)) == "0.2500"
    assert format_value(float("nan")) == "nan"
    assert format_time_per_unit(0.0031) == " 3ms/step"
    assert format_time_per_unit(2.4) == " 2s/step"
    assert format_time_per_unit(0) == " 0s/step"
    assert format_time_per_unit(4.2e-5, "sample") == " 42us/sample"
    assert format_eta(5.7) == "5s"
    assert format_eta(65) == "1:05"
    assert format_eta(3665) == "1:01:05"


def test_terminal_bar_exact_layout_with_a_fake_clock():
    clock, out = Clock(), io.StringIO()
    bar = Progbar(32, stream=out, dynamic=True, clock=clock, interval=0.01)
    clock.now += 0.5  # first step: compilation, left out of the per-step time
    bar.update(1, {"accuracy": 0.5, "loss": 0.7})
    clock.now += 11 * 0.003
    bar.update(12, {"accuracy": 0.5123, "loss": 0.6931})
    text = out.getvalue()
    first, second = text.split("\r")[1:]
    assert ANSI.sub("", first) == (" 1/32 " + BAR + " 15s 500ms/step - accuracy: 0.5000 - "
                                   "loss: 0.7000")
    assert ANSI.sub("", second).rstrip() == ("12/32 " + BAR + " 0s 3ms/step - accuracy: 0.5123 - "
                                             "loss: 0.6931")
    # Keras's colours: bold count and time, green done part, white rest.
    assert second.startswith("\x1b[1m12/32\x1b[0m \x1b[32m" + "\u2501" * 7 + "\x1b[0m\x1b[37m"
                             + "\u2501" * 13 + "\x1b[0m \x1b[1m0s\x1b[0m 3ms/step")
    clock.now += 20 * 0.003
    bar.update(32, {"accuracy": 0.9, "loss": 0.3})
    last = out.getvalue().split("\r")[-1]
    assert last.endswith("\n")
    assert ANSI.sub("", last) == "32/32 " + BAR + " 1s 3ms/step - accuracy: 0.9000 - loss: 0.3000\n"


def test_eta_while_running_and_total_time_at_the_end():
    clock, out = Clock(), io.StringIO()
    bar = Progbar(1000, stream=out, dynamic=True, clock=clock)
    clock.now += 1.0
    bar.update(1)
    clock.now += 1.0
    bar.update(2)  # 1 s/step, 998 steps left
    assert ANSI.sub("", out.getvalue().split("\r")[-1]).startswith(
        "   2/1000 " + "\u2501" * 20 + " 16:38 1s/step")


def test_shorter_line_is_padded_to_erase_the_previous_one():
    clock, out = Clock(), io.StringIO()
    bar = Progbar(10, stream=out, dynamic=True, clock=clock)
    bar.update(1, {"loss": 123456.0})
    clock.now += 1
    bar.update(2, {"loss": 1.0})
    first, second = out.getvalue().split("\r")[1:]
    assert len(ANSI.sub("", second)) == len(ANSI.sub("", first))
    assert second.endswith("   ")


def test_terminal_refreshes_are_throttled():
    clock, out = Clock(), io.StringIO()
    bar = Progbar(2000, stream=out, dynamic=True, clock=clock, interval=0.05)
    for step in range(1, 2001):
        clock.now += 0.001  # 2 s in all: at most ~40 refreshes, plus the final one
        bar.update(step, {"loss": 0.5})
    writes = out.getvalue().count("\r")
    assert 30 <= writes <= 45
    assert out.getvalue().endswith("\n")
    assert _lines(ANSI.sub("", out.getvalue()))[-1].startswith("2000/2000")


def test_not_a_terminal_prints_only_the_finished_line():
    clock, out = Clock(), io.StringIO()
    assert not is_dynamic_stream(out) and is_dynamic_stream(TTY())
    bar = Progbar(4, stream=out, clock=clock)
    for step in range(1, 5):
        clock.now += 0.002
        bar.update(step, {"loss": 0.25})
    assert out.getvalue() == "4/4 " + BAR + " 0s 2ms/step - loss: 0.2500\n"


def test_verbose_2_single_line_and_unknown_target():
    clock, out = Clock(), io.StringIO()
    bar = Progbar(32, verbose=2, stream=out, clock=clock)
    for step in range(1, 33):
        clock.now += 0.05
        bar.update(step, {"accuracy": 0.9, "loss": 0.3})
    assert out.getvalue() == "32/32 - 2s - 50ms/step - accuracy: 0.9000 - loss: 0.3000\n"
    out = io.StringIO()
    bar = Progbar(None, stream=out, dynamic=True, clock=clock)
    bar.update(3, {"loss": 1.0})
    assert ANSI.sub("", out.getvalue()) == "\r      3/Unknown 0s 0s/step - loss: 1.0000"


@pytest.mark.parametrize("verbose", [1, 2])
def test_same_layout_as_keras_progbar(verbose):
    values = [(step, [("accuracy", 0.5 + step / 100), ("loss", 1.0 / step),
                      ("tiny", 1e-5 * step)]) for step in range(1, 13)]

    def run_keras():
        bar = keras.utils.Progbar(12, verbose=verbose, stateless_metrics=set())
        for step, vals in values:
            bar.update(step, vals)

    theirs = _keras_output(run_keras)
    out = io.StringIO()
    ours = Progbar(12, verbose=verbose, stream=out, dynamic=True)
    for step, vals in values:
        ours.update(step, vals)
    assert _lines(_normalize(out.getvalue())) == _lines(_normalize(theirs))
    assert _normalize(out.getvalue()).endswith("\n") and _normalize(theirs).endswith("\n")


# -- ProgbarLogger ----------------------------------------------------------------------------

def _drive_fit(callbacks, epochs, steps, batch_logs, epoch_logs, validation=False):
    callbacks.on_train_begin()
    for epoch in range(epochs):
        callbacks.on_epoch_begin(epoch)
        for step in range(steps):
            callbacks.on_train_batch_begin(step)
            callbacks.on_train_batch_end(step, batch_logs[epoch][step])
        if validation:  # fit's validation pass: silent
            callbacks.on_test_begin()
            callbacks.on_test_batch_begin(0)
            callbacks.on_test_batch_end(0, {"loss": 9.0})
            callbacks.on_test_end({"loss": 9.0})
        callbacks.on_epoch_end(epoch, epoch_logs[epoch])
    callbacks.on_train_end()


def _logs(epochs, steps):
    batch = [[{"loss": 1.0 / (e + s + 1)} for s in range(steps)] for e in range(epochs)]
    epoch = [{"loss": 1.0 / (e + steps), "val_loss": 2.0 / (e + 2)} for e in range(epochs)]
    return batch, epoch


@pytest.mark.parametrize("verbose,dynamic", [(1, False), (1, True), (2, False), (0, True)])
def test_progbar_logger_in_fit(verbose, dynamic):
    out = TTY() if dynamic else io.StringIO()
    logger = ProgbarLogger(stream=out)
    callbacks = CallbackList([logger], add_progbar=True, verbose=verbose, epochs=2, steps=3)
    assert len(callbacks) == 1 and callbacks.progbar is logger
    assert logger.needs_batch_logs == (verbose == 1 and dynamic)
    assert callbacks.needs_batch_logs == logger.needs_batch_logs
    _drive_fit(callbacks, 2, 3, *_logs(2, 3), validation=True)
    text = _normalize(out.getvalue())
    if verbose == 0:
        assert text == ""
        return
    if verbose == 2:
        assert text == ("Epoch 1/2\n3/3 - T - T/step - loss: 0.3333 - val_loss: 1.0000\n"
                        "Epoch 2/2\n3/3 - T - T/step - loss: 0.2500 - val_loss: 0.6667\n")
        return
    expected = ["Epoch 1/2", "3/3 " + BAR + " T T/step - loss: 0.3333 - val_loss: 1.0000",
                "Epoch 2/2", "3/3 " + BAR + " T T/step - loss: 0.2500 - val_loss: 0.6667"]
    assert _lines(text) == expected
    assert ("\r" in out.getvalue()) == dynamic
    assert "9.0000" not in text  # validation batches are not shown


def test_progbar_logger_single_epoch_has_no_epoch_line_and_unknown_steps():
    out = io.StringIO()
    callbacks = CallbackList([ProgbarLogger(stream=out)], verbose=2, epochs=1, steps=None)
    _drive_fit(callbacks, 1, 4, [[{"loss": 1.0}] * 4], [{"loss": 0.5}])
    assert _normalize(out.getvalue()) == "4/4 - T - T/step - loss: 0.5000\n"


def test_progbar_logger_evaluate_and_predict():
    out = TTY()
    callbacks = CallbackList([ProgbarLogger(stream=out)], verbose=1, epochs=1, steps=2)
    callbacks.on_test_begin()
    for step in range(2):
        callbacks.on_test_batch_begin(step)
        callbacks.on_test_batch_end(step, {"loss": 0.5, "accuracy": 0.75})
    callbacks.on_test_end({"loss": 0.5, "accuracy": 0.75})
    callbacks.on_predict_begin()
    for step in range(2):
        callbacks.on_predict_batch_begin(step)
        callbacks.on_predict_batch_end(step, {"outputs": np.zeros(3)})
    callbacks.on_predict_end()
    assert _lines(_normalize(out.getvalue())) == [
        "2/2 " + BAR + " T T/step - loss: 0.5000 - accuracy: 0.7500",
        "2/2 " + BAR + " T T/step"]


def test_same_fit_output_as_keras(tmp_path):
    """Replay a Keras fit's own logs through our CallbackList: same lines as Keras printed."""
    rng = np.random.default_rng(0)
    x = rng.random((24, 3)).astype("f4")
    y = (x.sum(axis=1) > 1.5).astype("f4")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    for verbose in (1, 2):
        recorded = {"batch": [], "epoch": []}
        recorder = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: recorded["batch"].append([]),
            on_train_batch_end=lambda batch, logs: recorded["batch"][-1].append(dict(logs)),
            on_epoch_end=lambda epoch, logs: recorded["epoch"].append(dict(logs)))
        theirs = _keras_output(lambda: model.fit(x, y, batch_size=4, epochs=2, verbose=verbose,
                                                 validation_split=0.25, callbacks=[recorder]))
        out = io.StringIO()
        callbacks = CallbackList([ProgbarLogger(stream=out, dynamic=True)], add_history=True,
                                 verbose=verbose, epochs=2, steps=5)
        _drive_fit(callbacks, 2, 5, recorded["batch"], recorded["epoch"], validation=True)
        assert _lines(_normalize(out.getvalue())) == _lines(_normalize(theirs))
        assert callbacks.history.history["val_accuracy"] == [
            logs["val_accuracy"] for logs in recorded["epoch"]]
