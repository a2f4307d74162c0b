"""Data-parallel scaling of the MLP benchmark over 1, 2 and 4 forced CPU devices.

Each device count runs in its own process (XLA fixes the device count at start-up). On a
2-core machine the forced devices share the same cores, so this measures overhead, not speed-up.

    python bench/bench_scaling.py
"""

import os
import subprocess
import sys
import time


def run(devices):
    os.environ["XLA_FLAGS"] = (f"--xla_force_host_platform_device_count={devices} "
                               "--xla_cpu_multi_thread_eigen=false")
    import numpy as np

    import thawnet
    from thawnet import layers as L

    n, b = 30720, 128
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int32)
    model = thawnet.Sequential([L.Input(shape=(784,)), L.Dense(512, activation="relu"),
                                L.Dense(512, activation="relu"), L.Dense(10)])
    strategy = thawnet.distribute.DataParallel() if devices > 1 else None
    model.compile(optimizer="adam",
                  loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  distribute=strategy)
    model.fit(x, y, batch_size=b, epochs=1, verbose=0)
    t = time.perf_counter()
    model.fit(x, y, batch_size=b, epochs=1, verbose=0)
    print(n / (time.perf_counter() - t))


def main():
    if len(sys.argv) > 1:
        run(int(sys.argv[1]))
        return
    base = None
    for devices in (1, 2, 4):
        out = subprocess.run([sys.executable, __file__, str(devices)], capture_output=True,
                             text=True)
        rate = float(out.stdout.strip().splitlines()[-1])
        base = base or rate
        print(f"  {devices} device(s): {rate:10,.0f} samples/s  ({rate / base:.2f}x of 1 device)")


if __name__ == "__main__":
    main()
