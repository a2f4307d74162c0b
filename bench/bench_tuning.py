"""Search throughput: trials per minute of a small MLP search, thawnet.tuning vs KerasTuner.

Both search the same space (1-2 hidden layers of 16/32 units, log-uniform learning rate) on
the same data (512 samples, 8 features, binary labels), with random search, no pruning,
objective val_loss, the same epochs and batch size. Each runs in its own process (a fresh
JAX), one after the other in this run. thawnet runs twice: with its default persistent
compile cache (a fresh folder: each architecture compiles once) and with it turned off.

    python bench/bench_tuning.py            # 12 trials of 5 epochs each
    TRIALS=20 EPOCHS=10 python bench/bench_tuning.py

Needs: pip install optuna keras-tuner (keras-tuner only for this benchmark).
"""

import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
TRIALS = int(os.environ.get("TRIALS", "12"))
EPOCHS = int(os.environ.get("EPOCHS", "5"))
BATCH = 32


def data():
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.standard_normal((640, 8)).astype("float32")
    y = ((x[:, 0] * x[:, 1] + x[:, 2]) > 0).astype("float32")
    return (x[:512], y[:512]), (x[512:], y[512:])


def run_thawnet(directory, compile_cache):
    import thawnet
    from thawnet import layers
    from thawnet.tuning import Tuner

    def build(hp):
        model = thawnet.Sequential([layers.Input((8,))])
        for k in range(hp.Int("hidden_layers", 1, 2)):
            model.add(layers.Dense(hp.Choice(f"units_{k}", [16, 32]), activation="relu"))
        model.add(layers.Dense(1, activation="sigmoid"))
        model.compile(optimizer=thawnet.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, log=True)),
                      loss="binary_crossentropy", metrics=["accuracy"])
        return model

    (x, y), val = data()
    tuner = Tuner(build, objective="val_loss", max_trials=TRIALS, sampler="random",
                  pruner=None, seed=0, directory=directory, compile_cache=compile_cache)
    start = time.perf_counter()
    tuner.search(x, y, validation_data=val, epochs=EPOCHS, batch_size=BATCH)
    return time.perf_counter() - start, tuner.best_trial().value


def run_keras_tuner(directory):
    import keras
    import keras_tuner

    def build(hp):
        model = keras.Sequential([keras.layers.Input((8,))])
        for k in range(hp.Int("hidden_layers", 1, 2)):
            model.add(keras.layers.Dense(hp.Choice(f"units_{k}", [16, 32]), activation="relu"))
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1,
                                                                sampling="log")),
                      loss="binary_crossentropy", metrics=["accuracy"])
        return model

    (x, y), val = data()
    tuner = keras_tuner.RandomSearch(build, objective="val_loss", max_trials=TRIALS, seed=0,
                                     directory=directory, project_name="bench", overwrite=True)
    start = time.perf_counter()
    tuner.search(x, y, validation_data=val, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    best = tuner.oracle.get_best_trials(1)[0].score
    return time.perf_counter() - start, best


def child(which):
    with tempfile.TemporaryDirectory() as directory:
        if which == "keras_tuner":
            seconds, best = run_keras_tuner(directory)
        else:
            seconds, best = run_thawnet(directory, compile_cache=which == "thawnet")
    print(f"RESULT {seconds:.3f} {best:.4f}")


def main():
    rows = {}
    for which in ("thawnet", "thawnet_no_cache", "keras_tuner"):
        proc = subprocess.run([sys.executable, __file__, which], capture_output=True,
                              text=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
        if proc.returncode != 0 or not line:
            print(f"{which}: failed\n{proc.stderr[-2000:]}")
            continue
        seconds, best = map(float, line[-1].split()[1:])
        rows[which] = TRIALS / seconds * 60
        print(f"{which:>17}: {TRIALS} trials x {EPOCHS} epochs in {seconds:6.1f} s = "
              f"{rows[which]:6.1f} trials/min (best val_loss {best:.4f})")
    if "keras_tuner" in rows:
        for which in ("thawnet", "thawnet_no_cache"):
            if which in rows:
                print(f"{which} / keras_tuner trials per minute: "
                      f"{rows[which] / rows['keras_tuner']:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(sys.argv[1])
    else:
        main()
