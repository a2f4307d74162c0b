"""MobileNetV2 and EfficientNet against Keras 3: counts, layer names, outputs, preprocessing,
ImageNet weight files.

Keras's JAX backend compiles one random op per weight shape when it builds a model (over a
minute for EfficientNetB0 on two cores). The oracle models are built once per module with
zero-filled initial values (the parity test overwrites every weight anyway), which keeps the
architecture, names and counts exactly Keras's.
"""

import math

import numpy as np
import pytest

import keras
from keras.src.backend.jax import core as keras_jax_core

import thawnet
from thawnet.applications import efficientnet, mobilenet_v2
from thawnet.applications.efficientnet import EfficientNetB0
from thawnet.applications.mobilenet_v2 import MobileNetV2

SMALL = (32, 32, 3)

# name: (Keras builder, thawnet builder, kwargs); every model built with weights=None.
CASES = {
    "mnv2_top": ("MobileNetV2", MobileNetV2, {}),
    "mnv2_small_avg": ("MobileNetV2", MobileNetV2,
                       dict(include_top=False, input_shape=SMALL, pooling="avg")),
    "mnv2_half_max": ("MobileNetV2", MobileNetV2,
                      dict(include_top=False, input_shape=SMALL, pooling="max", alpha=0.5)),
    "eff_top": ("EfficientNetB0", EfficientNetB0, {}),
    "eff_small_avg": ("EfficientNetB0", EfficientNetB0,
                      dict(include_top=False, input_shape=SMALL, pooling="avg")),
    "eff_small_max": ("EfficientNetB0", EfficientNetB0,
                      dict(include_top=False, input_shape=SMALL, pooling="max")),
}

# Keras 3.15.1 EfficientNetB1..B7(weights=None): input size, count_params(), non-trainable
# parameters, number of layers (measured once; building them here would take over a minute).
KERAS_EFFICIENTNET_TABLE = {
    1: (240, 7856239, 62055, 342), 2: (260, 9177569, 67575, 342),
    3: (300, 12320535, 87303, 387), 4: (380, 19466823, 125207, 477),
    5: (456, 30562527, 172743, 579), 6: (528, 43265143, 224439, 669),
    7: (600, 66658687, 310727, 816),
}


def _counts(model):
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    non_trainable = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    return model.count_params(), trainable, non_trainable


@pytest.fixture(scope="module")
def keras_models():
    """Keras's models for CASES, each built in a fresh session (Keras's auto names)."""
    original = keras_jax_core.JaxVariable._initialize_with_initializer

    def zeros_init(variable, initializer):
        variable._initialize(np.zeros(variable._shape, variable._dtype))

    keras_jax_core.JaxVariable._initialize_with_initializer = zeros_init
    try:
        models = {}
        for key, (builder, _, kwargs) in CASES.items():
            keras.backend.clear_session()
            models[key] = getattr(keras.applications, builder)(weights=None, **kwargs)
    finally:
        keras_jax_core.JaxVariable._initialize_with_initializer = original
    return models


@pytest.fixture(scope="module")
def thawnet_models():
    thawnet.clear_session()
    return {key: builder(weights=None, **kwargs) for key, (_, builder, kwargs) in CASES.items()}


@pytest.mark.parametrize("key", list(CASES))
def test_parameter_counts_equal_keras(key, keras_models, thawnet_models):
    assert _counts(thawnet_models[key]) == _counts(keras_models[key])


@pytest.mark.parametrize("key", list(CASES))
def test_layer_names_shapes_and_model_name_equal_keras(key, keras_models, thawnet_models):
    ours, theirs = thawnet_models[key], keras_models[key]
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert [type(layer).__name__ for layer in ours.layers] == \
        [type(layer).__name__ for layer in theirs.layers]
    assert ours.name == theirs.name
    assert tuple(ours.outputs[0].shape) == tuple(theirs.output.shape)
    assert tuple(ours.inputs[0].shape) == tuple(theirs.input.shape)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]


def test_construction_leaves_weights_unmaterialised(thawnet_models):
    for model in thawnet_models.values():
        assert not any(v.is_materialized for v in model.weights)


def test_efficientnet_drop_connect_dropouts_match_keras(keras_models, thawnet_models):
    theirs = {l.name: l for l in keras_models["eff_top"].layers if type(l).__name__ == "Dropout"}
    ours = {l.name: l for l in thawnet_models["eff_top"].layers
            if type(l).__name__ == "Dropout"}
    assert sorted(ours) == sorted(theirs) and "block2b_drop" in ours and "top_dropout" in ours
    for name, layer in theirs.items():
        assert ours[name].rate == pytest.approx(layer.rate)
        assert tuple(ours[name].noise_shape or ()) == tuple(layer.noise_shape or ())
    assert ours["block6d_drop"].rate == pytest.approx(0.2 * 14 / 16)  # block 14 of 16
    no_drop = EfficientNetB0(include_top=False, input_shape=SMALL, drop_connect_rate=0.0)
    assert not [l.name for l in no_drop.layers if l.name.endswith("_drop")]


