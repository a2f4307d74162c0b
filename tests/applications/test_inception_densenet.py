"""InceptionV3 and DenseNet121/169/201 against Keras 3: parameter counts, layer names, outputs
with the same weights, preprocessing, and the 'imagenet' weights contract.

Keras materialises every weight when it builds a model (one XLA compile per kernel shape,
about a minute on two cores), so its models are built once per module inside
``StatelessScope(initialize_variables=False)``: shapes, names and counts are Keras's own, and
outputs come from Keras's ``stateless_call`` fed with the same random values as thawnet.
"""

import json

import jax
import numpy as np
import pytest

import thawnet
from thawnet.applications import densenet, inception_v3

keras = pytest.importorskip("keras")

IV3_SMALL = (75, 75, 3)
DN_SMALL = (32, 32, 3)


def keras_model(builder, **kwargs):
    """A Keras application in a fresh session (auto names start at "conv2d"), weights unset."""
    keras.backend.clear_session()
    with keras.StatelessScope(initialize_variables=False):
        return builder(weights=None, **kwargs)


def counts(model):
    """(total, trainable, non-trainable) parameter counts of a Keras or thawnet model."""
    size = lambda ws: int(sum(np.prod(w.shape) for w in ws))  # noqa: E731
    trainable, frozen = size(model.trainable_weights), size(model.non_trainable_weights)
    return trainable + frozen, trainable, frozen


def weighted_layers(model):
    return [layer for layer in model.layers if layer.weights]


# XLA's default CPU optimisation takes ~20 s for DenseNet121; level 0 compiles 2-3x faster and
# computes the same function (each model's forward pass, both compiled the same way).
_FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _compiled(fn, *args):
    return np.asarray(jax.jit(fn).lower(*args).compile(compiler_options=_FAST_COMPILE)(*args))


def assert_same_outputs_as_keras(kmodel, tmodel, input_shape, seed):
    """Random values (BN statistics included) into both models, layer by layer; compare."""
    rng = np.random.default_rng(seed)
    values = {}
    for klayer, tlayer in zip(weighted_layers(kmodel), weighted_layers(tmodel), strict=True):
        assert klayer.name == tlayer.name
        arrays = []
        for w in klayer.weights:
            if w.name == "moving_variance":
                a = rng.uniform(0.5, 1.5, w.shape)
            elif len(w.shape) > 1:
                a = rng.normal(0.0, 1.0 / np.sqrt(np.prod(w.shape[:-1])), w.shape)
            else:
                a = rng.normal(0.0, 0.1, w.shape)
            values[id(w)] = a.astype("float32")
            arrays.append(values[id(w)])
        tlayer.set_weights(arrays)
    x = rng.uniform(-1.0, 1.0, (2,) + input_shape).astype("float32")
    expected = _compiled(lambda t, n, x: kmodel.stateless_call(t, n, x, training=False)[0],
                         [values[id(w)] for w in kmodel.trainable_variables],
                         [values[id(w)] for w in kmodel.non_trainable_variables], x)
    by_path = tmodel.variables_by_path()
    trainable, frozen = tmodel.trainable_split()
    got = _compiled(lambda t, n, x: tmodel.stateless_call(t, n, x, training=False)[0],
                    {p: by_path[p].value for p in trainable},
                    {p: by_path[p].value for p in frozen}, x)
    assert got.shape == expected.shape
    assert np.abs(expected).max() > 1e-2  # a real signal, not all zeros
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


@pytest.fixture(scope="module")
def keras_iv3_top():
    return keras_model(keras.applications.InceptionV3)


@pytest.fixture(scope="module")
def keras_iv3_small():
    return keras_model(keras.applications.InceptionV3, include_top=False,
                       input_shape=IV3_SMALL, pooling="avg")


@pytest.fixture(scope="module")
def keras_dn_top():
    return keras_model(keras.applications.DenseNet121)


@pytest.fixture(scope="module")
def keras_dn_small():
    return keras_model(keras.applications.DenseNet121, include_top=False,
                       input_shape=DN_SMALL, pooling="avg")


# -- InceptionV3 -----------------------------------------------------------------------------
def test_inception_v3_with_top_has_keras_counts_and_34432_non_trainable(keras_iv3_top, capsys):
    model = thawnet.applications.InceptionV3()
    assert counts(model) == counts(keras_iv3_top) == (23_851_784, 23_817_352, 34_432)
    model.summary()
    out = capsys.readouterr().out
    assert "Non-trainable params: 34,432" in out
    assert "Total params: 23,851,784" in out


