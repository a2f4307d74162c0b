"""Diagnose thawnet's GPU inference speed: the compiled forward alone vs predict vs model(x)."""
import time

import jax
import jax.numpy as jnp
import numpy as np

import thawnet

m = thawnet.applications.ResNet50()
values = m._all_values()
x = jnp.asarray(np.random.default_rng(0).standard_normal((32, 224, 224, 3), dtype=np.float32))
fwd = jax.jit(lambda v, x: m.stateless_call({}, v, x)[0])


def bench(label, fn, n=20):
    jax.block_until_ready(fn())
    t = time.perf_counter()
    for _ in range(n):
        out = fn()
    jax.block_until_ready(out)
    dt = (time.perf_counter() - t) / n
    print(f"{label:40s} {dt * 1e3:8.2f} ms/batch  {32 / dt:8.0f} img/s", flush=True)


bench("jit stateless_call (device input)", lambda: fwd(values, x))
xh = np.asarray(x)
bench("jit stateless_call (host input)", lambda: fwd(values, xh))
bench("model(x) eager compiled", lambda: m(xh))
bench("predict 1 batch", lambda: m.predict(xh, verbose=0), n=5)
xs = np.concatenate([xh] * 4)
bench("predict 4 batches", lambda: m.predict(xs, batch_size=32, verbose=0), n=3)
print(jax.jit(lambda v, x: m.stateless_call({}, v, x)[0]).lower(values, x).as_text()[:1500])
