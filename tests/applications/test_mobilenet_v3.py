"""MobileNetV3Small/Large against keras.applications (the oracle): counts without materialising
weights, layer order and names, a Keras-written weight file loads and predicts the same,
Rescaling preprocessing, errors, the CLI summary.

Keras's oracle is built inside ``StatelessScope(initialize_variables=False)`` (shapes, names and
counts without values; see test_vgg_resnet_xception.py).
"""

import math

import h5py
import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state
from keras.src.backend.common.stateless_scope import StatelessScope
from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

from thawnet import applications
from thawnet.applications import mobilenet_v3
from thawnet.cli import main as cli_main

# Keras 3.15.1 (weights=None): count_params(), trainable, output shape.
KERAS_TABLE = {
    ("small", ()): (2_554_968, 2_542_856, (None, 1000)),
    ("small", (("minimalistic", True),)): (2_056_848, 2_044_736, (None, 1000)),
    ("small", (("alpha", 0.75), ("include_top", False), ("input_shape", (32, 32, 3)))):
        (583_160, 573_480, (None, 1, 1, 432)),
    ("large", ()): (5_507_432, 5_483_032, (None, 1000)),
    ("large", (("minimalistic", True),)): (3_948_688, 3_924_288, (None, 1000)),
    ("large", (("alpha", 0.75), ("include_top", False), ("input_shape", (32, 32, 3)))):
        (1_808_736, 1_789_648, (None, 1, 1, 720)),
}
BUILDERS = {"small": (mobilenet_v3.MobileNetV3Small, keras.applications.MobileNetV3Small),
            "large": (mobilenet_v3.MobileNetV3Large, keras.applications.MobileNetV3Large)}
PARITY = dict(include_top=True, classes=10, input_shape=(32, 32, 3),
              classifier_activation=None)


def _keras_model(size, **kwargs):
    keras.backend.clear_session()
    global_state.set_global_attribute("uninitialized_variables", [])
    with StatelessScope(initialize_variables=False):
        model = BUILDERS[size][1](weights=None, **kwargs)
    pending = global_state.get_global_attribute("uninitialized_variables", [])
    global_state.set_global_attribute("uninitialized_variables", [])
    return model, pending


def _give_random_values(pending, seed=0):
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


@pytest.mark.parametrize("size,kwargs", sorted(KERAS_TABLE),
                         ids=[f"{s}-{'-'.join(f'{k}={v}' for k, v in kw) or 'top'}"
                              for s, kw in sorted(KERAS_TABLE)])
def test_counts_equal_keras_without_materialising(size, kwargs):
    model = BUILDERS[size][0](**dict(kwargs))
    total, trainable, output_shape = KERAS_TABLE[(size, kwargs)]
    assert model.count_params() == total
    assert sum(math.prod(w.shape) for w in model.trainable_weights) == trainable
    assert model.output_shape == output_shape
    assert not any(v.is_materialized for v in model.weights)


def _weighted(model):
    return [lay for lay in model.layers if lay.weights]


@pytest.mark.parametrize("size", ["small", "large"])
def test_weighted_layers_names_and_shapes_equal_keras(size):
    theirs = _keras_model(size)[0]
    ours = BUILDERS[size][0]()
    assert ours.name == theirs.name
    assert [(type(a).__name__, a.name) for a in _weighted(ours)] == \
        [(type(b).__name__, b.name) for b in _weighted(theirs)]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert isinstance(ours.layers[1], applications.mobilenet_v3.layers.Rescaling)
    hard_swish = [a for a in ours.layers if type(a).__name__ == "Activation"
                  and a.get_config()["activation"] == "hard_silu"]
    assert len(hard_swish) == sum(1 for b in theirs.layers if type(b).__name__ == "Activation"
                                  and b.get_config()["activation"] == "hard_silu")


@pytest.fixture(scope="module")
def keras_small(tmp_path_factory):
    """A small Keras MobileNetV3Small with random values, its weight files and outputs."""
    model, pending = _keras_model("small", **PARITY)
    _give_random_values(pending)
    folder = tmp_path_factory.mktemp("mobilenet_v3")
    model.save_weights(str(folder / "model.weights.h5"))
    with h5py.File(folder / "model.h5", "w") as handle:
        save_weights_to_hdf5_group(handle, model)
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    return folder, x, np.asarray(model.predict(x, verbose=0))


# Slow: a Keras build + two compiled predicts (~15 s on the shared 2-core machine); the default
# run checks one family's file parity end to end (test_convnext.py), THAWNET_FULL=1 all of them.
@pytest.mark.slow
@pytest.mark.parametrize("file_name", ["model.weights.h5", "model.h5"])
def test_keras_written_weight_files_load_and_predict_the_same(keras_small, file_name):
    folder, x, expected = keras_small
    model = mobilenet_v3.MobileNetV3Small(weights=str(folder / file_name), **PARITY)
    got = np.asarray(model.predict(x, verbose=0))
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_preprocessing_is_in_the_model_and_preprocess_input_is_the_identity():
    images = np.full((1, 32, 32, 3), 255.0, "float32")
    assert mobilenet_v3.preprocess_input(images) is images
    plain = mobilenet_v3.MobileNetV3Small(include_preprocessing=False, include_top=False,
                                          input_shape=(32, 32, 3))
    assert not any(type(lay).__name__ == "Rescaling" for lay in plain.layers)
    assert plain.count_params() == mobilenet_v3.MobileNetV3Small(
        include_top=False, input_shape=(32, 32, 3)).count_params()


def test_argument_errors_and_imagenet_file_name(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="Input size must be at least 32x32"):
        mobilenet_v3.MobileNetV3Large(input_shape=(31, 31, 3))
    with pytest.raises(ValueError, match=r"alpha must be 0.75 or 1.0"):
        mobilenet_v3.MobileNetV3Small(weights="imagenet", alpha=0.5)
    with pytest.raises(ValueError, match="pooling must be"):
        mobilenet_v3.MobileNetV3Small(include_top=False, pooling="sum")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.raises(FileNotFoundError,
                       match="weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5"):
        mobilenet_v3.MobileNetV3Large(weights="imagenet", include_top=False,
                                      input_shape=(224, 224, 3))
    assert applications.by_name("mobilenet_v3_small") is mobilenet_v3.MobileNetV3Small
    assert applications.MobileNetV3Large is mobilenet_v3.MobileNetV3Large


def test_cli_summary_explains_the_statistics(capsys):
    try:
        cli_main(["summary", "mobilenet_v3_small", "--explain"])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out.splitlines()
    assert "Total params: 2,554,968" in out
    assert "Non-trainable params: 12,112" in out
    assert any("moving_mean + moving_variance" in line for line in out)
