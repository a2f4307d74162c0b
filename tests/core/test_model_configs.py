"""Models serialise themselves (issue #17 item 6, issue #11 item 1): get_config/from_config,
to_json/model_from_json, clone_model, subclasses, the saving namespace and Lambda."""

import numpy as np
import pytest

import thawnet
from thawnet import layers as L
from thawnet.models import Model, Sequential, clone_model, model_from_json


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append, show_trainable=True)
    return lines


def _sequential():
    return Sequential([thawnet.Input((6,)), L.Dense(4, activation="relu"),
                       L.BatchNormalization(), L.Dropout(0.2), L.Dense(2)])


def _functional():
    a, b = thawnet.Input((4,), name="a"), thawnet.Input((4,), name="b")
    shared = L.Dense(3, name="shared")
    inner = Sequential([thawnet.Input((3,)), L.Dense(2, name="inner_dense")], name="inner")
    inner.trainable = False
    merged = L.Concatenate()([shared(a), shared(b)])
    out = L.Dense(1, name="head")(L.Add()([inner(shared(a)), L.Dense(2)(merged)]))
    return Model([a, b], out, name="two_towers")


@pytest.mark.parametrize("build", [_sequential, _functional])
def test_config_round_trip_rebuilds_an_identical_summary(build):
    model = build()
    config = model.get_config()
    rebuilt = type(model).from_config(config)
    assert _summary(rebuilt) == _summary(model)
    assert rebuilt.get_config() == config
    assert [v.shape for v in rebuilt.weights] == [v.shape for v in model.weights]
    assert rebuilt.trainable_split() == model.trainable_split()


def test_from_config_is_not_an_empty_model_any_more():
    model = _sequential()
    assert len(Sequential.from_config(model.get_config()).layers) == 4
    functional = _functional()
    assert len(Model.from_config(functional.get_config()).layers) == len(functional.layers) == 8


def test_to_json_and_model_from_json_give_the_same_outputs_with_the_same_weights():
    model = _functional()
    rebuilt = model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    x = [np.ones((2, 4), "float32"), np.arange(8, dtype="float32").reshape(2, 4)]
    np.testing.assert_array_equal(np.asarray(rebuilt(x)), np.asarray(model(x)))
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_json("{nope")


def test_clone_model_makes_new_layers_and_honours_clone_function():
    model = _sequential()
    clone = clone_model(model)
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert _summary(clone) == _summary(model)
    seen = []

    def keep_dense(layer):
        seen.append(layer.name)
        return layer if isinstance(layer, L.Dense) else type(layer).from_config(
            layer.get_config())

    shared = clone_model(model, clone_function=keep_dense)
    assert shared.layers[0] is model.layers[0] and shared.layers[1] is not model.layers[1]
    assert seen == [layer.name for layer in model.layers]


def test_subclasses_of_sequential_and_model_summarise_and_save(tmp_path):
    @thawnet.saving.register_keras_serializable(package="Tests")
    class MySequential(Sequential):
        pass

    model = MySequential([thawnet.Input((3,)), L.Dense(2)])
    assert _summary(model)[0] == 'Model: "my_sequential_1"'
    model.save(tmp_path / "s.thawnet")
    loaded = thawnet.models.load_model(tmp_path / "s.thawnet")
    assert type(loaded) is MySequential
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_registered_custom_layer_and_activation_load_by_name_without_custom_objects(tmp_path):
    @thawnet.saving.register_keras_serializable(package="Tests")
    def doubled(x):
        return 2.0 * x

    @thawnet.saving.register_keras_serializable(package="Tests")
    class Shift(L.Layer):
        def __init__(self, by=1.0, **kwargs):
            super().__init__(**kwargs)
            self.by = by

        def call(self, x):
            return x + self.by

        def get_config(self):
            return {**super().get_config(), "by": self.by}

    model = Sequential([thawnet.Input((2,)), L.Dense(2, activation=doubled), Shift(3.0)])
    config = model.get_config()
    assert [e["class_name"] for e in config["layers"]] == ["Dense", "Tests>Shift"]
    assert config["layers"][0]["config"]["activation"] == "Tests>doubled"
    model.save(tmp_path / "c.thawnet")
    loaded = thawnet.models.load_model(tmp_path / "c.thawnet")
    x = np.ones((1, 2), "float32")
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert thawnet.saving.get_registered_name(Shift) == "Tests>Shift"
    assert thawnet.saving.get_custom_objects()["Tests>Shift"] is Shift


