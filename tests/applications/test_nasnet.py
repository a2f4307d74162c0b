"""NASNetMobile/NASNetLarge against keras.applications (the oracle): counts without materialising
weights (NASNetLarge only abstractly), layer classes, names, weight names and order, a
Keras-written ``.weights.h5`` and legacy ``.h5`` load and predict the same, errors, the CLI.

Keras's oracle is built inside ``StatelessScope(initialize_variables=False)`` (shapes, names and
counts without values; see test_vgg_resnet_xception.py), once per module, at 32x32 (the smallest
input Keras accepts) with a 10-class top.
"""

import math

import h5py
import jax
import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state
from keras.src.backend.common.stateless_scope import StatelessScope
from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

import thawnet
from thawnet import applications
from thawnet.applications import nasnet
from thawnet.cli import main as cli_main

# Keras 3.15.1 (weights=None): count_params(), trainable, output shape, len(model.layers).
KERAS_TABLE = {
    ("mobile", ()): (5_326_716, 5_289_978, (None, 1000), 771),
    ("mobile", (("include_top", False), ("input_shape", (32, 32, 3)), ("pooling", "avg"))):
        (4_269_716, 4_232_978, (None, 1056), 770),
    # Free sizes: Keras's adjust blocks compare None with None and take the projection path.
    ("mobile", (("include_top", False), ("input_shape", (None, None, 3)))):
        (4_267_604, 4_230_954, (None, None, None, 1056), 742),
    ("large", ()): (88_949_818, 88_753_150, (None, 1000), 1041),
    ("large", (("include_top", False),)): (84_887_922, 84_691_590, (None, None, None, 4032), 1012),
}
BUILDERS = {"mobile": (nasnet.NASNetMobile, keras.applications.NASNetMobile),
            "large": (nasnet.NASNetLarge, keras.applications.NASNetLarge)}
PARITY = dict(include_top=True, classes=10, input_shape=(32, 32, 3), classifier_activation=None)


@pytest.mark.parametrize("size,kwargs", list(KERAS_TABLE),
                         ids=[f"{s}-{'-'.join(f'{k}={v}' for k, v in kw) or 'top'}"
                              for s, kw in KERAS_TABLE])
def test_counts_equal_keras_without_materialising(size, kwargs):
    model = BUILDERS[size][0](**dict(kwargs))
    total, trainable, output_shape, n_layers = KERAS_TABLE[(size, kwargs)]
    assert model.count_params() == total
    assert sum(math.prod(w.shape) for w in model.trainable_weights) == trainable
    assert model.output_shape == output_shape and len(model.layers) == n_layers
    assert not any(v.is_materialized for v in model.weights)


def _give_random_values(pending, seed=0):
    """Values that keep activations of order one through the 200 batch norms (variances > 0)."""
    rng = np.random.default_rng(seed)
    for v in pending:
        shape = tuple(v.shape)
        if v.name in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, shape)
        elif v.name in ("beta", "moving_mean", "bias"):
            value = rng.normal(0.0, 0.1, shape)
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            value = rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)
        v._initializer = lambda s, dtype=None, value=value: value.astype("float32")
        v._deferred_initialize()


@pytest.fixture(scope="module")
def keras_mobile(tmp_path_factory):
    """Keras's small NASNetMobile with random values, its two weight files and its outputs."""
    keras.backend.clear_session()
    global_state.set_global_attribute("uninitialized_variables", [])
    with StatelessScope(initialize_variables=False):
        model = keras.applications.NASNetMobile(weights=None, **PARITY)
    pending = global_state.get_global_attribute("uninitialized_variables", [])
    global_state.set_global_attribute("uninitialized_variables", [])
    _give_random_values(pending)
    folder = tmp_path_factory.mktemp("nasnet")
    model.save_weights(str(folder / "model.weights.h5"))
    with h5py.File(folder / "model.h5", "w") as handle:
        save_weights_to_hdf5_group(handle, model)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    return model, folder, x, np.asarray(model.predict(x, verbose=0))


def test_layers_weight_names_and_order_equal_keras(keras_mobile):
    theirs = keras_mobile[0]
    ours = nasnet.NASNetMobile(**PARITY)
    assert ours.name == theirs.name == "nasnet_mobile"
    # Every layer in Keras's order (the graph's order decides the weight order)...
    assert [type(a).__name__ for a in ours.layers] == [type(b).__name__ for b in theirs.layers]
    # ...the named ones by Keras's name (automatic names differ: thawnet numbers from 1)...
    weighted = [(a, b) for a, b in zip(ours.layers, theirs.layers) if b.weights]
    assert len(weighted) == 389 and all(a.name == b.name for a, b in weighted)
    assert ours.get_layer("reduction_add3_stem_1") and ours.get_layer("normal_concat_12")
    # ...and every weight by name, shape and trainability.
    assert [(w.name, tuple(w.shape), w.trainable) for w in ours.weights] == \
        [(w.name, tuple(w.shape), w.trainable) for w in theirs.weights]


