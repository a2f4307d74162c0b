"""The generic time loop carries the states only when the cell's output is its first state
(the built-in cells): the last output is read from the final states, not carried as well.
A cell whose output is not a state, or zero_output_for_mask, keeps the extra carry."""

import jax
import numpy as np
import pytest

from thawnet import layers as tl

X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")


class DoubledCell(tl.Layer):
    """Outputs 2 * h: not one of its states."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units))

    def call(self, inputs, states):
        h = inputs @ self.kernel + states[0]
        return 2.0 * h, [h]


def _carries(layer):
    layer(X)
    values = {p: v.value for p, v in layer.variables_by_path().items()}
    jaxpr = jax.make_jaxpr(lambda v, x: layer.stateless_call(v, {}, x)[0])(values, X)
    return [e.params["num_carry"] for e in jaxpr.jaxpr.eqns if e.primitive.name == "scan"]


@pytest.mark.parametrize("make, carries", [
    (lambda: tl.GRU(4), [1]),
    (lambda: tl.SimpleRNN(4), [1]),
    (lambda: tl.LSTM(4, activation="relu"), [2]),  # the generic loop (not the fast path)
    (lambda: tl.RNN([tl.GRUCell(3), tl.SimpleRNNCell(2)]), [2]),
    (lambda: tl.GRU(4, zero_output_for_mask=True), [2]),
    (lambda: tl.RNN(DoubledCell(4)), [2]),
])
def test_loop_carries(make, carries):
    assert _carries(make()) == carries


def test_custom_cell_last_output_is_its_output():
    layer = tl.RNN(DoubledCell(4), return_state=True)
    out, h = layer(X)
    np.testing.assert_allclose(np.asarray(out), 2.0 * np.asarray(h), rtol=1e-6)
