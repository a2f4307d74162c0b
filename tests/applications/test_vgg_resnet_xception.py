"""VGG16/19, ResNet50/101/152 and Xception against keras.applications (the oracle).

Keras initialises every weight eagerly with one compiled random call per shape, which takes
minutes for these models on a small CPU. The oracle models are therefore built inside Keras's
``StatelessScope(initialize_variables=False)``: shapes, names and counts without any values.
For output parity the (small) Keras model then receives NumPy random weights through Keras's
own deferred-initialisation hook, and those weights are copied into thawnet layer by layer.
"""

import re

import jax.numpy as jnp
import keras
import numpy as np
import pytest
from keras.src.backend.common import global_state
from keras.src.backend.common.stateless_scope import StatelessScope

import thawnet
from thawnet import applications
from thawnet.applications import imagenet_utils, resnet, vgg, xception
from thawnet.models import Model

BUILDERS = {
    "vgg16": (vgg.VGG16, keras.applications.VGG16, 32),
    "vgg19": (vgg.VGG19, keras.applications.VGG19, 32),
    "resnet50": (resnet.ResNet50, keras.applications.ResNet50, 32),
    "resnet101": (resnet.ResNet101, keras.applications.ResNet101, 32),
    "resnet152": (resnet.ResNet152, keras.applications.ResNet152, 32),
    "xception": (xception.Xception, keras.applications.Xception, 71),
}
# (model, kwargs): the top at Keras's default size; no top at the smallest allowed size.
COUNT_CASES = [(m, {}) for m in BUILDERS] + [
    (m, {"include_top": False, "input_shape": (BUILDERS[m][2],) * 2 + (3,)}) for m in BUILDERS
] + [("resnet50", {"include_top": False, "pooling": "avg"}),
     ("vgg16", {"include_top": False, "pooling": "max", "input_shape": (32, 32, 3)})]


def _keras_without_values(builder, **kwargs):
    """A Keras application with shaped but uninitialised weights (no random-init compiles)."""
    before = list(global_state.get_global_attribute("uninitialized_variables", []) or [])
    global_state.set_global_attribute("uninitialized_variables", [])
    with StatelessScope(initialize_variables=False):
        model = builder(weights=None, **kwargs)
    pending = global_state.get_global_attribute("uninitialized_variables", [])
    global_state.set_global_attribute("uninitialized_variables", before)  # leave Keras as found
    return model, pending


def _give_random_values(keras_model, pending, seed=0):
    """Initialise a value-less Keras model with scaled NumPy random weights (BN stats too)."""
    rng = np.random.default_rng(seed)
    for v in pending:
        shape, name = tuple(v.shape), v.name
        if name in ("gamma", "moving_variance"):
            value = rng.uniform(0.5, 1.5, shape)
        elif name in ("beta", "moving_mean", "bias"):
            value = rng.normal(0.0, 0.1, shape)
        else:  # kernels: He-like scale keeps deep activations finite
            fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            value = rng.normal(0.0, np.sqrt(1.0 / fan_in), shape)
        v._initializer = lambda s, dtype=None, value=value: value.astype("float32")
        v._deferred_initialize()
    assert all(w.value is not None for w in keras_model.weights)


def _counts(model):
    size = lambda ws: int(sum(np.prod(w.shape) for w in ws))  # noqa: E731
    return (size(model.weights), size(model.trainable_weights),
            size(model.non_trainable_weights))


def _is_auto_name(layer):
    """True for Keras's automatic names (``conv2d``, ``add_3``, ``input_layer``...)."""
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", type(layer).__name__).lower()
    base = base.replace("2_d", "2d")
    return re.fullmatch(rf"{base}(_\d+)?", layer.name) is not None


