"""ResNet50V2/101V2/152V2 against keras.applications (the oracle): counts without materialising
weights, layer order and names, outputs with copied weights, Keras-written weight files, the
CLI summary.

The Keras oracle is built inside ``StatelessScope(initialize_variables=False)`` (shapes, names
and counts without values; see test_vgg_resnet_xception.py), and only ResNet50V2's at that.
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
from thawnet.applications import resnet_v2
from thawnet.cli import main as cli_main

# Keras 3.15.1 (weights=None, 224x224 top): count_params(), trainable, non-trainable, layers.
KERAS_TABLE = {
    "resnet50v2": (25_613_800, 25_568_360, 45_440, 192),
    "resnet101v2": (44_675_560, 44_577_896, 97_664, 379),
    "resnet152v2": (60_380_648, 60_236_904, 143_744, 566),
}
BUILDERS = {"resnet50v2": resnet_v2.ResNet50V2, "resnet101v2": resnet_v2.ResNet101V2,
            "resnet152v2": resnet_v2.ResNet152V2}
SMALL = dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")


def _counts(model):
    size = lambda ws: int(sum(math.prod(w.shape) for w in ws))  # noqa: E731
    return model.count_params(), size(model.trainable_weights), size(model.non_trainable_weights)


def _keras_model(**kwargs):
    """Keras's ResNet50V2 with shaped but uninitialised weights, plus those weights."""
    keras.backend.clear_session()
    global_state.set_global_attribute("uninitialized_variables", [])
    with StatelessScope(initialize_variables=False):
        model = keras.applications.ResNet50V2(weights=None, **kwargs)
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
        else:  # kernels: a 1/fan_in variance keeps deep activations finite
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            value = rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)
        v._initializer = lambda s, dtype=None, value=value: value.astype("float32")
        v._deferred_initialize()


@pytest.mark.parametrize("name", sorted(KERAS_TABLE))
def test_counts_and_layer_numbers_equal_keras_without_materialising(name):
    model = BUILDERS[name]()
    total, trainable, non_trainable, n_layers = KERAS_TABLE[name]
    assert _counts(model) == (total, trainable, non_trainable)
    assert len(model.layers) == n_layers and model.name == name
    assert model.output_shape == (None, 1000)
    assert not any(v.is_materialized for v in model.weights)


@pytest.fixture(scope="module")
def keras_top():
    return _keras_model()[0]


def test_layer_order_names_and_shapes_equal_keras(keras_top):
    ours = resnet_v2.ResNet50V2()
    assert _counts(ours) == _counts(keras_top)
    assert [type(a).__name__ for a in ours.layers] == [type(b).__name__ for b in keras_top.layers]
    # Every layer Keras names explicitly has that name here; the unnamed ones are the input
    # and the three strided 1x1 max-pools on identity shortcuts.
    explicit = [(a.name, b.name) for a, b in zip(ours.layers, keras_top.layers)
                if not b.name.startswith(("input_layer", "max_pooling2d"))]
    assert len(ours.layers) - len(explicit) == 4
    assert all(a == b for a, b in explicit)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in keras_top.weights]


@pytest.fixture(scope="module")
def keras_small(tmp_path_factory):
    """A small Keras ResNet50V2 with random values, its two weight files and its outputs."""
    model, pending = _keras_model(**SMALL)
    _give_random_values(pending)
    folder = tmp_path_factory.mktemp("resnet50v2")
    model.save_weights(str(folder / "model.weights.h5"))
    with h5py.File(folder / "model.h5", "w") as handle:
        save_weights_to_hdf5_group(handle, model)
    x = np.random.default_rng(1).standard_normal((2, 32, 32, 3)).astype("float32")
    return model, folder, x, np.asarray(model.predict(x, verbose=0))


@pytest.mark.slow  # the weights-file test below checks the same outputs in the default run
def test_outputs_equal_keras_with_copied_weights(keras_small):
    theirs, _, x, expected = keras_small
    ours = resnet_v2.ResNet50V2(**SMALL)
    pairs = list(zip([a for a in ours.layers if a.weights], [b for b in theirs.layers
                                                             if b.weights]))
    for a, b in pairs:
        assert type(a).__name__ == type(b).__name__
        a.set_weights(b.get_weights())
    got = np.asarray(ours.predict(x, verbose=0))
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


# Slow: a Keras build + two compiled predicts (~15 s on the shared 2-core machine); the default
# run checks one family's file parity end to end (test_convnext.py), THAWNET_FULL=1 all of them.
@pytest.mark.slow
@pytest.mark.parametrize("file_name", ["model.weights.h5", "model.h5"])
def test_keras_written_weight_files_load_and_predict_the_same(keras_small, file_name):
    _, folder, x, expected = keras_small
    model = resnet_v2.ResNet50V2(weights=str(folder / file_name), **SMALL)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=0, atol=1e-4)


def test_preprocess_input_is_keras_tf_mode():
    images = np.random.default_rng(2).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(resnet_v2.preprocess_input(images),
                               keras.applications.resnet_v2.preprocess_input(images.copy()),
                               atol=1e-6)


def test_imagenet_file_name_and_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.raises(FileNotFoundError, match="resnet101v2_weights_tf_dim_ordering_tf_"
                                                "kernels_notop.h5"):
        resnet_v2.ResNet101V2(weights="imagenet", include_top=False)
    assert resnet_v2.MODELS == BUILDERS
    assert applications.by_name("ResNet152V2") is resnet_v2.ResNet152V2
    assert applications.ResNet50V2 is resnet_v2.ResNet50V2


def test_cli_summary_explains_the_statistics(capsys):
    try:
        cli_main(["summary", "resnet50v2", "--explain"])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out.splitlines()
    assert "Total params: 25,613,800" in out
    assert "Non-trainable params: 45,440" in out
    assert any("moving_mean + moving_variance" in line for line in out)
