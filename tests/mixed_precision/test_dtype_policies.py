"""Policies: Keras 3's mixed_precision namespace, per-layer dtype (name or object) kept in
configs and files, float32 statistics in the normalizations, and frozen weights that keep
their exact float32 bits under every policy (the audit)."""

import json
import zipfile

import keras
import numpy as np
import pytest

import thawnet
from thawnet import mixed_precision

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


def test_namespace_matches_keras():
    for name in POLICIES:
        mixed_precision.set_global_policy(name)
        keras.mixed_precision.set_global_policy(name)
        ours, theirs = mixed_precision.global_policy(), keras.mixed_precision.global_policy()
        assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (
            theirs.name, theirs.compute_dtype, theirs.variable_dtype)
        assert thawnet.layers.Dense(2).dtype_policy.name == name
    keras.mixed_precision.set_global_policy("float32")
    mixed_precision.set_global_policy(mixed_precision.Policy("float32"))
    assert mixed_precision.Policy is mixed_precision.DTypePolicy
    assert mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="received policy=16"):
        mixed_precision.set_global_policy(16)
    with pytest.raises(ValueError, match="Dense: dtype must be"):
        thawnet.layers.Dense(2, dtype="mixed_int3")


def test_per_layer_policy_in_configs_and_keras_files(tmp_path):
    layer = thawnet.layers.Dense(2, dtype=mixed_precision.DTypePolicy("mixed_bfloat16"))
    assert (str(layer.compute_dtype), str(layer.dtype)) == ("bfloat16", "float32")
    assert layer.get_config()["dtype"] == "mixed_bfloat16"
    keras_form = {"module": "keras", "class_name": "DTypePolicy",
                  "config": {"name": "mixed_float16"}, "registered_name": None}
    assert thawnet.layers.Dense.from_config(
        {"units": 2, "dtype": keras_form}).dtype_policy.name == "mixed_float16"
    mixed_precision.set_global_policy("mixed_float16")
    try:
        model = thawnet.Sequential([thawnet.Input((3,)), layer,
                                    thawnet.layers.Dense(1, dtype="mixed_float16")])
    finally:
        mixed_precision.set_global_policy(None)
    path = str(tmp_path / "m.keras")
    model.save(path)
    k_model = keras.saving.load_model(path)
    assert [l.dtype_policy.name for l in k_model.layers] == ["mixed_bfloat16", "mixed_float16"]
    # The Sequential's own policy is written as Keras writes it (Keras's reader drops it).
    config = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]
    assert config["dtype"]["config"]["name"] == "mixed_float16"
    back = thawnet.saving.load_model(path)
    assert [l.dtype_policy.name for l in back.layers] == ["mixed_bfloat16", "mixed_float16"]


def test_normalization_weights_and_statistics_stay_float32():
    x = np.random.RandomState(0).randn(16, 4).astype("float32") * 3 + 100
    bn = thawnet.layers.BatchNormalization(dtype="mixed_float16", momentum=0.5)
    bn.build((None, 4))
    bn.gamma.assign(np.full(4, 1.0001, "float32"))  # 1.0001 is 1.0 in float16
    out = bn(x, training=True)
    assert str(out.dtype) == "float16"
    assert {str(v.value.dtype) for v in bn.weights} == {"float32"}
    # Moving mean updated in float32 from the float16 inputs (Keras: mean of the cast x).
    expected = 0.5 * x.astype("float16").astype("float32").mean(0)
    np.testing.assert_allclose(np.asarray(bn.moving_mean.value), expected, rtol=1e-6)
    k_bn = keras.layers.BatchNormalization(dtype="mixed_float16", momentum=0.5)
    k_bn.build((None, 4))
    k_bn.gamma.assign(np.full(4, 1.0001, "float32"))
    k_out = k_bn(x, training=True)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(k_out))
    ln = thawnet.layers.LayerNormalization(dtype="mixed_bfloat16")
    k_ln = keras.layers.LayerNormalization(dtype="mixed_bfloat16")
    assert (ln.autocast, k_ln.autocast) == (False, False)
    np.testing.assert_array_equal(np.asarray(ln(x).astype("float32")),
                                  np.asarray(k_ln(x).astype("float32")))


@pytest.mark.parametrize("policy", POLICIES[1:])  # float32: tests/training's audit tests
def test_frozen_weights_keep_exact_bits(policy):
    mixed_precision.set_global_policy(policy)
    try:
        model = thawnet.Sequential([
            thawnet.Input((4,)), thawnet.layers.Dense(6, trainable=False),
            thawnet.layers.BatchNormalization(), thawnet.layers.Dense(2, dtype="float32")])
    finally:
        mixed_precision.set_global_policy(None)
    frozen = [np.asarray(v.value).copy() for v in model.layers[0].weights]
    rs = np.random.RandomState(1)
    model.compile(thawnet.optimizers.Adam(0.05), "mse")
    history = model.fit(rs.randn(16, 4).astype("float32"), rs.randn(16, 2).astype("float32"),
                        batch_size=8, epochs=2, verbose=0)
    report = history.audit
    for v, bits in zip(model.layers[0].weights, frozen):
        assert str(v.value.dtype) == "float32"
        assert np.asarray(v.value).tobytes() == bits.tobytes()
        assert report[v.path].verdict == "unchanged"
    assert report["dense_2/kernel"].verdict == "parameter trained"
    assert report["batch_normalization_1/moving_mean"].verdict == "statistic updated"
    assert not report.violations


def test_summary_bytes_lists_each_weight_dtype():
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = thawnet.Sequential([thawnet.Input((3,)), thawnet.layers.Dense(4),
                                    thawnet.layers.Dense(2, dtype="float32")])
    finally:
        mixed_precision.set_global_policy(None)
    lines = []
    model.summary(show_bytes=True, print_fn=lines.append)
    rows = {line.split()[0]: line.split()[1:] for line in lines if "/" in line}
    assert rows["dense_1/kernel"] == ["float32", "(3,", "4)", "48", "B", "mixed_bfloat16"]
    assert rows["dense_2/bias"] == ["float32", "(2,)", "8", "B"]  # float32 policy: no note
    assert "float32 params: 26 (104 B)" in lines
    plain = []
    model.summary(print_fn=plain.append)
    assert not any("/" in line for line in plain)  # only with show_bytes
