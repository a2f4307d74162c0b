"""predict() on a single sample: thawnet vs Keras 3 (JAX), MLP 784-512-512-10.

    python bench/bench_predict.py
"""

import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import thawnet  # noqa: E402
from thawnet import layers as tl  # noqa: E402


def build(L, M):
    return M([L.Input(shape=(784,)), L.Dense(512, activation="relu"),
              L.Dense(512, activation="relu"), L.Dense(10)])


def per_call(fn, n=300):
    fn()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def main():
    x = np.random.default_rng(0).normal(size=(1, 784)).astype("f4")
    ours, theirs = build(tl, thawnet.Sequential), build(keras.layers, keras.Sequential)
    results = {
        "thawnet predict": per_call(lambda: ours.predict(x, verbose=0)),
        "thawnet model(x)": per_call(lambda: np.asarray(ours(x))),
        "keras predict": per_call(lambda: theirs.predict(x, verbose=0), n=100),
        "keras model(x)": per_call(lambda: np.asarray(theirs(x)), n=100),
    }
    base = results["keras predict"]
    for name, t in results.items():
        print(f"  {name:18s} {t * 1e3:8.3f} ms   ({t / base:.3f} of Keras predict)")


if __name__ == "__main__":
    main()