@pytest.mark.parametrize("pooling, out_shape", [(None, (None, 1, 1, 2048)),
                                                ("avg", (None, 2048)), ("max", (None, 2048))])
def test_inception_v3_without_top_counts_match_keras_for_each_pooling(keras_iv3_small, pooling,
                                                                     out_shape):
    model = inception_v3.InceptionV3(include_top=False, input_shape=IV3_SMALL, pooling=pooling)
    assert counts(model) == counts(keras_iv3_small) == (21_802_784, 21_768_352, 34_432)
    assert tuple(model.output_shape) == out_shape


def test_inception_v3_layer_names_equal_keras_fresh_session(keras_iv3_top, keras_iv3_small):
    thawnet.layers.Conv2D(4, 3)  # earlier layers must not shift the model's names
    top = thawnet.applications.InceptionV3()
    small = thawnet.applications.InceptionV3(include_top=False, input_shape=IV3_SMALL,
                                             pooling="avg")
    assert [layer.name for layer in top.layers] == [layer.name for layer in keras_iv3_top.layers]
    assert [layer.name for layer in small.layers] == [
        layer.name for layer in keras_iv3_small.layers]
    assert len(top.layers) == 313
    assert top.layers[1].name == "conv2d" and top.layers[-3].name == "mixed10"
    assert small.layers[-1].name == "global_average_pooling2d"


def test_inception_v3_features_match_keras_at_75x75(keras_iv3_small):
    model = inception_v3.InceptionV3(include_top=False, input_shape=IV3_SMALL, pooling="avg")
    assert_same_outputs_as_keras(keras_iv3_small, model, IV3_SMALL, seed=0)


def test_inception_v3_builds_without_materialising_weights():
    model = inception_v3.InceptionV3(include_top=False, input_shape=IV3_SMALL)
    assert model.weights and not any(v.is_materialized for v in model.weights)


def test_inception_v3_rejects_inputs_smaller_than_75():
    with pytest.raises(ValueError, match=r"at least 75x75.*\(74, 80, 3\)"):
        inception_v3.InceptionV3(include_top=False, input_shape=(74, 80, 3))


def test_inception_v3_preprocess_input_matches_keras_tf_mode():
    x = np.random.default_rng(1).uniform(0, 255, (2, 5, 5, 3)).astype("float32")
    got = inception_v3.preprocess_input(x.copy())
    expected = keras.applications.inception_v3.preprocess_input(x.copy())
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert got.min() >= -1.0 and got.max() <= 1.0


# -- DenseNet --------------------------------------------------------------------------------
def test_densenet121_with_top_has_keras_counts(keras_dn_top):
    model = densenet.DenseNet121()
    assert counts(model) == counts(keras_dn_top) == (8_062_504, 7_978_856, 83_648)
    assert tuple(model.input_shape) == (None, 224, 224, 3)


@pytest.mark.parametrize("pooling, last, out_shape", [
    (None, "relu", (None, 1, 1, 1024)), ("avg", "avg_pool", (None, 1024)),
    ("max", "max_pool", (None, 1024))])
def test_densenet121_without_top_counts_match_keras_for_each_pooling(keras_dn_small, pooling,
                                                                    last, out_shape):
    model = densenet.DenseNet121(include_top=False, input_shape=DN_SMALL, pooling=pooling)
    assert counts(model) == counts(keras_dn_small) == (7_037_504, 6_953_856, 83_648)
    assert model.layers[-1].name == last
    assert tuple(model.output_shape) == out_shape


def test_densenet169_and_201_with_top_have_keras_counts():
    assert counts(densenet.DenseNet169()) == counts(keras_model(
        keras.applications.DenseNet169)) == (14_307_880, 14_149_480, 158_400)
    assert counts(densenet.DenseNet201()) == (20_242_984, 20_013_928, 229_056)


def test_densenet121_layer_names_equal_keras_fresh_session(keras_dn_top, keras_dn_small):
    thawnet.layers.ZeroPadding2D(1)  # earlier layers must not shift the model's names
    top = densenet.DenseNet121()
    small = densenet.DenseNet121(include_top=False, input_shape=DN_SMALL, pooling="avg")
    assert [layer.name for layer in top.layers] == [layer.name for layer in keras_dn_top.layers]
    assert [layer.name for layer in small.layers] == [
        layer.name for layer in keras_dn_small.layers]
    assert [layer.name for layer in top.layers[:2]] == ["input_layer", "zero_padding2d"]


