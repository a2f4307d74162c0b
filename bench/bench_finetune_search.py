"""Fine-tuning search throughput: trials per minute of the same search over how many top
blocks of a pretrained MobileNetV2 to train and at which learning rate, run three ways:

* thawnet ``FineTuneSearch``: one base in memory, restored bit-exact before each trial, one
  model per head, compiled steps reused by trials with the same trainable split;
* thawnet ``Tuner`` rebuilding the base in every trial (build, load the pretrained
  ``.weights.h5``, freeze, head, compile), as a KerasTuner script does;
* KerasTuner + Keras 3 (JAX backend), the same rebuild-per-trial search, when
  ``keras_tuner`` is importable (its own subprocess).

Data: scikit-learn's bundled digits, 8x8 upsampled to 32x32x3. Base: MobileNetV2 at 32x32,
``alpha=0.35``, ``include_top=False, pooling="avg"``, its weights (random here: nothing is
downloaded) written once to a ``.weights.h5`` that every rebuilding trial loads. Search: the
grid unfreeze_top in {0, 1, 2} blocks x learning rate in {1e-3, 3e-4, 1e-4}, the same trials in the
same order for the three runs, 1 epoch each, head Dense(10, softmax). Each run is a fresh
process (a fresh JAX).

    python bench/bench_finetune_search.py             # 9 trials, 800 train / 200 val images
    EPOCHS=2 N_TRAIN=1200 python bench/bench_finetune_search.py
"""

import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
EPOCHS = int(os.environ.get("EPOCHS", "1"))
N_TRAIN = int(os.environ.get("N_TRAIN", "800"))
N_VAL = 200
BATCH = 64
UNFREEZE = [0, 1, 2]
LRS = [1e-3, 3e-4, 1e-4]
GRID = [(top, lr) for top in UNFREEZE for lr in LRS]


def digits():
    import numpy as np
    from sklearn.datasets import load_digits
    data = load_digits()
    x = np.kron(data.images / 16.0, np.ones((4, 4)))[..., None].repeat(3, -1).astype("float32")
    y = data.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:N_TRAIN + N_VAL], y[N_TRAIN:N_TRAIN + N_VAL])


def thawnet_base():
    import thawnet
    return thawnet.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                            include_top=False, pooling="avg")


def prepare(directory):
    """Write the "pretrained" weights file and the blocks (every run uses the same)."""
    from thawnet.tuning.finetune_space import resolve_blocks
    base = thawnet_base()
    path = os.path.join(directory, "base.weights.h5")
    base.save_weights(path)
    blocks = resolve_blocks(base)
    with open(os.path.join(directory, "blocks.json"), "w") as f:
        json.dump(blocks, f)
    return path, blocks


def freeze_top(base, blocks, top):
    """Train only the top ``top`` blocks (the same rule in thawnet and Keras models)."""
    trained = {name for block in blocks[len(blocks) - top:] for name in block}
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name in trained


def run_reuse(directory):
    import thawnet
    from thawnet.tuning import FineTuneSearch
    (x, y), val = digits()
    path, blocks = prepare(directory)
    thawnet.clear_session()
    base = thawnet_base()
    base.load_weights(path)
    start = time.perf_counter()
    search = FineTuneSearch(base, lambda hp, f: thawnet.layers.Dense(10, activation="softmax")(f),
                            objective="val_accuracy", max_trials=len(GRID), unfreeze_top=UNFREEZE,
                            learning_rates=LRS, sampler="random", directory=directory)
    for top, lr in GRID:
        search.study.enqueue_trial({"unfreeze_top": top, "learning_rate": lr,
                                    "base_lr_multiplier": 1.0, "lora_rank": 0})
    search.search(x, y, validation_data=val, epochs=EPOCHS, batch_size=BATCH)
    seconds = time.perf_counter() - start
    trials = search.trials()
    return {"seconds": seconds, "values": [t.value for t in trials],
            "trial_seconds": [t.user_attrs["seconds"] for t in trials],
            "cache": [t.user_attrs["step_cache"] for t in trials],
            "trainable": [t.user_attrs["trainable_params"] for t in trials]}


