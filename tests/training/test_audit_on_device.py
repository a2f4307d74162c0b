"""The audit compares weights on the device: bit patterns, one flag per weight.

"Unchanged" is bitwise: -0.0 differs from 0.0, a NaN that stays the same NaN is unchanged;
scalar (0-d) weights and integer state are audited like the others; the comparison is one
compiled program of the model's registry, reused by every later fit.
"""

import numpy as np
import pytest

import thawnet
from thawnet import layers as L
from thawnet.training import weight_audit


class Scaled(L.Layer):
    """``x * scale`` with a scalar (0-d) parameter and an int counter of calls."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        self.calls = self.add_weight(name="calls", shape=(), dtype="int32", trainable=False)

    def call(self, x, training=False):
        if training:
            self.calls.assign(self.calls + 1)
        return x * self.scale


@pytest.fixture(scope="module")
def fitted():
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    model = thawnet.Sequential([L.Input(shape=(3,)), Scaled(name="scaled"),
                                L.Dense(1, name="head")])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, x[:, :1] * 2, batch_size=8, epochs=1, verbose=0)
    return model, history, x


def test_scalar_parameter_and_int_counter_are_audited(fitted):
    model, history, _ = fitted
    report = history.audit
    assert report["scaled/scale"].verdict == "parameter trained"
    assert report["scaled/scale"].max_abs_change > 0
    assert report["scaled/calls"].changed and report["scaled/calls"].max_abs_change == 2.0
    assert report["head/kernel"].verdict == "parameter trained"


def test_unchanged_means_the_same_bits(fitted):
    model, _, _ = fitted
    now = {p: np.asarray(v.value) for p, v in model.variables_by_path().items()}
    report = weight_audit.compare(model, dict(now), trained_paths=set())
    assert [e.path for e in report.changed] == []
    # One sign bit apart: equal as numbers, different bits -> changed, by 0.0.
    flipped = dict(now, **{"scaled/scale": -now["scaled/scale"]})
    flipped["head/kernel"] = now["head/kernel"].copy()
    flipped["head/kernel"].flat[0] = np.nextafter(now["head/kernel"].flat[0], np.inf)
    report = weight_audit.compare(model, flipped, trained_paths=set())
    assert {e.path for e in report.changed} == {"scaled/scale", "head/kernel"}
    assert report["scaled/scale"].max_abs_change == pytest.approx(
        2 * abs(float(now["scaled/scale"])))
    assert report["head/kernel"].verdict == "VIOLATION: frozen weight changed"
    # A weight of another shape (or missing) counts as changed.
    report = weight_audit.compare(model, dict(now, **{"head/bias": np.zeros(2, np.float32)}),
                                  trained_paths=set())
    assert report["head/bias"].changed and report["head/bias"].max_abs_change == float("inf")


def test_nan_kept_bit_for_bit_is_unchanged_and_zero_signs_differ():
    model = thawnet.Sequential([L.Input(shape=(2,)), L.Dense(2, name="d")])
    model.build((None, 2))
    kernel = np.array([[np.nan, 0.0], [1.0, 2.0]], np.float32)
    model.set_weights([kernel, np.zeros(2, np.float32)])
    report = weight_audit.compare(model, {"d/kernel": kernel.copy(),
                                          "d/bias": -np.zeros(2, np.float32)}, set())
    assert not report["d/kernel"].changed and report["d/kernel"].max_abs_change == 0.0
    assert report["d/bias"].changed and report["d/bias"].max_abs_change == 0.0


def test_the_comparison_is_one_program_reused_by_later_fits():
    x = np.random.default_rng(2).standard_normal((16, 3)).astype(np.float32)
    model = thawnet.Sequential([L.Input(shape=(3,)), L.Dense(1, name="head")])
    model.compile(optimizer="sgd", loss="mse")
    for _ in range(3):
        model.fit(x, x[:, :1], batch_size=8, epochs=1, verbose=0)
    assert model._functions.programs("audit_compare") == 1
    assert model._functions.programs("audit_copy") == 1
