"""Training throughput: thawnet fit vs Keras 3 (JAX), hand-written JAX+Optax and PyTorch.

The peers run the scripts in ../shared/peers (the definitions behind PERFORMANCE.md), each in
its own process; thawnet runs the same model, data and optimizer here, in its own process too.
The second ``fit`` (one epoch) is timed, as the peers time their second epoch. The peers run
interleaved, ``ROUNDS`` times (default 3): each ratio is taken within a round, and the medians of
the ratios are printed (the machine is shared; absolute figures drift).

    python bench/bench_train.py                 # MLP 784-512-512-10, batch 128
    B=32 H=128 python bench/bench_train.py      # the small MLP
    python bench/bench_train.py cnn             # 3x(Conv+BN+ReLU) CNN, batch 64
    python bench/bench_train.py audit           # the audit's share of a 100-step fit
    CLOCK=cpu python bench/bench_train.py       # time by CPU seconds (a busy, shared machine)
"""

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
PEERS = Path(__file__).resolve().parents[2] / "shared" / "peers"


def _mlp(steps_per_execution):
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
    options = {} if steps_per_execution == "default" else {
        "steps_per_execution": steps_per_execution}
    model.compile(optimizer=thawnet.optimizers.Adam(1e-3),
                  loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], **options)
    return model, x, y, b


def _cnn(steps_per_execution):
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
    options = {} if steps_per_execution == "default" else {
        "steps_per_execution": steps_per_execution}
    model.compile(optimizer=thawnet.optimizers.Adam(1e-3),
                  loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], **options)
    return model, x, y, b


def thawnet_throughput(task, steps_per_execution):
    model, x, y, b = (_mlp if task == "mlp" else _cnn)(steps_per_execution)
    # fit's defaults (shuffle=True), as the Keras peer runs them.
    model.fit(x, y, batch_size=b, epochs=1, verbose=0)
    t = time.perf_counter()
    model.fit(x, y, batch_size=b, epochs=1, verbose=0)
    return len(x) / (time.perf_counter() - t)


def audit_share(rounds):
    """The audit's share of a 100-step ``fit`` of the big MLP: the audit's own work (the
    snapshot before and the comparison after, as ``fit`` runs them) against a ``fit`` of 100
    steps without it; medians over rounds (a difference of two whole fits drowns in the
    noise of a shared machine)."""
    from thawnet.training import weight_audit

    model, x, y, b = _mlp("default")
    x, y = x[:100 * b], y[:100 * b]
    model.fit(x, y, batch_size=b, epochs=1, verbose=0)  # compile everything first
    fits, audits = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        model.fit(x, y, batch_size=b, epochs=1, verbose=0, audit=False)
        fits.append(time.perf_counter() - t)
        t = time.perf_counter()
        before = weight_audit.snapshot(model)
        weight_audit.compare(model, before, set(model.trainable_split()[0])).check()
        audits.append(time.perf_counter() - t)
    fit, cost = statistics.median(fits), statistics.median(audits)
    return cost / (fit + cost), fit, cost


# CLOCK=cpu times every peer by its process's CPU time (all threads) instead of the wall
# clock: on a machine shared by many jobs the wall clock mostly measures waiting.
_CPU_CLOCK = ("import runpy, sys, time; time.perf_counter = time.process_time; "
              "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def _command(script, *args):
    if os.environ.get("CLOCK") == "cpu":
        return [sys.executable, "-c", _CPU_CLOCK, str(script), *args]
    return [sys.executable, str(script), *args]


def peer(script, which):
    if not (PEERS / script).exists():
        return None
    out = subprocess.run(_command(PEERS / script, *which.split()),
                         capture_output=True, text=True, env=dict(os.environ))
    m = re.search(r"([\d,]+) samples/s", out.stdout)
    return float(m.group(1).replace(",", "")) if m else None


def own(task, k):
    out = subprocess.run(_command(__file__, task, "--thawnet-only", str(k)),
                         capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    return float(lines[-1]) if lines else None


def main():
    task = sys.argv[1] if len(sys.argv) > 1 else "mlp"
    rounds = int(os.environ.get("ROUNDS", "3"))
    if len(sys.argv) > 2 and sys.argv[2] == "--thawnet-only":
        k = sys.argv[3]
        print(f"{thawnet_throughput(task, k if k in ('auto', 'default') else int(k)):.0f}")
        return
    if task == "audit":
        share, fit, cost = audit_share(max(rounds, 5))
        print(f"audit share of a 100-step fit (MLP 784-512-512-10, b128): {100 * share:.2f}% "
              f"(audit {1e3 * cost:.1f} ms, fit without it {1e3 * fit:.0f} ms; medians)")
        return
    if task == "mlp":
        # Default settings first; 8 shows what a longer scan gives on this model.
        runs = {"thawnet (default)": lambda: own(task, "default"),
                "thawnet (steps_per_execution=8)": lambda: own(task, 8)}
        runs.update({which: (lambda w=which: peer("mlp_bench.py", w))
                     for which in ("keras", "jax", "jaxscan", "torch")})
    else:
        runs = {"thawnet (default)": lambda: own(task, "default"),
                "keras": lambda: peer("cnn_bench.py", "keras"),
                "jax": lambda: peer("cnn_bench.py", "jax"),
                "torch": lambda: peer("cnn_torch.py", "")}
    figures = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            figures[name].append(run())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"task={task} B={os.environ.get('B', 'default')} H={os.environ.get('H', 'default')} "
          f"rounds={rounds} clock={os.environ.get('CLOCK', 'wall')} "
          f"load average (1 min) at the end={load:.1f}")
    keras = figures.get("keras")
    for name, values in figures.items():
        got = [v for v in values if v is not None]
        if not got:
            print(f"  {name:34s} n/a")
            continue
        line = f"  {name:34s} {statistics.median(got):10,.0f} samples/s (median)"
        if keras and name != "keras":
            ratios = [v / k for v, k in zip(values, keras) if v and k]
            if ratios:
                line += (f"  {statistics.median(ratios):.2f}x Keras (median of "
                         f"{', '.join(f'{r:.2f}' for r in ratios)})")
        best = [max(v for v in pair if v) for pair in zip(figures.get("jax", []),
                                                          figures.get("jaxscan", values))
                if any(pair)]
        if name.startswith("thawnet") and task == "mlp" and best:
            ratios = [v / h for v, h in zip(values, best) if v and h]
            line += (f"; {statistics.median(ratios):.2f}x the best hand-written JAX (median of "
                     f"{', '.join(f'{r:.2f}' for r in ratios)})")
        print(line)


if __name__ == "__main__":
    main()
