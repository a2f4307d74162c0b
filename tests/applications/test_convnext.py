"""ConvNeXtTiny..XLarge against keras.applications (the oracle): counts without materialising
weights (LayerScale gammas are trainable parameters, as in Keras), layer names, a Keras-written
weight file loads and predicts the same, the LayerScale layer, the CLI summary.

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
from thawnet.applications import convnext
from thawnet.cli import main as cli_main

# Keras 3.15.1 (weights=None, 224x224 top): count_params() (all trainable: the Normalization
# stem holds constants, not weights).
KERAS_COUNTS = {"tiny": 28_589_128, "small": 50_223_688, "base": 88_591_464,
                "large": 197_767_336, "xlarge": 350_196_968}
BUILDERS = {"tiny": convnext.ConvNeXtTiny, "small": convnext.ConvNeXtSmall,
            "base": convnext.ConvNeXtBase, "large": convnext.ConvNeXtLarge,
            "xlarge": convnext.ConvNeXtXLarge}
SMALL = dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")


def _keras_model(**kwargs):
    keras.backend.clear_session()
    global_state.set_global_attribute("uninitialized_variables", [])
    with StatelessScope(initialize_variables=False):
        model = keras.applications.ConvNeXtTiny(weights=None, **kwargs)
    pending = global_state.get_global_attribute("uninitialized_variables", [])
    global_state.set_global_attribute("uninitialized_variables", [])
    return model, pending


def _give_random_values(pending, seed=0):
    rng = np.random.default_rng(seed)
    for v in pending:
        shape = tuple(v.shape)
        if v.name == "gamma" or v.name == "variable":  # LayerNorm scales, LayerScale gammas
            value = rng.uniform(0.5, 1.5, shape)
        elif v.name in ("beta", "bias"):
            value = rng.normal(0.0, 0.1, shape)
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            value = rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)
        v._initializer = lambda s, dtype=None, value=value: value.astype("float32")
        v._deferred_initialize()


@pytest.mark.parametrize("variant", list(KERAS_COUNTS))
def test_counts_equal_keras_and_layer_scale_gammas_are_parameters(variant):
    model = BUILDERS[variant]()
    assert model.count_params() == KERAS_COUNTS[variant]
    assert sum(math.prod(w.shape) for w in model.trainable_weights) == KERAS_COUNTS[variant]
    assert model.name == f"convnext_{variant}" and model.output_shape == (None, 1000)
    gammas = [w for lay in model.layers if isinstance(lay, convnext.LayerScale)
              for w in lay.weights]
    assert len(gammas) == sum(convnext.MODEL_CONFIGS[variant][0])
    assert all(w.role == "parameter" and w.trainable for w in gammas)
    assert not any(v.is_materialized for v in model.weights)


def _weighted(model):
    return [lay for lay in model.layers if lay.weights]


def test_weighted_layers_names_and_weight_shapes_equal_keras():
    theirs = _keras_model()[0]
    ours = convnext.ConvNeXtTiny()
    assert [(type(a).__name__, a.name) for a in _weighted(ours)] == \
        [(type(b).__name__, b.name) for b in _weighted(theirs)]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.get_layer("convnext_tiny_stage_0_block_0_layer_scale").weights] \
        == ["variable"]


@pytest.fixture(scope="module")
def keras_small(tmp_path_factory):
    model, pending = _keras_model(**SMALL)
    _give_random_values(pending)
    folder = tmp_path_factory.mktemp("convnext")
    model.save_weights(str(folder / "model.weights.h5"))
    with h5py.File(folder / "model.h5", "w") as handle:
        save_weights_to_hdf5_group(handle, model)
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    return folder, x, np.asarray(model.predict(x, verbose=0))


@pytest.mark.parametrize("file_name", ["model.weights.h5",
                                       pytest.param("model.h5", marks=pytest.mark.slow)])
def test_keras_written_weight_files_load_and_predict_the_same(keras_small, file_name):
    folder, x, expected = keras_small
    model = convnext.ConvNeXtTiny(weights=str(folder / file_name), **SMALL)
    got = np.asarray(model.predict(x, verbose=0))
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_layer_scale_multiplies_by_its_gamma_and_round_trips():
    layer = convnext.LayerScale(0.5, 3)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(np.asarray(layer(x)), 0.5 * x)
    clone = convnext.LayerScale.from_config(layer.get_config())
    assert (clone.init_values, clone.projection_dim) == (0.5, 3)


def test_registry_errors_and_imagenet_file_name(tmp_path, monkeypatch):
    assert applications.by_name("convnext_xlarge") is convnext.ConvNeXtXLarge
    assert applications.ConvNeXtBase is convnext.ConvNeXtBase
    assert convnext.preprocess_input is not None
    with pytest.raises(ValueError, match="does not match weights variant"):
        convnext.ConvNeXtTiny(weights="imagenet", name="my_net")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.raises(FileNotFoundError, match="'convnext_small_notop.h5'"):
        convnext.ConvNeXtSmall(weights="imagenet", include_top=False)


def test_cli_summary_counts(capsys):
    try:
        cli_main(["summary", "convnext_tiny", "--explain"])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out.splitlines()
    assert "Total params: 28,589,128" in out and "Non-trainable params: 0" in out