def run_rebuild(directory):
    import thawnet
    from thawnet.tuning import Tuner
    (x, y), val = digits()
    path, blocks = prepare(directory)

    def build(hp):
        top, lr = hp.Choice("unfreeze_top", UNFREEZE), hp.Choice("learning_rate", LRS)
        base = thawnet_base()
        base.load_weights(path)
        freeze_top(base, blocks, top)
        inputs = thawnet.Input((32, 32, 3))
        outputs = thawnet.layers.Dense(10, activation="softmax")(base(inputs, training=False))
        model = thawnet.Model(inputs, outputs)
        model.compile(optimizer=thawnet.optimizers.Adam(lr),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    start = time.perf_counter()
    tuner = Tuner(build, objective="val_accuracy", max_trials=len(GRID), sampler="random",
                  pruner=None, directory=directory, study_name="rebuild")
    for top, lr in GRID:
        tuner.study.enqueue_trial({"unfreeze_top": top, "learning_rate": lr})
    tuner.search(x, y, validation_data=val, epochs=EPOCHS, batch_size=BATCH)
    return {"seconds": time.perf_counter() - start,
            "values": [t.value for t in tuner.trials()],
            "trial_seconds": [t.user_attrs["seconds"] for t in tuner.trials()]}


def run_keras_tuner(directory, path):
    import keras
    import keras_tuner
    (x, y), val = digits()
    with open(os.path.join(os.path.dirname(path), "blocks.json")) as f:
        blocks = json.load(f)

    def build(hp):
        top, lr = hp.Choice("unfreeze_top", UNFREEZE), hp.Choice("learning_rate", LRS)
        base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                              include_top=False, pooling="avg", weights=None)
        base.load_weights(path)
        freeze_top(base, blocks, top)
        inputs = keras.Input((32, 32, 3))
        outputs = keras.layers.Dense(10, activation="softmax")(base(inputs, training=False))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(lr),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    start = time.perf_counter()
    tuner = keras_tuner.GridSearch(build, objective="val_accuracy", max_trials=len(GRID),
                                   directory=directory, project_name="kt", overwrite=True)
    tuner.search(x, y, validation_data=val, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    return {"seconds": time.perf_counter() - start, "trials": len(tuner.oracle.trials)}


def _child(mode, directory, path=""):
    out = subprocess.run([sys.executable, __file__, "--child", mode, directory, path],
                         capture_output=True, text=True, env=dict(os.environ))
    if out.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("reuse", "rebuild"):
            os.makedirs(os.path.join(tmp, mode))
            rows[mode] = _child(mode, os.path.join(tmp, mode))
            print(f"{mode}: {json.dumps(rows[mode])}", flush=True)
        try:
            import keras_tuner  # noqa: F401
            have_kt = True
        except ImportError:
            have_kt = False
            print("keras_tuner not importable: KerasTuner run skipped (pip install keras-tuner)")
        if have_kt:
            os.makedirs(os.path.join(tmp, "kt"))
            weights = os.path.join(tmp, "reuse", "base.weights.h5")
            rows["kerastuner"] = _child("kerastuner", os.path.join(tmp, "kt"), weights)
            print(f"kerastuner: {json.dumps(rows['kerastuner'])}", flush=True)
    per_min = {k: len(GRID) / v["seconds"] * 60 for k, v in rows.items()}
    print(f"\n{len(GRID)} trials, {EPOCHS} epoch(s), {N_TRAIN} train / {N_VAL} val images")
    for k, v in rows.items():
        print(f"  {k:<11} {v['seconds']:8.1f} s  {per_min[k]:6.2f} trials/min")
    print(f"  reuse / rebuild: {per_min['reuse'] / per_min['rebuild']:.2f}x")
    if "kerastuner" in per_min:
        print(f"  reuse / KerasTuner: {per_min['reuse'] / per_min['kerastuner']:.2f}x; "
              f"rebuild / KerasTuner: {per_min['rebuild'] / per_min['kerastuner']:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, directory, path = sys.argv[2], sys.argv[3], sys.argv[4]
        if mode == "kerastuner":
            result = run_keras_tuner(directory, path)
        else:
            os.environ.setdefault("JAX_PLATFORMS", "cpu")
            result = {"reuse": run_reuse, "rebuild": run_rebuild}[mode](directory)
        print(json.dumps(result))
    else:
        main()
