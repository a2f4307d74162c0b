"""Training throughput: thawnet fit vs Keras 3 (JAX), hand-written JAX+Optax and PyTorch.

The peers run the scripts in ../shared/peers (the definitions behind PERFORMANCE.md), each in
its own process; thawnet runs the same model, data and optimizer here. Second epoch timed.

    python bench/bench_train.py                 # MLP 784-512-512-10, batch 128
    B=32 H=128 python bench/bench_train.py      # the small MLP
    python bench/bench_train.py cnn             # 3x(Conv+BN+ReLU) CNN, batch 64
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"


def thawnet_mlp(steps_per_execution):
    import numpy as np

    import thawnet
    from thawnet import layers as L

    n, d, c = 60000, 784, 10
    b, h = int(os.environ.get("B", "128")), int(os.environ.get("H", "512"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d), dtype=np.float32)
    y = rng.integers(0, c, n).astype(np.int32)
    model = thawnet.Sequential([L.Input(shape=(d,)), L.Dense(h, activation="relu"),
                                L.Dense(h, activation="relu"), L.Dense(c)])
    model.compile(optimizer=thawnet.optimizers.Adam(1e-3),
                  loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    model.fit(x, y, batch_size=b, epochs=1, verbose=0, shuffle=False)
    t = time.perf_counter()
    model.fit(x, y, batch_size=b, epochs=1, verbose=0, shuffle=False)
    return n / (time.perf_counter() - t)


def thawnet_cnn(steps_per_execution):
    import numpy as np

    import thawnet
    from thawnet import layers as L

    n, b = 8192, 64
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int32)
    model = thawnet.Sequential([
        L.Input(shape=(32, 32, 3)),
        L.Conv2D(32, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
        L.Conv2D(32, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
        L.MaxPooling2D(),
        L.Conv2D(64, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
        L.GlobalAveragePooling2D(), L.Dense(10)])
    model.compile(optimizer=thawnet.optimizers.Adam(1e-3),
                  loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    model.fit(x, y, batch_size=b, epochs=1, verbose=0, shuffle=False)
    t = time.perf_counter()
    model.fit(x, y, batch_size=b, epochs=1, verbose=0, shuffle=False)
    return n / (time.perf_counter() - t)


def peer(script, which):
    if not (PEERS / script).exists():
        return None
    out = subprocess.run([sys.executable, str(PEERS / script), *which.split()],
                         capture_output=True, text=True, env=dict(os.environ))
    m = re.search(r"([\d,]+) samples/s", out.stdout)
    return float(m.group(1).replace(",", "")) if m else None


def main():
    task = sys.argv[1] if len(sys.argv) > 1 else "mlp"
    if len(sys.argv) > 2 and sys.argv[2] == "--thawnet-only":
        fn = thawnet_mlp if task == "mlp" else thawnet_cnn
        k = sys.argv[3]
        print(f"{fn(k if k == 'auto' else int(k)):.0f}")
        return
    results = {}
    # Convolutions inside lax.scan run far slower on XLA's CPU backend (measured: > 10 min for
    # one CNN epoch at steps_per_execution=8), so the CNN runs one step per call.
    for k in ((1, 8) if task == "mlp" else (1,)):
        out = subprocess.run([sys.executable, __file__, task, "--thawnet-only", str(k)],
                             capture_output=True, text=True)
        results[f"thawnet (steps_per_execution={k})"] = float(out.stdout.strip().splitlines()[-1])
    if task == "mlp":
        for which in ("keras", "jax", "jaxscan", "torch"):
            results[which] = peer("mlp_bench.py", which)
    else:
        for which in ("keras", "jax"):
            results[which] = peer("cnn_bench.py", which)
        results["torch"] = peer("cnn_torch.py", "")
    keras = results.get("keras")
    print(f"task={task} B={os.environ.get('B', 'default')} H={os.environ.get('H', 'default')}")
    for name, value in results.items():
        if value is None:
            print(f"  {name:32s} n/a")
        else:
            ratio = f"  ({value / keras:.2f}x Keras)" if keras else ""
            print(f"  {name:32s} {value:10,.0f} samples/s{ratio}")


if __name__ == "__main__":
    main()