@pytest.mark.parametrize("k", sorted(KERAS_EFFICIENTNET_TABLE))
def test_efficientnet_b1_to_b7_counts_and_sizes_equal_keras(k):
    size, total, non_trainable, n_layers = KERAS_EFFICIENTNET_TABLE[k]
    model = getattr(efficientnet, f"EfficientNetB{k}")()
    assert tuple(model.inputs[0].shape) == (None, size, size, 3)
    assert model.count_params() == total
    assert _counts(model)[2] == non_trainable
    assert len(model.layers) == n_layers
    assert model.name == f"efficientnetb{k}"


def _randomise_keras(model, rng):
    """Random non-trivial weights that keep the input's signal alive through the whole net.

    He-scaled kernels, BatchNormalization near (not at) identity, small random biases and
    means, squeeze-and-excite gates mostly open, ImageNet-like Normalization statistics.
    """
    for layer in model.layers:
        values = []
        for w in layer.weights:
            name, shape = w.name, tuple(w.shape)
            if name in ("kernel", "depthwise_kernel"):  # Keras 3 names both "kernel"
                depthwise = type(layer).__name__ == "DepthwiseConv2D"
                fan_in = math.prod(shape[:2]) if depthwise else math.prod(shape[:-1])
                v = rng.normal(0.0, math.sqrt(2.0 / fan_in), shape)
            elif name in ("gamma", "moving_variance"):
                v = rng.uniform(0.9, 1.1, shape)
            elif name == "mean":  # Normalization
                v = rng.uniform(0.4, 0.5, shape)
            elif name == "variance":
                v = rng.uniform(0.05, 0.07, shape)
            elif name == "count":
                v = np.array(1000)
            elif name == "bias" and layer.name.endswith("se_expand"):
                v = rng.uniform(2.0, 3.0, shape)
            else:  # beta, moving_mean, other biases
                v = rng.uniform(-0.05, 0.05, shape)
            values.append(np.asarray(v, dtype=w.dtype))
        if values:
            layer.set_weights(values)
            if hasattr(layer, "finalize_state"):
                layer.finalize_state()  # Keras's Normalization caches mean/variance at build


@pytest.mark.parametrize("key,low,high", [("mnv2_small_avg", -1.0, 1.0),
                                          ("eff_small_avg", 0.0, 255.0)])
def test_outputs_equal_keras_after_copying_weights(key, low, high, keras_models,
                                                   thawnet_models):
    rng = np.random.default_rng(0)
    theirs, ours = keras_models[key], thawnet_models[key]
    _randomise_keras(theirs, rng)
    keras_layers = [l for l in theirs.layers if l.weights]
    our_layers = [l for l in ours.layers if l.weights]
    assert [l.name for l in our_layers] == [l.name for l in keras_layers]
    for mine, keras_layer in zip(our_layers, keras_layers):
        mine.set_weights([np.asarray(w) for w in keras_layer.get_weights()])
    x = rng.uniform(low, high, (2,) + SMALL).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    got = np.asarray(ours.predict(x, verbose=0))
    assert got.shape == expected.shape == (2, theirs.output.shape[-1])
    # The outputs depend on the input (the signal survives the 17/16 blocks), so equal
    # outputs mean equal computations, not two networks collapsed onto their biases.
    assert np.abs(expected[0] - expected[1]).max() > 0.1
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_normalization_weights_are_non_trainable_statistics(thawnet_models):
    norm = thawnet_models["eff_top"].get_layer("normalization")
    assert [(w.name, tuple(w.shape), w.trainable) for w in norm.weights] == [
        ("mean", (3,), False), ("variance", (3,), False), ("count", (), False)]


def test_preprocess_input_equals_keras():
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    expected = keras.applications.mobilenet_v2.preprocess_input(images.copy())
    np.testing.assert_allclose(mobilenet_v2.preprocess_input(images), expected, atol=1e-6)
    assert mobilenet_v2.preprocess_input(np.array([[[0, 255, 127.5]]])).tolist() == \
        [[[-1.0, 1.0, 0.0]]]
    pixels = rng.integers(0, 256, (1, 4, 4, 3)).astype("uint8")
    np.testing.assert_allclose(mobilenet_v2.preprocess_input(pixels),
                               keras.applications.mobilenet_v2.preprocess_input(pixels.copy()),
                               atol=1e-6)
    assert efficientnet.preprocess_input(images) is images
    assert keras.applications.efficientnet.preprocess_input(images) is images


