"""CPU inference throughput at 224x224, batch 32: ResNet50 and MobileNetV2, thawnet vs Keras 3
(JAX), each in its own process, second ``predict`` call timed.

    python bench/bench_inference.py
"""

import os
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
N, B = 64, 32


def run(lib, name):
    import numpy as np
    x = np.random.default_rng(0).standard_normal((N, 224, 224, 3), dtype=np.float32)
    if lib == "thawnet":
        import thawnet
        model = thawnet.applications.by_name(name)()
    else:
        import keras
        model = {"resnet50": keras.applications.ResNet50,
                 "mobilenet_v2": keras.applications.MobileNetV2}[name](weights=None)
    model.predict(x, batch_size=B, verbose=0)
    t = time.perf_counter()
    model.predict(x, batch_size=B, verbose=0)
    print(N / (time.perf_counter() - t))


def main():
    if len(sys.argv) > 2:
        run(sys.argv[1], sys.argv[2])
        return
    for name in ("resnet50", "mobilenet_v2"):
        rates = {}
        for lib in ("thawnet", "keras"):
            out = subprocess.run([sys.executable, __file__, lib, name], capture_output=True,
                                 text=True)
            rates[lib] = float(out.stdout.strip().splitlines()[-1])
        print(f"  {name:14s} thawnet {rates['thawnet']:6.1f} img/s   keras {rates['keras']:6.1f} "
              f"img/s   ({rates['thawnet'] / rates['keras']:.2f}x Keras)", flush=True)


if __name__ == "__main__":
    main()