def test_densenet121_features_match_keras_at_32x32(keras_dn_small):
    model = densenet.DenseNet121(include_top=False, input_shape=DN_SMALL, pooling="avg")
    assert_same_outputs_as_keras(keras_dn_small, model, DN_SMALL, seed=2)


def test_densenet_rejects_inputs_smaller_than_32():
    with pytest.raises(ValueError, match=r"at least 32x32.*\(31, 64, 3\)"):
        densenet.DenseNet121(include_top=False, input_shape=(31, 64, 3))


def test_densenet_preprocess_input_matches_keras_torch_mode():
    x = np.random.default_rng(3).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    got = densenet.preprocess_input(x.copy())
    expected = keras.applications.densenet.preprocess_input(x.copy())
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got[..., 0], (x[..., 0] / 255 - 0.485) / 0.229, atol=1e-5)


# -- weights, registry, decoding -------------------------------------------------------------
@pytest.mark.parametrize("builder, kwargs, file_name", [
    (inception_v3.InceptionV3, {}, "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"),
    (inception_v3.InceptionV3, {"include_top": False},
     "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (densenet.DenseNet121, {}, "densenet121_weights_tf_dim_ordering_tf_kernels.h5"),
    (densenet.DenseNet201, {"include_top": False},
     "densenet201_weights_tf_dim_ordering_tf_kernels_notop.h5")])
def test_imagenet_weights_missing_file_names_file_and_folder(builder, kwargs, file_name,
                                                            tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        builder(weights="imagenet", **kwargs)
    message = str(info.value)
    assert f"'{file_name}'" in message
    assert str(tmp_path / ".keras" / "models") in message


def test_weights_path_is_passed_to_load_weights(tmp_path, monkeypatch):
    path = tmp_path / "mine.weights.h5"
    path.write_bytes(b"")
    loaded = []
    monkeypatch.setattr(thawnet.models.Model, "load_weights",
                        lambda self, p, **kw: loaded.append((self.name, p)))
    model = densenet.DenseNet121(weights=str(path), include_top=False, input_shape=DN_SMALL)
    assert loaded == [("densenet121", str(path))] and model.name == "densenet121"


def test_imagenet_weights_with_other_class_count_is_refused():
    with pytest.raises(ValueError, match="classes=10"):
        inception_v3.InceptionV3(weights="imagenet", classes=10)


def test_registries_list_only_the_builders():
    assert inception_v3.MODELS == {"inception_v3": inception_v3.InceptionV3}
    assert inception_v3.__all__ == ["InceptionV3"]
    assert densenet.MODELS == {"densenet121": densenet.DenseNet121,
                               "densenet169": densenet.DenseNet169,
                               "densenet201": densenet.DenseNet201}
    assert densenet.__all__ == ["DenseNet121", "DenseNet169", "DenseNet201"]
    assert thawnet.applications.by_name("DenseNet121") is densenet.DenseNet121


def test_decode_predictions_returns_best_classes_first(tmp_path):
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    path = tmp_path / "imagenet_class_index.json"
    path.write_text(json.dumps(index))
    preds = np.zeros((1, 1000), "float32")
    preds[0, [7, 42, 999]] = [0.2, 0.7, 0.1]
    for module in (inception_v3, densenet):
        top = module.decode_predictions(preds, top=2, class_index_path=str(path))
        assert [(c, n) for c, n, _ in top[0]] == [("n00000042", "class_42"),
                                                  ("n00000007", "class_7")]
        assert top[0][0][2] == pytest.approx(0.7)


def test_input_tensor_after_a_preprocessing_layer_becomes_part_of_the_model():
    inputs = thawnet.layers.Input(shape=(80, 80, 3))
    scaled = thawnet.layers.Rescaling(1 / 255.0, name="scale")(inputs)
    model = inception_v3.InceptionV3(include_top=False, input_tensor=scaled, pooling="max")
    assert model.inputs[0] is inputs
    assert [layer.name for layer in model.layers[1:3]] == ["scale", "conv2d"]
    assert model.layers[-1].name == "global_max_pooling2d"
    assert tuple(model.output_shape) == (None, 2048)