@pytest.mark.parametrize("build,file_name", [
    (lambda: MobileNetV2(weights="imagenet"),
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"),
    (lambda: MobileNetV2(weights="imagenet", include_top=False, alpha=0.5,
                         input_shape=(160, 160, 3)),
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_160_no_top.h5"),
    (lambda: EfficientNetB0(weights="imagenet"), "efficientnetb0.h5"),
    (lambda: EfficientNetB0(weights="imagenet", include_top=False, input_shape=SMALL),
     "efficientnetb0_notop.h5"),
])
def test_imagenet_weights_missing_file_names_file_and_folder(build, file_name, tmp_path,
                                                             monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        build()
    message = str(info.value)
    assert file_name in message
    assert str(tmp_path / ".keras" / "models") in message


def test_mobilenet_imagenet_nonstandard_size_falls_back_to_224_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.warns(UserWarning, match="224"):
        with pytest.raises(FileNotFoundError, match="kernels_1.0_224_no_top.h5"):
            MobileNetV2(weights="imagenet", include_top=False, input_shape=SMALL)


def test_imagenet_efficientnet_adds_keras_std_rescaling(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(thawnet.models.Model, "load_weights",
                        lambda self, path, *a, **k: calls.append((self, path)))
    models_dir = tmp_path / ".keras" / "models"
    models_dir.mkdir(parents=True)
    (models_dir / "efficientnetb0_notop.h5").write_bytes(b"")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    model = EfficientNetB0(weights="imagenet", include_top=False, input_shape=SMALL)
    assert calls == [(model, str(models_dir / "efficientnetb0_notop.h5"))]
    names = [layer.name for layer in model.layers[:5]]
    assert names == ["input_layer", "rescaling", "normalization", "rescaling_1", "stem_conv_pad"]
    np.testing.assert_allclose(model.get_layer("rescaling_1").scale,
                               [1 / math.sqrt(s) for s in (0.229, 0.224, 0.225)])


def test_weights_path_is_loaded(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(thawnet.models.Model, "load_weights",
                        lambda self, path, *a, **k: calls.append(path))
    path = tmp_path / "w.weights.h5"
    path.write_bytes(b"")
    MobileNetV2(weights=str(path), include_top=False, input_shape=SMALL)
    EfficientNetB0(weights=str(path), include_top=False, input_shape=SMALL)
    assert calls == [str(path), str(path)]


@pytest.mark.parametrize("builder", [MobileNetV2, EfficientNetB0])
def test_bad_arguments_raise_value_errors_like_keras(builder):
    with pytest.raises(ValueError, match="at least 32x32"):
        builder(include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="static input_shape"):
        builder(input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="classes"):
        builder(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="pooling"):
        builder(include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="weights"):
        builder(weights="/no/such/file.h5")


def test_mobilenet_alpha_rules():
    with pytest.raises(ValueError, match="alpha"):
        MobileNetV2(weights="imagenet", alpha=0.6)
    wide = MobileNetV2(alpha=1.4, include_top=False, input_shape=(96, 96, 3))
    assert wide.name == "mobilenetv2_1.40_96"
    assert wide.get_layer("Conv_1").filters == 1792  # widened only when alpha > 1
    assert MobileNetV2(alpha=0.5, include_top=False).get_layer("Conv_1").filters == 1280


def test_models_registry_and_exports():
    assert mobilenet_v2.MODELS == {"mobilenet_v2": MobileNetV2}
    assert efficientnet.MODELS["efficientnet_b0"] is EfficientNetB0
    assert sorted(efficientnet.MODELS) == [f"efficientnet_b{k}" for k in range(8)]
    assert mobilenet_v2.__all__ == ["MobileNetV2"]
    assert "preprocess_input" not in efficientnet.__all__
    assert thawnet.applications.by_name("mobilenet_v2") is MobileNetV2


@pytest.mark.parametrize("builder,channels", [(MobileNetV2, 1280), (EfficientNetB0, 1280)])
def test_input_tensor_builds_on_the_given_graph(builder, channels):
    image = thawnet.layers.Input(shape=(64, 64, 3), name="image")
    scaled = thawnet.layers.Rescaling(2.0, name="pre_scale")(image)
    model = builder(input_tensor=scaled, include_top=False)
    assert model.inputs[0] is image
    assert [layer.name for layer in model.layers[:2]] == ["image", "pre_scale"]
    assert tuple(model.outputs[0].shape) == (None, 2, 2, channels)