def test_custom_object_scope_and_unknown_classes():
    class Local(L.Layer):
        def call(self, x):
            return x

    model = Sequential([thawnet.Input((2,)), Local(name="local")])
    description = model.to_json()
    with pytest.raises(ValueError, match=r"'Local' is neither a thawnet class nor registered.*"
                                         r"register_keras_serializable"):
        model_from_json(description)
    with thawnet.saving.custom_object_scope({"Local": Local}):
        assert type(model_from_json(description).layers[0]) is Local


def test_serialize_and_deserialize_keras_object_round_trip():
    dense = L.Dense(3, activation="tanh", name="d")
    config = thawnet.saving.serialize_keras_object(dense)
    assert (config["class_name"], config["module"]) == ("Dense", "keras.layers.dense")
    again = thawnet.saving.deserialize_keras_object(config)
    assert isinstance(again, L.Dense) and again.get_config() == dense.get_config()
    relu = thawnet.saving.deserialize_keras_object(
        {"class_name": "function", "config": "relu", "module": "keras.activations"})
    assert relu is thawnet.activations.relu


def test_lambda_works_in_code_and_saving_names_the_layer_and_the_fix(tmp_path):
    model = Sequential([thawnet.Input((3,)), L.Lambda(lambda x: x * 2.0, name="times_two"),
                        L.Dense(1)])
    out = model.predict(np.ones((2, 3), "float32"), verbose=0)
    assert out.shape == (2, 1)
    with pytest.raises(ValueError, match=r'layer "times_two".*Python function.*files never hold '
                                         r"code.*register_keras_serializable"):
        model.save(tmp_path / "l.thawnet")
    assert not (tmp_path / "l.thawnet").exists()


def test_registered_lambda_function_saves_by_name(tmp_path):
    @thawnet.saving.register_keras_serializable(package="Tests")
    def halve(x):
        return x / 2.0

    model = Sequential([thawnet.Input((3,)), L.Lambda(halve)])
    model.save(tmp_path / "h.thawnet")
    loaded = thawnet.models.load_model(tmp_path / "h.thawnet")
    np.testing.assert_array_equal(np.asarray(loaded(np.ones((1, 3), "float32"))),
                                  [[0.5, 0.5, 0.5]])


def test_ops_in_a_functional_graph_round_trip_by_name(tmp_path):
    a, b = thawnet.Input((4,)), thawnet.Input((4,))
    h = thawnet.ops.concatenate([a + b, a * 2.0, b[:, ::2][..., :2]], axis=-1)
    out = L.Dense(1)(thawnet.ops.mean(h, axis=-1, keepdims=True) + h[:, :1])
    model = Model([a, b], out)
    x = [np.random.default_rng(i).normal(size=(3, 4)).astype("float32") for i in range(2)]
    again = model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(model(x)))
    model.save(tmp_path / "ops.thawnet")
    loaded = thawnet.models.load_model(tmp_path / "ops.thawnet")
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert _summary(loaded) == _summary(model)
    with pytest.raises(ValueError, match=r'"\w+_1" \(ops\.\w+ on symbolic tensors\).*\.thawnet'):
        model.save(tmp_path / "ops.keras")


def test_a_config_can_only_name_ops_of_thawnet_ops():
    a = thawnet.Input((2,))
    config = Model(a, a * 2.0).get_config()
    config["layers"][1]["config"]["op"] = "__import__"
    with pytest.raises(ValueError, match="not a thawnet.ops op"):
        Model.from_config(config)