def test_keras_written_weight_files_load_and_predict_the_same(keras_mobile):
    _, folder, x, expected = keras_mobile
    assert np.abs(expected).max() > 0.1
    model = nasnet.NASNetMobile(weights=str(folder / "model.weights.h5"), **PARITY)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=0, atol=1e-5)
    # Zero every weight, then the legacy file must bring each one back (the compiled predict
    # is reused: same model, same split).
    for v in model.weights:
        v.assign(np.zeros(v.shape, "float32"))
    assert np.abs(model.predict(x, verbose=0) - expected).max() > 0.1
    model.load_weights(str(folder / "model.h5"))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=0, atol=1e-5)


# Slow: two more compiled programs (~12 s on an idle core). Compiled against compiled, the
# training-mode outputs and updated statistics are bit-identical; Keras's eager op-by-op call
# differs from any compiled one by ~1e-3 here (2 images: the batch statistics of the 1x1 last
# cells amplify the last bit through 192 batch norms).
@pytest.mark.slow
def test_training_mode_outputs_and_statistics_equal_keras(keras_mobile):
    theirs, _, x, _ = keras_mobile
    ours = nasnet.NASNetMobile(**PARITY)
    trainable = [np.asarray(v.value) for v in theirs.trainable_variables]
    stats = [np.asarray(v.value) for v in theirs.non_trainable_variables]
    expected, expected_stats = jax.jit(
        lambda t, n, x: theirs.stateless_call(t, n, x, training=True))(trainable, stats, x)
    got, got_stats = jax.jit(
        lambda t, n, x: ours.stateless_call(t, n, x, training=True))(trainable, stats, x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=0, atol=1e-5)
    assert len(got_stats) == len(expected_stats) == 2 * 192
    for a, b in zip(got_stats, expected_stats):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-5)


def test_preprocess_input_scales_to_minus_one_one():
    images = np.array([[[[0.0, 127.5, 255.0]]]], "float32")
    np.testing.assert_allclose(nasnet.preprocess_input(images), [[[[-1.0, 0.0, 1.0]]]])
    assert nasnet.decode_predictions is applications.imagenet_utils.decode_predictions


def test_argument_errors_and_imagenet_file_names(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"multiple of 24 \* filter_multiplier \*\* 2 = 96"):
        nasnet.NASNet(penultimate_filters=1000, weights=None)
    with pytest.raises(ValueError, match="pooling must be"):
        nasnet.NASNetMobile(include_top=False, pooling="sum")
    with pytest.raises(ValueError, match=r"must be static .*input_shape=\(None, None, 3\)"):
        nasnet.NASNetLarge(include_top=False, input_shape=(None, None, 3), weights="imagenet")
    thawnet.config.set_image_data_format("channels_first")
    with pytest.raises(ValueError, match="nasnet_mobile: NASNet supports only the channels_last"):
        nasnet.NASNetMobile()
    thawnet.config.set_image_data_format("channels_last")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.raises(FileNotFoundError, match="'nasnet_mobile_no_top.h5'"):
        nasnet.NASNetMobile(weights="imagenet", include_top=False)
    with pytest.raises(FileNotFoundError, match="'nasnet_large.h5'"):
        nasnet.NASNetLarge(weights="imagenet")
    assert applications.by_name("nasnetlarge") is nasnet.NASNetLarge
    assert applications.by_name("nasnet_mobile") is applications.NASNetMobile


@pytest.mark.parametrize("name,total,statistics,batch_norms",
                         [("nasnetmobile", "5,326,716", "36,738", 192),
                          ("nasnetlarge", "88,949,818", "196,668", 264)])
def test_cli_summary_explains_the_statistics(capsys, name, total, statistics, batch_norms):
    try:
        cli_main(["summary", name, "--explain"])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out.splitlines()
    assert f"Total params: {total}" in out
    assert f"Non-trainable params: {statistics}" in out
    assert any(f"{statistics} = moving_mean + moving_variance of {batch_norms} "
               "BatchNormalization" in line for line in out)
