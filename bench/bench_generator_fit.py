"""Throughput of streamed fit (generator, PyDataset) against in-memory fit, same MLP.

A 784-512-512-10 MLP, batch 128, ``--steps`` steps per epoch. Each input is fitted one
epoch per ``fit`` call, the inputs in turn for ``--repeats`` rounds after a compiling one;
an epoch is timed from its begin to its end callback, so per-call costs (checks, the upload
of the arrays) are not timed. The ratio is the median over rounds of in-memory seconds /
streamed seconds of the same round (1.0: streaming costs nothing; the prefetching thread is
meant to keep it >= 0.9).

    python bench/bench_generator_fit.py [--steps 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
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


class _Batches(thawnet.utils.PyDataset):
    def __init__(self, x, y, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x) // BATCH

    def __getitem__(self, index):
        rows = slice(index * BATCH, (index + 1) * BATCH)
        return self.x[rows], self.y[rows]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.steps * BATCH, 784)).astype("float32")
    y = rng.integers(0, 10, size=(args.steps * BATCH,)).astype("int32")
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


if __name__ == "__main__":
    main()
