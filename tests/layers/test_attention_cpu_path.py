"""MultiHeadAttention's kernel choice on the CPU: without a mask the explicit einsum and
softmax (faster there, BENCHMARKS.md) gives the fused kernel's outputs and gradients; with a
mask, or flash_attention=True, the fused kernel runs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from thawnet import layers as tl
from thawnet.layers import _attention_common as common

RNG = np.random.default_rng(0)
Q = RNG.normal(size=(2, 5, 8)).astype("float32")
V = RNG.normal(size=(2, 6, 8)).astype("float32")
MASK = RNG.random((2, 5, 6)) > 0.3


def _run(layer, monkeypatch, fused, **kwargs):
    calls = []
    real = common.fused_attention
    monkeypatch.setattr(common, "fused_attention",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    if fused is not None:
        monkeypatch.setattr(common, "fused_kernel_pays", lambda *a: fused)
    values = {p: v.value for p, v in layer.variables_by_path().items()}

    def loss(values, q, v):
        out = layer.stateless_call(values, {}, q, value=v, **kwargs)[0]
        return jnp.sum(out * jnp.cos(jnp.arange(out.size, dtype=out.dtype).reshape(out.shape)))

    value, grads = jax.value_and_grad(loss, argnums=(0, 1, 2))(values, Q, V)
    monkeypatch.undo()
    return value, grads, len(calls)


@pytest.mark.parametrize("causal", [False, True])
def test_explicit_path_matches_the_fused_kernel(causal, monkeypatch):
    layer = tl.MultiHeadAttention(2, 4)
    layer(Q, V)
    kwargs = {"use_causal_mask": causal}
    explicit, explicit_grads, explicit_calls = _run(layer, monkeypatch, None, **kwargs)
    fused, fused_grads, fused_calls = _run(layer, monkeypatch, True, **kwargs)
    assert (explicit_calls, fused_calls) == (0, 1)  # the CPU took the explicit path
    np.testing.assert_allclose(float(explicit), float(fused), rtol=1e-6)
    a, b = jax.tree_util.tree_leaves(explicit_grads), jax.tree_util.tree_leaves(fused_grads)
    assert len(a) == len(b) == 10  # 8 weights, query and value
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


def test_mask_or_flash_keeps_the_fused_kernel(monkeypatch):
    layer = tl.MultiHeadAttention(2, 4)
    layer(Q, V)
    assert _run(layer, monkeypatch, None, attention_mask=MASK)[2] == 1
    flash = tl.MultiHeadAttention(2, 4, flash_attention=True)
    flash(Q, V)
    assert _run(flash, monkeypatch, None)[2] == 1
