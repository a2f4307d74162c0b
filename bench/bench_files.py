"""Save and load time of ResNet50's weights: thawnet native (.safetensors, atomic) vs Keras 3
``.weights.h5``, same run, best of 5.

    python bench/bench_files.py
"""

import os
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import thawnet  # noqa: E402


def best(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    folder = tempfile.mkdtemp()
    ours = thawnet.applications.ResNet50()
    ours.get_weights()
    theirs = keras.applications.ResNet50(weights=None)
    p_ours = os.path.join(folder, "r.safetensors")
    p_theirs = os.path.join(folder, "r.weights.h5")
    save_ours = best(lambda: ours.save_weights(p_ours))
    save_theirs = best(lambda: theirs.save_weights(p_theirs))
    load_ours = best(lambda: ours.load_weights(p_ours))
    load_theirs = best(lambda: theirs.load_weights(p_theirs))
    print(f"  save: thawnet {save_ours:.3f} s  keras {save_theirs:.3f} s  "
          f"({save_theirs / save_ours:.2f}x)")
    print(f"  load: thawnet {load_ours:.3f} s  keras {load_theirs:.3f} s  "
          f"({load_theirs / load_ours:.2f}x)")


if __name__ == "__main__":
    main()
