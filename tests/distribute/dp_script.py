"""Train a small model with BatchNormalization and a frozen layer; used by the distribute tests.

    python dp_script.py OUT_DIR single|dp4|multiprocess
"""

import os
import sys

mode = sys.argv[2]
if mode == "dp4":
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
if mode == "multiprocess":
    from thawnet.distribute import initialize
    initialize(local_device_count=2, timeout_s=60)

import jax  # noqa: E402
import numpy as np  # noqa: E402

import thawnet  # noqa: E402
from thawnet import layers as tl  # noqa: E402

rng = np.random.default_rng(0)
x = rng.normal(size=(64, 6)).astype("f4")
y = rng.integers(0, 3, 64).astype("i4")
thawnet.set_random_seed(0)
model = thawnet.Sequential([
    tl.Input(shape=(6,)), tl.Dense(8, name="frozen", trainable=False), tl.Dense(16, name="hidden"),
    tl.BatchNormalization(name="bn"), tl.ReLU(), tl.Dense(3, name="out", activation="softmax")])
initial = [w.copy() for w in model.get_weights()]
strategy = None if mode == "single" else thawnet.distribute.DataParallel()
model.compile(thawnet.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy",
              distribute=strategy)
model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)

out = {}
for i, v in enumerate(model.weights):
    shards = [np.asarray(s.data) for s in v.value.addressable_shards]
    out[f"w{i}"] = shards[0]
    # Every replica holds the same bits.
    assert all(np.array_equal(s, shards[0]) for s in shards), v.path
out["frozen_kernel_initial"] = initial[0]
out["devices"] = np.array([jax.device_count(), jax.local_device_count()])
np.savez(os.path.join(sys.argv[1], f"{mode}_{jax.process_index()}.npz"), **out)
if mode == "multiprocess" and strategy.is_main_process:
    # Checkpoints are written once, by process 0.
    model.save_weights(os.path.join(sys.argv[1], "pair.safetensors"))
