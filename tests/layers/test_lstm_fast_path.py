"""LSTM's fast path (the loop with a hand-written gradient, rnn/lstm_scan.py) against the
generic loop differentiated by JAX: the same outputs, final states and gradients (weights,
inputs, initial states) with masks, go_backwards, return_sequences, zero_output_for_mask,
no bias and input dropout; and the cases that must fall back to the generic loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from thawnet import layers as tl
from thawnet.layers.rnn import lstm_scan
from thawnet.layers.rnn import rnn as rnn_module
from thawnet.layers.rnn.lstm import LSTMCell

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 5, 4)).astype("float32")
H0, C0 = (RNG.normal(size=(3, 6)).astype("float32") for _ in range(2))
MASK = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1], [1, 0, 1, 0, 1]], bool)

CASES = {
    "mask_last": dict(mask=True),
    "mask_sequences_backwards": dict(mask=True, return_sequences=True, go_backwards=True),
    "mask_zero_output_sequences": dict(mask=True, return_sequences=True,
                                       zero_output_for_mask=True),
    "mask_zero_output_last": dict(mask=True, zero_output_for_mask=True),
    "initial_state_no_bias": dict(initial=True, use_bias=False, return_state=True),
    "dropout_training": dict(dropout=0.3, training=True, return_sequences=True, mask=True),
    "unroll": dict(unroll=True, return_sequences=True),
    # The accelerators' form: the input projection over the whole sequence before the loop.
    "hoisted_mask_dropout": dict(hoist=True, mask=True, dropout=0.3, training=True,
                                 return_sequences=True),
}


def _grads(case, monkeypatch, fast):
    opts = dict(case)
    use_mask, initial = opts.pop("mask", False), opts.pop("initial", False)
    training, hoist = opts.pop("training", False), opts.pop("hoist", False)
    layer = tl.LSTM(6, **opts)
    layer(X)
    values = {p: v.value for p, v in layer.variables_by_path().items()
              if jnp.issubdtype(v.value.dtype, jnp.floating)}
    others = {p: v.value for p, v in layer.variables_by_path().items() if p not in values}
    calls = []
    real_run = lstm_scan.run
    monkeypatch.setattr(lstm_scan, "run", lambda *a, **k: calls.append(1) or real_run(*a, **k))
    if not fast:
        monkeypatch.setattr(LSTMCell, "sequence_runner", lambda self, *a: None)
    elif hoist:
        monkeypatch.setattr(rnn_module, "_hoist_projection", lambda: True)

    def loss(values, x, h0, c0):
        kwargs = {"mask": MASK} if use_mask else {}
        if initial:
            kwargs["initial_state"] = [h0, c0]
        out = layer.stateless_call(values, others, x, training=training,
                                   rng=jax.random.PRNGKey(7), **kwargs)[0]
        leaves = jax.tree_util.tree_leaves(out)
        # A different weight per output element, so every cotangent entry is tested.
        total = sum(jnp.sum(a * jnp.sin(jnp.arange(a.size, dtype=a.dtype).reshape(a.shape)))
                    for a in leaves)
        return total, leaves

    (_, outs), grads = jax.value_and_grad(loss, argnums=(0, 1, 2, 3), has_aux=True)(
        values, X, H0, C0)
    monkeypatch.undo()
    return outs, grads, len(calls)


SLOW = {"unroll", "mask_zero_output_sequences"}  # long variants (THAWNET_FULL=1)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in CASES])
def test_fast_path_matches_the_generic_loop(name, monkeypatch):
    fast_outs, fast_grads, fast_calls = _grads(CASES[name], monkeypatch, True)
    ref_outs, ref_grads, ref_calls = _grads(CASES[name], monkeypatch, False)
    assert (fast_calls, ref_calls) == (1, 0)
    assert len(fast_outs) == len(ref_outs)
    for a, b in zip(fast_outs, ref_outs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
    leaves_fast = jax.tree_util.tree_leaves(fast_grads)
    leaves_ref = jax.tree_util.tree_leaves(ref_grads)
    assert len(leaves_fast) == len(leaves_ref)
    for a, b in zip(leaves_fast, leaves_ref):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    if CASES[name].get("initial"):
        assert float(jnp.max(jnp.abs(fast_grads[2]))) > 0  # the initial states get gradients


@pytest.mark.parametrize("kwargs", [dict(activation="relu"),
                                    dict(recurrent_activation="hard_sigmoid"),
                                    dict(recurrent_dropout=0.2)])
def test_other_cells_take_the_generic_loop(kwargs, monkeypatch):
    calls = []
    real_run = lstm_scan.run
    monkeypatch.setattr(lstm_scan, "run", lambda *a, **k: calls.append(1) or real_run(*a, **k))
    layer = tl.LSTM(6, **kwargs)
    out = layer(X, training=True)
    assert out.shape == (3, 6)
    assert calls == []
