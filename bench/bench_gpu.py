"""ResNet50 / MobileNetV2 on one GPU: thawnet vs Keras 3 (JAX backend), same card, same run.

Train: images/s of the second ``fit`` call (1,024 synthetic 224x224x3 images, SGD): ResNet50 at
batch 32 (float32), and at batch 128 under the ``mixed_bfloat16`` policy (compute in bfloat16,
variables float32), the issue #15 cases.
Inference: images/s of the second ``predict`` call on the same images (batch 32). Keras is skipped (and said so) when it cannot
be imported on the machine.

    python bench/bench_gpu.py
"""

import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
import jax  # noqa: E402
import numpy as np  # noqa: E402

N, B = 1024, 32


def data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((N, 224, 224, 3), dtype=np.float32),
            rng.integers(0, 1000, N).astype(np.int32))


def timed_fit(model, x, y, batch_size=B):
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    t = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return N / (time.perf_counter() - t)


def mixed_fit(lib, policy_module, x, y):
    """ResNet50 fit at batch 128 under mixed_bfloat16; the policy is reset afterwards."""
    policy_module.set_global_policy("mixed_bfloat16")
    try:
        model = lib.applications.ResNet50(weights=None)
        model.compile(optimizer=lib.optimizers.SGD(0.01),
                      loss="sparse_categorical_crossentropy")
        return timed_fit(model, x, y, batch_size=128)
    finally:
        policy_module.set_global_policy("float32")


def timed_predict(model, x):
    model.predict(x, batch_size=B, verbose=0)
    t = time.perf_counter()
    model.predict(x, batch_size=B, verbose=0)
    return N / (time.perf_counter() - t)


def run_thawnet(x, y):
    import thawnet
    out = {}
    for name in ("resnet50", "mobilenet_v2"):
        t = time.perf_counter()
        model = thawnet.applications.by_name(name)()
        model.get_weights()
        out[f"{name} build+init s"] = time.perf_counter() - t
        out[f"{name} predict img/s"] = timed_predict(model, x)
        if name == "resnet50":
            model.compile(optimizer=thawnet.optimizers.SGD(0.01),
                          loss="sparse_categorical_crossentropy")
            out["resnet50 fit img/s"] = timed_fit(model, x, y)
        del model
    out["resnet50 fit b128 mixed_bfloat16 img/s"] = mixed_fit(thawnet, thawnet.mixed_precision,
                                                              x, y)
    return out


def run_keras(x, y):
    import keras
    out = {}
    for name, cls in (("resnet50", keras.applications.ResNet50),
                      ("mobilenet_v2", keras.applications.MobileNetV2)):
        t = time.perf_counter()
        model = cls(weights=None)
        out[f"{name} build+init s"] = time.perf_counter() - t
        out[f"{name} predict img/s"] = timed_predict(model, x)
        if name == "resnet50":
            model.compile(optimizer=keras.optimizers.SGD(0.01),
                          loss="sparse_categorical_crossentropy")
            out["resnet50 fit img/s"] = timed_fit(model, x, y)
        del model
    out["resnet50 fit b128 mixed_bfloat16 img/s"] = mixed_fit(keras, keras.mixed_precision,
                                                              x, y)
    return out


def main():
    print("devices:", jax.devices(), "python", sys.version.split()[0], "jax", jax.__version__,
          flush=True)
    x, y = data()
    which = sys.argv[1] if len(sys.argv) > 1 else "both"
    results = {}
    if which in ("both", "thawnet"):
        results["thawnet"] = run_thawnet(x, y)
        print("thawnet", results["thawnet"], flush=True)
    if which in ("both", "keras"):
        try:
            results["keras"] = run_keras(x, y)
            print("keras", results["keras"], flush=True)
        except ImportError as err:
            print("keras not importable here:", err, flush=True)
    if "keras" in results and "thawnet" in results:
        for key, ours in results["thawnet"].items():
            theirs = results["keras"][key]
            ratio = theirs / ours if key.endswith(" s") else ours / theirs
            print(f"  {key:28s} thawnet {ours:10.2f}  keras {theirs:10.2f}  "
                  f"(thawnet {ratio:.2f}x {'faster' if ratio >= 1 else 'of keras'})")


if __name__ == "__main__":
    main()
