"""Ops and Python operators on symbolic tensors become graph nodes of functional models."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import keras
import numpy as np
import pytest

import thawnet
from thawnet import ops

_rng = np.random.default_rng(0)
A = _rng.normal(size=(4, 3)).astype("float32")
B = _rng.normal(size=(4, 3)).astype("float32")


def _pair_model(lib, lib_ops):
    a, b = lib.Input(shape=(3,)), lib.Input(shape=(3,))
    out = lib.layers.Dense(2)(lib_ops.concatenate([a + b, a * b], axis=-1))
    return lib.Model(inputs=[a, b], outputs=out)


def test_concatenate_of_sum_and_product_matches_keras():
    ours = _pair_model(thawnet, ops)
    theirs = _pair_model(keras, keras.ops)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict([A, B], verbose=0),
                               theirs.predict([A, B], verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours([A, B]), theirs([A, B]), rtol=1e-5, atol=1e-6)
    assert ours.count_params() == theirs.count_params() == 14


def test_summary_lists_op_nodes_with_zero_params():
    model = _pair_model(thawnet, ops)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        model.summary()
    text = buffer.getvalue()
    rows = {line.split()[0]: line for line in text.splitlines() if line[:1].isalpha()}
    assert "add_1 (Add)" in rows["add_1"] and rows["add_1"].split()[4] == "0"
    assert "multiply_1 (Multiply)" in rows["multiply_1"]
    assert "(None, 6)" in rows["concatenate_1"]
    assert "add_1[0][0]" in text and "multiply_1[0][0]" in text
    assert "Total params: 14" in text


def test_operators_build_nodes_that_compute_like_numpy():
    x = thawnet.Input(shape=(3,))
    w = _rng.normal(size=(3, 2)).astype("float32")
    outs = {
        "scaled": x * 2, "rscaled": 2 * x, "neg": -x, "first": x[:, 0], "matmul": x @ w,
        "rsub": 1.0 - x, "div": x / 4, "pow": x ** 2, "abs": abs(x), "gt": x > 0,
        "le": x <= 0.5, "ne": x != 0.25, "and": (x > 0) & (x < 1), "not": ~(x > 0),
        "mean": ops.mean(x, axis=-1), "tail": x[:, 1:].reshape((-1, 2)),
        "np_left": np.ones(3, "float32") + x,
    }
    model = thawnet.Model(x, outs)
    got = model(A)
    expected = {
        "scaled": A * 2, "rscaled": 2 * A, "neg": -A, "first": A[:, 0], "matmul": A @ w,
        "rsub": 1.0 - A, "div": A / 4, "pow": A ** 2, "abs": np.abs(A), "gt": A > 0,
        "le": A <= 0.5, "ne": A != 0.25, "and": (A > 0) & (A < 1), "not": ~(A > 0),
        "mean": A.mean(-1), "tail": A[:, 1:], "np_left": 1 + A,
    }
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(got[key]), value, rtol=1e-5, atol=1e-6,
                                   err_msg=key)
    assert outs["gt"].dtype == np.bool_ and outs["first"].shape == (None,)
    assert model.count_params() == 0


def test_op_with_several_outputs_and_shared_tensor():
    x = thawnet.Input(shape=(4,))
    left, right = ops.split(x, 2, axis=-1)
    squared = x * x  # the same tensor twice: one input edge
    model = thawnet.Model(x, [left, right, squared])
    node = squared.history[0]._inbound_nodes[0]
    assert len(node.input_tensors) == 1
    data = _rng.normal(size=(2, 4)).astype("float32")
    out = model(data)
    np.testing.assert_allclose(out[0], data[:, :2])
    np.testing.assert_allclose(out[1], data[:, 2:])
    np.testing.assert_allclose(out[2], data * data, rtol=1e-6)


def test_model_with_ops_trains_like_keras():
    ours = _pair_model(thawnet, ops)
    theirs = _pair_model(keras, keras.ops)
    theirs.set_weights(ours.get_weights())
    y = _rng.normal(size=(4, 2)).astype("float32")
    for model, opt in ((ours, thawnet.optimizers.SGD(0.1)), (theirs, keras.optimizers.SGD(0.1))):
        model.compile(optimizer=opt, loss="mse")
    h_ours = ours.fit([A, B], y, epochs=3, batch_size=4, verbose=0).history["loss"]
    h_theirs = theirs.fit([A, B], y, epochs=3, batch_size=4, verbose=0).history["loss"]
    np.testing.assert_allclose(h_ours, h_theirs, rtol=1e-5)


def test_symbolic_tensor_refuses_conversion_with_the_fix():
    x = thawnet.Input(shape=(3,))
    with pytest.raises(ValueError, match="symbolic.*wrap other code in a layer"):
        np.asarray(x)
    with pytest.raises(ValueError, match="use ops.cond"):
        bool(x > 0)
    with pytest.raises(ValueError, match="has no value yet"):
        ops.convert_to_numpy(x)
    assert ops.shape(x) == (None, 3) and ops.dtype(x) == "float32"
    assert ops.convert_to_tensor(x) is x


def test_op_nodes_name_their_op_in_the_config():
    # (They used to refuse get_config; configs now name the op, looked up in thawnet.ops.)
    x = thawnet.Input(shape=(3,))
    y = x + 1
    layer = y.history[0]
    assert type(layer).__name__ == "Add" and layer.count_params() == 0
    assert layer.get_config() == {"name": "add_1", "op": "add",
                                  "arguments": [{"tuple": [{"tensor": 0}, 1]}, {"dict": {}}]}
