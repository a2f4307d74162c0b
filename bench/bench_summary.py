"""summary() of a 30-layer CNN and of a 100M-parameter MLP: thawnet vs Keras 3 (JAX backend).

Each side builds the model from scratch and prints its summary (to a string); Keras must
create its weights to do so, thawnet only traces shapes. Also: eager ``model(x)`` and a jitted
``stateless_call`` on a 1-sample batch against Keras's ``model(x)``.

    python bench/bench_summary.py
"""

import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import thawnet  # noqa: E402
from thawnet import layers as tl  # noqa: E402


def cnn(L, M):
    x = inputs = L.Input(shape=(64, 64, 3))
    for i in range(10):
        x = L.Conv2D(32, 3, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    return M(inputs, L.Dense(10)(x))


def mlp(L, M, units=10_000):
    x = inputs = L.Input(shape=(units,))
    return M(inputs, L.Dense(units)(x))


def timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def summary_time(build, L, M):
    def run():
        lines = []
        build(L, M).summary(print_fn=lambda *a, **k: lines.append(a[0] if a else ""))
    return timed(run)


def main():
    print(f"jax {jax.__version__}, keras {keras.__version__}, devices {jax.devices()}")
    for label, build in (("30-layer CNN", cnn), ("100M-param MLP", mlp)):
        ours = summary_time(build, tl, thawnet.Model)
        theirs = summary_time(build, keras.layers, keras.Model)
        print(f"summary {label:15s}: thawnet {ours * 1e3:8.1f} ms   keras {theirs * 1e3:8.1f} ms"
              f"   ratio {theirs / ours:6.1f}x")

    def small(L, M):
        x = inputs = L.Input(shape=(784,))
        x = L.Dense(128, activation="relu")(x)
        x = L.Dense(128, activation="relu")(x)
        return M(inputs, L.Dense(10)(x))

    ours, theirs = small(tl, thawnet.Model), small(keras.layers, keras.Model)
    x = np.random.default_rng(0).normal(size=(1, 784)).astype("f4")
    ours(x).block_until_ready()
    theirs(x)
    n = 300
    t_ours = timed(lambda: [ours(x).block_until_ready() for _ in range(n)]) / n
    t_theirs = timed(lambda: [np.asarray(theirs(x)) for _ in range(n)]) / n
    tr, nt = ours.trainable_split()
    values = {p: v.value for p, v in ours.variables_by_path().items()}
    t_map, n_map = {p: values[p] for p in tr}, {p: values[p] for p in nt}
    fn = jax.jit(lambda t, n, x: ours.stateless_call(t, n, x)[0])
    fn(t_map, n_map, x).block_until_ready()
    t_jit = timed(lambda: [fn(t_map, n_map, x).block_until_ready() for _ in range(n)]) / n
    print(f"1-sample call MLP 784-128-128-10: thawnet model(x) {t_ours * 1e3:.3f} ms, "
          f"jit stateless_call {t_jit * 1e3:.3f} ms, keras model(x) {t_theirs * 1e3:.3f} ms "
          f"(ratio keras/thawnet eager {t_theirs / t_ours:.1f}x)")


if __name__ == "__main__":
    main()
