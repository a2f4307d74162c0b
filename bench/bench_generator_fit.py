"""Throughput of streamed fit (generator, PyDataset) against in-memory fit, same MLP.

A 784-512-512-10 MLP, batch 128, ``--steps`` steps per epoch. Each input is fitted one
epoch per ``fit`` call, the inputs in turn for ``--repeats`` rounds after a compiling one;
an epoch is timed from its begin to its end callback, so per-call costs (checks, the upload
of the arrays) are not timed. The ratio is the median over rounds of in-memory seconds /
streamed seconds of the same round (1.0: streaming costs nothing; the prefetching thread is
meant to keep it >= 0.9).

Keras 3 (JAX backend) is then fed the same PyDataset (the same batch code, on Keras's
``keras.utils.PyDataset`` base) and the same arrays, in its own subprocess so the two
libraries never share a process; thawnet's steps/s over Keras's are printed.

    python bench/bench_generator_fit.py [--steps 300] [--repeats 3] [--no-keras]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import thawnet  # noqa: E402

BATCH = 128


def _model():
    thawnet.clear_session()
    model = thawnet.Sequential([
        thawnet.Input((784,)), thawnet.layers.Dense(512, activation="relu"),
        thawnet.layers.Dense(512, activation="relu"), thawnet.layers.Dense(10)])
    model.compile("adam", thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _batches_class(base):
    """The benchmark's PyDataset on ``base`` (thawnet's or Keras's): the same batch code."""

    class Batches(base):
        def __init__(self, x, y, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y = x, y

        def __len__(self):
            return len(self.x) // BATCH

        def __getitem__(self, index):
            rows = slice(index * BATCH, (index + 1) * BATCH)
            return self.x[rows], self.y[rows]
    return Batches


_Batches = _batches_class(thawnet.utils.PyDataset)


def _generator(x, y, epochs):
    for _ in range(epochs):
        for start in range(0, len(x), BATCH):
            yield x[start:start + BATCH], y[start:start + BATCH]


class _EpochClock(thawnet.callbacks.Callback):
    """Seconds of each epoch (the epoch's logs are read at its end: a device sync)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _interleaved(fits, rounds):
    """Epoch seconds of each fit, run in turn for ``rounds`` rounds after a compiling one,
    so that a load change on a shared machine hits every input alike."""
    seconds = {name: [] for name in fits}
    for round_ in range(rounds + 1):
        for name, fit in fits.items():
            clock = _EpochClock()
            fit(1, [clock])
            if round_:
                seconds[name].append(clock.seconds[0])
    return seconds


def _data(steps):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps * BATCH, 784)).astype("float32")
    y = rng.integers(0, 10, size=(steps * BATCH,)).astype("int32")
    return x, y


def _keras_run(steps, repeats) -> dict:
    """In this (separate) process: Keras 3's epoch seconds for arrays and the PyDataset."""
    import keras

    x, y = _data(steps)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    data = _batches_class(keras.utils.PyDataset)(x, y, workers=1)
    fits = {"in-memory arrays": lambda c: model.fit(x, y, batch_size=BATCH, epochs=1,
                                                    verbose=0, shuffle=False, callbacks=c),
            "PyDataset (workers=1)": lambda c: model.fit(data, epochs=1, verbose=0,
                                                         shuffle=False, callbacks=c)}
    seconds = {name: [] for name in fits}
    for round_ in range(repeats + 1):
        for name, fit in fits.items():
            clock = Clock()
            fit([clock])
            if round_:
                seconds[name].append(clock.seconds)
    return seconds


def _keras_seconds(steps, repeats) -> dict:
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run([sys.executable, __file__, "--keras-child", "--steps", str(steps),
                          "--repeats", str(repeats)], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-keras", action="store_true", help="skip the Keras 3 run")
    parser.add_argument("--keras-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.keras_child:
        print(json.dumps(_keras_run(args.steps, args.repeats)))
        return
    x, y = _data(args.steps)
    model = _model()
    steps = args.steps

    def arrays(epochs, callbacks):
        model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=False, audit=False,
                  callbacks=callbacks)

    def generator(epochs, callbacks):
        model.fit(_generator(x, y, epochs), epochs=epochs, steps_per_epoch=steps, verbose=0,
                  audit=False, callbacks=callbacks)

    def pydataset(workers):
        data = _Batches(x, y, workers=workers)
        return lambda epochs, callbacks: model.fit(data, epochs=epochs, verbose=0,
                                                   shuffle=False, audit=False,
                                                   callbacks=callbacks)

    seconds = _interleaved({"in-memory arrays": arrays, "generator": generator,
                            "PyDataset (workers=1)": pydataset(1),
                            "PyDataset (workers=4)": pydataset(4)}, args.repeats)
    base = np.array(seconds["in-memory arrays"])
    print(f"MLP 784-512-512-10, batch {BATCH}, {steps} steps per epoch, {args.repeats} "
          f"interleaved rounds, on {jax.devices()[0].platform}")
    for name, times in seconds.items():
        ratio = float(np.median(base / np.array(times)))  # same round, same load
        print(f"{name:24s} {steps / min(times):8.1f} steps/s (best)  median ratio vs "
              f"in-memory {ratio:5.2f}x")
    if args.no_keras:
        return
    keras_seconds = _keras_seconds(steps, args.repeats)
    print("Keras 3 (JAX backend), same data, own process:")
    for name, times in keras_seconds.items():
        ours = steps / min(seconds[name])
        theirs = steps / min(times)
        print(f"{name:24s} {theirs:8.1f} steps/s (best)  thawnet / Keras {ours / theirs:5.2f}x")


if __name__ == "__main__":
    main()
