"""EfficientNetV2B0-B3/S/M/L against keras.applications (the oracle): counts without
materialising weights, layer order and names, a Keras-written weight file loads and predicts
the same, in-model preprocessing, the CLI summary.

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
from thawnet.applications import efficientnet_v2 as ev2
from thawnet.cli import main as cli_main

# Keras 3.15.1 (weights=None, default size, top): count_params(), trainable, layers.
KERAS_TABLE = {
    "b0": (7_200_312, 7_139_704, 273), "b1": (8_212_124, 8_141_052, 337),
    "b2": (10_178_374, 10_096_086, 352), "b3": (14_467_622, 14_358_406, 412),
    "s": (21_612_360, 21_458_488, 516), "m": (54_431_388, 54_139_356, 743),
    "l": (119_027_848, 118_515_272, 1031),
}
SMALL = dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")


def _builder(variant):
    return getattr(ev2, f"EfficientNetV2{variant.upper()}")


def _keras_model(**kwargs):
    keras.backend.clear_session()
    global_state.set_global_attribute("uninitialized_variables", [])
    with StatelessScope(initialize_variables=False):
        model = keras.applications.EfficientNetV2B0(weights=None, **kwargs)
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


@pytest.mark.parametrize("variant", list(KERAS_TABLE))
def test_counts_and_layer_numbers_equal_keras_without_materialising(variant):
    model = _builder(variant)()
    total, trainable, n_layers = KERAS_TABLE[variant]
    assert model.count_params() == total
    assert sum(math.prod(w.shape) for w in model.trainable_weights) == trainable
    assert len(model.layers) == n_layers
    assert model.name == f"efficientnetv2-{variant}" and model.output_shape == (None, 1000)
    assert not any(v.is_materialized for v in model.weights)


def test_layer_order_names_and_shapes_equal_keras():
    theirs = _keras_model()[0]
    ours = ev2.EfficientNetV2B0()
    assert [type(a).__name__ for a in ours.layers] == [type(b).__name__ for b in theirs.layers]
    # Keras leaves the input, Rescaling and Normalization unnamed.
    named = [(a.name, b.name) for a, b in zip(ours.layers, theirs.layers)
             if type(b).__name__ not in ("InputLayer", "Rescaling", "Normalization")]
    assert all(a == b for a, b in named) and len(named) == len(theirs.layers) - 3
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


@pytest.fixture(scope="module")
def keras_small(tmp_path_factory):
    model, pending = _keras_model(**SMALL)
    _give_random_values(pending)
    folder = tmp_path_factory.mktemp("efficientnet_v2")
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
    model = ev2.EfficientNetV2B0(weights=str(folder / file_name), **SMALL)
    got = np.asarray(model.predict(x, verbose=0))
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_preprocessing_per_variant_and_registry():
    b0 = ev2.EfficientNetV2B0(include_top=False, input_shape=(32, 32, 3))
    s = ev2.EfficientNetV2S(include_top=False, input_shape=(32, 32, 3))
    assert [type(lay).__name__ for lay in b0.layers[1:3]] == ["Rescaling", "Normalization"]
    assert type(s.layers[1]).__name__ == "Rescaling" and s.layers[1].offset == -1
    bare = ev2.EfficientNetV2B0(include_top=False, input_shape=(32, 32, 3),
                                include_preprocessing=False)
    assert type(bare.layers[1]).__name__ == "Conv2D"
    images = np.ones((1, 4, 4, 3), "float32")
    assert ev2.preprocess_input(images) is images
    assert applications.by_name("efficientnet_v2b3") is ev2.EfficientNetV2B3
    assert applications.EfficientNetV2L is ev2.EfficientNetV2L


def test_imagenet_file_name(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.raises(FileNotFoundError, match="'efficientnetv2-m_notop.h5'"):
        ev2.EfficientNetV2M(weights="imagenet", include_top=False)


def test_cli_summary_explains_the_statistics(capsys):
    try:
        cli_main(["summary", "efficientnet_v2b0", "--explain"])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out.splitlines()
    assert "Total params: 7,200,312" in out
    assert "Non-trainable params: 60,608" in out
    assert any("moving_mean + moving_variance" in line for line in out)
