"""MultiHeadAttention forward+backward: thawnet vs Keras 3 (JAX), each in its own process.

One jit-compiled step = the layer's outputs on (query, value) and the gradient of
``sum(outputs**2)`` with respect to all its weights (``stateless_call`` in both libraries, the
same shapes and weights). Default: batch 32, sequence 128, 8 heads, key_dim 32, model width 256.

    python bench/bench_attention.py [--batch 32 --seq 128 --heads 8 --key-dim 32 --rounds 3]
    python bench/bench_attention.py --causal          # use_causal_mask=True
    python bench/bench_attention.py --scores          # explicit-softmax path (scores returned)
    python bench/bench_attention.py --compare-paths --rounds 8 --steps 3   # thawnet only

On the CPU thawnet runs unmasked attention as an explicit einsum and softmax (JAX has no fused
CPU kernel; its XLA implementation is slower there), on accelerators the fused kernel.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")


def measure(lib: str, args) -> dict:
    """Steps per second of one library (runs in the child process)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    if lib == "keras":
        import keras as m
        layers = m.layers
    else:
        import thawnet as m
        from thawnet import layers
    dim = args.heads * args.key_dim
    q_in, v_in = m.Input((args.seq, dim)), m.Input((args.seq, dim))
    out = layers.MultiHeadAttention(args.heads, args.key_dim)(
        q_in, v_in, use_causal_mask=args.causal, return_attention_scores=args.scores)
    model = m.Model([q_in, v_in], out[0] if args.scores else out)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.05, size=w.shape).astype("float32")
                       for w in model.weights])
    x = [jnp.asarray(rng.normal(size=(args.batch, args.seq, dim)).astype("float32"))
         for _ in range(2)]
    trainable = [jnp.asarray(v.value if hasattr(v, "value") else v)
                 for v in model.trainable_variables]
    non_trainable = [jnp.asarray(v.value if hasattr(v, "value") else v)
                     for v in model.non_trainable_variables]

    def loss(tv, inputs):
        y, _ = model.stateless_call(tv, non_trainable, inputs)
        return jnp.sum(jnp.square(y))

    step = jax.jit(jax.value_and_grad(loss))
    t0 = time.perf_counter()
    jax.block_until_ready(step(trainable, x))
    compile_s = time.perf_counter() - t0
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            value, grads = step(trainable, x)
        jax.block_until_ready(grads)
        best = min(best, (time.perf_counter() - t0) / args.steps)
    return {"lib": lib, "step_ms": best * 1e3, "samples_per_s": args.batch / best,
            "compile_s": compile_s, "device": str(jax.devices()[0].platform),
            "loss": float(value)}


def compare_paths(args) -> None:
    """thawnet alone, in one process: the CPU's explicit softmax path against the fused
    kernel (``jax.nn.dot_product_attention``), the same weights, rounds interleaved."""
    import statistics as stats

    import jax
    import jax.numpy as jnp
    import numpy as np

    import thawnet
    from thawnet.layers import _attention_common as common

    dim = args.heads * args.key_dim
    q_in, v_in = thawnet.Input((args.seq, dim)), thawnet.Input((args.seq, dim))
    model = thawnet.Model([q_in, v_in], thawnet.layers.MultiHeadAttention(
        args.heads, args.key_dim)(q_in, v_in, use_causal_mask=args.causal))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(scale=0.05, size=w.shape).astype("float32")
                       for w in model.weights])
    x = [jnp.asarray(rng.normal(size=(args.batch, args.seq, dim)).astype("float32"))
         for _ in range(2)]
    tv = [jnp.asarray(v.value) for v in model.trainable_variables]
    real = common.fused_kernel_pays

    def step_for(fused):
        def loss(tv, inputs):
            common.fused_kernel_pays = (lambda *a: True) if fused else real
            try:  # the choice is made while tracing, once
                y, _ = model.stateless_call(tv, [], inputs)
            finally:
                common.fused_kernel_pays = real
            return jnp.sum(jnp.square(y))
        step = jax.jit(jax.value_and_grad(loss))
        jax.block_until_ready(step(tv, x))
        return step

    steps = {"fused kernel": step_for(True), "explicit": step_for(False)}
    times = {name: [] for name in steps}
    for r in range(args.rounds):
        order = list(steps) if r % 2 == 0 else list(steps)[::-1]
        for name in order:
            t0 = time.perf_counter()
            for _ in range(args.steps):
                out = steps[name](tv, x)
            jax.block_until_ready(out)
            times[name].append((time.perf_counter() - t0) / args.steps * 1e3)
    for name, ts in times.items():
        print(f"  {name:12s} median {stats.median(ts):8.1f} ms/step")
    ratios = [a / b for a, b in zip(times["fused kernel"], times["explicit"])]
    print(f"  explicit / fused kernel speed: median of rounds {stats.median(ratios):.3f}x "
          f"({', '.join(f'{r:.2f}' for r in ratios)}) on {jax.devices()[0].platform}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--key-dim", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--causal", action="store_true")
    parser.add_argument("--scores", action="store_true")
    parser.add_argument("--child", choices=["thawnet", "keras"])
    parser.add_argument("--compare-paths", action="store_true")
    args = parser.parse_args()
    if args.compare_paths:
        compare_paths(args)
        return
    if args.child:
        print(json.dumps(measure(args.child, args)))
        return
    # Rounds alternate the two libraries, each in a fresh process; the best round of each
    # is kept (the machine's load varies from one process to the next).
    results, ratios = {}, []
    for _ in range(args.rounds):
        this_round = {}
        for lib in ("keras", "thawnet"):
            cmd = [sys.executable, __file__, "--child", lib] + sys.argv[1:]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = this_round[lib] = json.loads(out.strip().splitlines()[-1])
            if lib not in results or r["step_ms"] < results[lib]["step_ms"]:
                results[lib] = r
        ratios.append(this_round["keras"]["step_ms"] / this_round["thawnet"]["step_ms"])
    ours, theirs = results["thawnet"], results["keras"]
    print(f"MultiHeadAttention fwd+bwd, batch {args.batch}, seq {args.seq}, {args.heads} heads, "
          f"key_dim {args.key_dim}{', causal' if args.causal else ''}"
          f"{', scores' if args.scores else ''} ({ours['device']})")
    for r in (theirs, ours):
        print(f"  {r['lib']:8s} {r['step_ms']:8.3f} ms/step  {r['samples_per_s']:9.1f} samples/s"
              f"  (compile {r['compile_s']:.2f} s, loss {r['loss']:.6g})")
    print(f"  ratio thawnet/keras (samples/s), best rounds: "
          f"{ours['samples_per_s'] / theirs['samples_per_s']:.3f}x; median of the rounds' ratios: "
          f"{statistics.median(ratios):.3f}x ({', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
