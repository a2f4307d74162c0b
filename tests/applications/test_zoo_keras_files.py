"""Zoo models load weight files that Keras itself wrote, and predict what Keras predicts.

Keras builds the model with random weights and saves them (``.weights.h5``, the legacy Keras 2
``.h5`` layout of the pretrained files users keep in ~/.keras/models, and a ``.keras``
archive); thawnet builds the same architecture, loads the file, and must agree within 1e-4.
A file for another model fails with an error and leaves the weights as they were.
"""

import h5py
import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state
from keras.src.backend.common.stateless_scope import StatelessScope
from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

import thawnet
from thawnet.applications import inception_v3, mobilenet_v2, resnet


def _keras_with_random_values(builder, seed, **kwargs):
    """A Keras application whose weights are NumPy random values (no per-shape init compiles)."""
    keras.backend.clear_session()
    global_state.set_global_attribute("uninitialized_variables", [])
    with StatelessScope(initialize_variables=False):
        model = builder(weights=None, **kwargs)
    pending = global_state.get_global_attribute("uninitialized_variables", [])
    global_state.set_global_attribute("uninitialized_variables", [])
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
    return model


CASES = {
    "resnet50": (resnet.ResNet50, keras.applications.ResNet50, (32, 32, 3)),
    "inception_v3": (inception_v3.InceptionV3, keras.applications.InceptionV3, (75, 75, 3)),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def saved(request, tmp_path_factory):
    ours_builder, keras_builder, shape = CASES[request.param]
    kwargs = dict(include_top=False, pooling="avg", input_shape=shape)
    theirs = _keras_with_random_values(keras_builder, seed=1, **kwargs)
    folder = tmp_path_factory.mktemp(request.param)
    theirs.save_weights(str(folder / "model.weights.h5"))
    with h5py.File(folder / "model.h5", "w") as handle:
        save_weights_to_hdf5_group(handle, theirs)
    x = np.random.default_rng(2).normal(size=(2,) + shape).astype("f4")
    expected = np.asarray(theirs.predict(x, verbose=0))
    return request.param, ours_builder, kwargs, folder, x, expected


@pytest.mark.parametrize("file_name", ["model.weights.h5", "model.h5"])
def test_keras_saved_weights_load_and_predict_the_same(saved, file_name):
    name, builder, kwargs, folder, x, expected = saved
    model = builder(weights=str(folder / file_name), **kwargs)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-4, rtol=0)


def test_a_file_for_another_model_is_refused_and_weights_stay(saved):
    name, _, _, folder, _, _ = saved
    model = mobilenet_v2.MobileNetV2(include_top=False, pooling="avg", input_shape=(32, 32, 3))
    before = [w.copy() for w in model.get_weights()]
    for file_name in ("model.weights.h5", "model.h5"):
        with pytest.raises(ValueError, match="expected|layer"):
            model.load_weights(str(folder / file_name))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_inception_v3_summary_answers_the_seeds_question():
    lines = []
    # explain="full": one line per layer (the grouped default is tested in test_explain.py).
    thawnet.applications.InceptionV3().summary(explain="full", print_fn=lines.append)
    assert "Non-trainable params: 34,432" in lines
    explained = [line for line in lines if "moving_mean + moving_variance" in line]
    assert len(explained) == 94
    assert sum(int(line.split(" = ")[0].replace(",", "")) for line in explained) == 34_432