@pytest.fixture(scope="module")
def keras_shapes():
    """Value-less Keras oracle models, built once per (model, kwargs)."""
    cache = {}

    def get(model_name, **kwargs):
        key = (model_name, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = _keras_without_values(BUILDERS[model_name][1], **kwargs)[0]
        return cache[key]
    return get


@pytest.mark.parametrize("model_name,kwargs", COUNT_CASES,
                         ids=[f"{m}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'top'}"
                              for m, kw in COUNT_CASES])
def test_param_counts_and_weight_shapes_equal_keras(keras_shapes, model_name, kwargs):
    theirs = keras_shapes(model_name, **kwargs)
    ours = BUILDERS[model_name][0](**kwargs)
    assert _counts(ours) == _counts(theirs)
    assert ours.count_params() == theirs.count_params()
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.output_shape == tuple(theirs.output_shape)
    assert ours.name == theirs.name
    assert not any(v.is_materialized for v in ours.weights)  # construction stays lazy


# Layers Keras leaves unnamed: the input, and Xception's 4 shortcut convs, 4 BNs and 12 adds.
UNNAMED_IN_KERAS = {"vgg16": 1, "vgg19": 1, "resnet50": 1, "resnet101": 1, "resnet152": 1,
                    "xception": 21}


@pytest.mark.parametrize("model_name", list(BUILDERS))
def test_layer_order_classes_and_explicit_names_equal_keras(keras_shapes, model_name):
    theirs = keras_shapes(model_name)
    # A second Keras build tells explicit names (stable) from automatic ones (renumbered).
    again = _keras_without_values(BUILDERS[model_name][1])[0]
    ours = BUILDERS[model_name][0]()
    assert [type(lay).__name__ for lay in ours.layers] == \
        [type(lay).__name__ for lay in theirs.layers]
    explicit = [(a.name, b.name) for a, b, c in zip(ours.layers, theirs.layers, again.layers)
                if b.name == c.name]
    assert len(theirs.layers) - len(explicit) == UNNAMED_IN_KERAS[model_name]
    assert [a for a, _ in explicit] == [b for _, b in explicit]
    assert ours.get_layer("predictions").units == 1000


def test_layer_names_spot_checks():
    model = resnet.ResNet50(include_top=False, input_shape=(32, 32, 3))
    names = [lay.name for lay in model.layers]
    for name in ("conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad", "pool1_pool",
                 "conv2_block1_0_conv", "conv2_block1_1_conv", "conv2_block3_out",
                 "conv4_block6_add", "conv5_block3_out"):
        assert name in names
    assert names[-1] == "conv5_block3_out"
    assert [lay.name for lay in vgg.VGG19().layers][-4:] == ["flatten", "fc1", "fc2",
                                                            "predictions"]
    assert xception.Xception(include_top=False, input_shape=(71, 71, 3)).layers[-1].name == \
        "block14_sepconv2_act"


PARITY_CASES = {
    "vgg16": dict(include_top=True, classes=10, input_shape=(32, 32, 3),
                  classifier_activation=None),
    "resnet50": dict(include_top=False, input_shape=(32, 32, 3), pooling="avg"),
    "xception": dict(include_top=True, classes=10, input_shape=(71, 71, 3),
                     classifier_activation=None),
}


@pytest.mark.parametrize("model_name", list(PARITY_CASES))
def test_outputs_equal_keras_with_copied_weights(model_name):
    kwargs = PARITY_CASES[model_name]
    theirs, pending = _keras_without_values(BUILDERS[model_name][1], **kwargs)
    _give_random_values(theirs, pending)
    ours = BUILDERS[model_name][0](**kwargs)
    pairs = [(a, b) for a, b in zip([lay for lay in ours.layers if lay.weights],
                                    [lay for lay in theirs.layers if lay.weights])]
    assert len(pairs) == len([lay for lay in theirs.layers if lay.weights])
    for a, b in pairs:
        assert type(a).__name__ == type(b).__name__
        if not _is_auto_name(b):
            assert a.name == b.name
        a.set_weights(b.get_weights())
    x = np.random.default_rng(1).standard_normal((2,) + kwargs["input_shape"]).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    got = np.asarray(ours.predict(x, verbose=0))
    assert got.shape == expected.shape
    assert np.abs(expected).max() > 1e-3  # a real signal, not all zeros
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("module,keras_module", [
    (vgg, keras.applications.vgg16), (vgg, keras.applications.vgg19),
    (resnet, keras.applications.resnet), (resnet, keras.applications.resnet50),
    (xception, keras.applications.xception)])
@pytest.mark.parametrize("data_format", [None, "channels_first"])
def test_preprocess_input_equals_keras(module, keras_module, data_format):
    rng = np.random.default_rng(2)
    for images in (rng.uniform(0, 255, (2, 5, 4, 3)).astype("float32"),
                   rng.integers(0, 256, (5, 4, 3)).astype("uint8"),
                   rng.uniform(0, 255, (2, 3, 5, 4)).astype("float64")):
        if images.shape[-3 if data_format == "channels_first" else -1] != 3:
            continue
        before = images.copy()
        expected = keras_module.preprocess_input(images.copy(), data_format=data_format)
        got = module.preprocess_input(images, data_format=data_format)
        np.testing.assert_array_equal(images, before)  # ours never writes into the input
        assert isinstance(got, np.ndarray) and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-4)
        on_jax = module.preprocess_input(jnp.asarray(images), data_format=data_format)
        np.testing.assert_allclose(np.asarray(on_jax), expected, rtol=1e-6, atol=1e-4)


