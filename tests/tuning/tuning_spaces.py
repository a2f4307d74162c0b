"""Search spaces and data shared by the tuning tests and their worker subprocesses.

Every test uses the same XOR data shapes and the same small family of architectures, so
each architecture is compiled once per session (the tests share one JAX compile cache).
"""

import os
import time

import numpy as np

import thawnet
from thawnet import layers

N_TRAIN, N_VAL = 64, 32


def spec(name):
    """A worker spec ("FILE.py:FUNCTION") for a function of this file."""
    return f"{os.path.abspath(__file__)}:{name}"


def xor_data(seed=0):
    """XOR-like labels: y = 1 where x0 * x1 > 0. No linear model separates the quadrants."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (N_TRAIN + N_VAL, 2)).astype("float32")
    y = (x[:, 0] * x[:, 1] > 0).astype("float32")
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


def build_xor(hp):
    """0-2 hidden tanh layers; units_k is asked only when the model has a k-th layer."""
    hidden = hp.Int("hidden_layers", 0, 2)
    model = thawnet.Sequential([layers.Input((2,))])
    for k in range(1, hidden + 1):
        model.add(layers.Dense(hp.Choice(f"units_{k}", [8, 16]), activation="tanh"))
    model.add(layers.Dense(1, activation="sigmoid"))
    lr = hp.Float("lr", 0.03, 0.3, log=True)
    model.compile(optimizer=thawnet.optimizers.Adam(lr), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def build_one_layer(hp):
    """One architecture (a hidden layer of 8); only the learning rate is searched."""
    model = thawnet.Sequential([layers.Input((2,)), layers.Dense(8, activation="tanh"),
                                layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=thawnet.optimizers.Adam(hp.Float("lr", 1e-2, 0.2, log=True)),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def build_nothing_asked(hp):
    """A build function with an empty search space."""
    return build_one_layer(type(hp).from_values({"lr": 0.05}))


def build_hangs_in_worker(hp):
    """build_xor, but in a process with THAWNET_TEST_HANG set: write that marker file and
    hang, so the test can kill the worker in the middle of a trial."""
    model = build_xor(hp)
    marker = os.environ.get("THAWNET_TEST_HANG")
    if marker:
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(600)
    return model