def test_preprocess_input_values_by_mode():
    pixel = np.array([[[0.0, 127.5, 255.0]]], "float32")
    np.testing.assert_allclose(resnet.preprocess_input(pixel)[0, 0],
                               [255.0 - 103.939, 127.5 - 116.779, 0.0 - 123.68], atol=1e-4)
    np.testing.assert_allclose(xception.preprocess_input(pixel)[0, 0], [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(imagenet_utils.preprocess_input(pixel, mode="torch")[0, 0],
                               [(0 - 0.485) / 0.229, (0.5 - 0.456) / 0.224,
                                (1.0 - 0.406) / 0.225], atol=1e-5)
    with pytest.raises(ValueError, match="mode must be one of"):
        imagenet_utils.preprocess_input(pixel, mode="bgr")


def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    return tmp_path / ".keras" / "models"


@pytest.mark.parametrize("builder,kwargs,file_name", [
    (resnet.ResNet50, {}, "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
    (vgg.VGG16, {"include_top": False, "input_shape": (32, 32, 3)},
     "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (xception.Xception, {}, "xception_weights_tf_dim_ordering_tf_kernels.h5"),
    (resnet.ResNet152, {"include_top": False},
     "resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5"),
])
def test_imagenet_weights_missing_names_file_and_folder(tmp_path, monkeypatch, builder, kwargs,
                                                       file_name):
    folder = _isolated_home(tmp_path, monkeypatch)
    with pytest.raises(FileNotFoundError) as err:
        builder(weights="imagenet", **kwargs)
    assert f"'{file_name}'" in str(err.value) and str(folder) in str(err.value)


def test_imagenet_weights_present_and_path_are_passed_to_load_weights(tmp_path, monkeypatch):
    folder = _isolated_home(tmp_path, monkeypatch)
    folder.mkdir(parents=True)
    (folder / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"")
    loaded = []
    monkeypatch.setattr(Model, "load_weights", lambda self, path, *a, **k: loaded.append(path))
    vgg.VGG19(weights="imagenet", include_top=False)
    own = tmp_path / "mine.weights.h5"
    own.write_bytes(b"")
    resnet.ResNet50(weights=str(own), include_top=False, input_shape=(32, 32, 3))
    assert loaded == [str(folder / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
                      str(own)]


def test_argument_errors_match_keras_rules():
    with pytest.raises(ValueError, match="at least 32x32"):
        resnet.ResNet50(include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError):
        keras.applications.ResNet50(weights=None, include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="at least 71x71"):
        xception.Xception(include_top=False, input_shape=(70, 70, 3))
    with pytest.raises(ValueError, match="classes` must be 1000"):
        vgg.VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="must be None"):
        vgg.VGG16(weights="/no/such/file.h5")
    with pytest.raises(ValueError, match=r"input_shape must be \(224, 224, 3\)"):
        resnet.ResNet50(weights="imagenet", input_shape=(200, 200, 3))
    with pytest.raises(ValueError, match="static input_shape"):
        vgg.VGG16(input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="pooling must be"):
        resnet.ResNet50(include_top=False, pooling="mean")
    assert vgg.VGG16(include_top=False).input_shape == (None, None, None, 3)
    assert xception.Xception().input_shape == (None, 299, 299, 3)


def test_input_tensor_is_built_on_and_source_input_kept():
    from thawnet.layers import Input, Rescaling
    raw = Input(shape=(32, 32, 3))
    scaled = Rescaling(1.0 / 255)(raw)
    model = resnet.ResNet50(include_top=False, input_tensor=scaled, pooling="max")
    assert model.inputs[0] is raw if isinstance(model.inputs, list) else model.inputs is raw
    assert model.output_shape == (None, 2048)
    assert model.layers[-1].name == "max_pool"
    with pytest.raises(ValueError, match="symbolic tensor"):
        vgg.VGG16(input_tensor=np.zeros((1, 32, 32, 3)))


def test_decode_predictions_reads_class_index_and_names_missing_file(tmp_path, monkeypatch):
    folder = _isolated_home(tmp_path, monkeypatch)
    preds = np.zeros((2, 1000), "float32")
    preds[0, [3, 7]] = [0.9, 0.1]
    preds[1, 999] = 1.0
    with pytest.raises(FileNotFoundError) as err:
        resnet.decode_predictions(preds)
    assert "imagenet_class_index.json" in str(err.value) and str(folder) in str(err.value)
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    path = tmp_path / "index.json"
    path.write_text(__import__("json").dumps(index))
    top = vgg.decode_predictions(preds, top=2, class_index_path=str(path))
    assert [r[:2] for r in top[0]] == [("n00000003", "class_3"), ("n00000007", "class_7")]
    assert top[0][0][2] == pytest.approx(0.9) and top[1][0][:2] == ("n00000999", "class_999")
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        xception.decode_predictions(np.zeros((2, 10)), class_index_path=str(path))


def test_registry_and_exports():
    assert vgg.MODELS == {"vgg16": vgg.VGG16, "vgg19": vgg.VGG19}
    assert resnet.MODELS == {"resnet50": resnet.ResNet50, "resnet101": resnet.ResNet101,
                             "resnet152": resnet.ResNet152}
    assert xception.MODELS == {"xception": xception.Xception}
    assert vgg.__all__ == ["VGG16", "VGG19"] and xception.__all__ == ["Xception"]
    assert applications.by_name("ResNet101") is resnet.ResNet101
    assert applications.Xception is xception.Xception
    assert not hasattr(applications, "preprocess_input")
    thawnet.clear_session()
