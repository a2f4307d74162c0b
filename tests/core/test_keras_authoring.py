"""Layer authoring as in Keras 3 (issue #17 item 3): the same custom-layer code runs on Keras 3
and on thawnet and trains to the same losses."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402

import thawnet  # noqa: E402
from thawnet import layers as L  # noqa: E402


def make_scaled_dense(K):
    """A Keras 3-style layer written once against the framework module ``K``: keyword
    add_weight, ``ops``, a scalar weight, a ``trainable=False`` counter assigned in ``call``,
    ``add_loss``, and a sublayer appended to a list in ``build``."""

    class ScaledDense(K.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.heads = []

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="glorot_uniform", name="w")
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
            self.calls = self.add_weight(shape=(), initializer="zeros", dtype="int32",
                                         trainable=False, name="calls")
            self.heads.append(K.layers.Dense(1, name="head"))

        def call(self, x, training=False):
            if training:
                self.calls.assign_add(1)
            self.add_loss(0.01 * K.ops.sum(K.ops.square(self.w)))
            h = K.ops.tanh(K.ops.matmul(x, self.w) * self.scale)
            return self.heads[0](h)

    return ScaledDense


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = (x[:, :1] * 0.7 - x[:, 1:2] * 0.2).astype("float32")
    return x, y


def test_keras3_style_custom_layer_trains_to_keras_losses():
    x, y = _data()
    k_model = keras.Sequential([keras.Input((5,)), make_scaled_dense(keras)(4)])
    t_model = thawnet.Sequential([thawnet.Input((5,)), make_scaled_dense(thawnet)(4)])
    t_model.set_weights(k_model.get_weights())
    for m in (k_model, t_model):
        m.compile(optimizer=m.__module__.split(".")[0] == "keras" and keras.optimizers.SGD(0.1)
                  or thawnet.optimizers.SGD(0.1), loss="mse")
    k_hist = k_model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0).history
    t_hist = t_model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(t_hist["loss"], k_hist["loss"], rtol=1e-5, atol=1e-6)
    layer = t_model.layers[0]
    assert int(layer.calls.numpy()) == 12 == int(k_model.layers[0].calls.numpy())
    # Counts as in Keras: the counter is a non-trainable weight, the head's weights tracked.
    assert [len(m.trainable_weights) for m in (k_model, t_model)] == [4, 4]
    assert [len(m.non_trainable_weights) for m in (k_model, t_model)] == [1, 1]
    for a, b in zip(t_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_counter_is_state_explained_and_audited_as_such():
    model = thawnet.Sequential([thawnet.Input((5,)), make_scaled_dense(thawnet)(4)])
    lines = []
    model.summary(explain=True, print_fn=lines.append)
    assert "  1 = calls: non-trainable weight of scaled_dense_1 (created with trainable=False)" \
        in lines
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(*_data(), epochs=1, batch_size=32, verbose=0)
    assert history.audit["scaled_dense_1/calls"].verdict == (
        "statistic updated: non-trainable weight of scaled_dense_1 (created with trainable=False)")
    assert model.layers[0].calls.role == "statistic"


def test_add_loss_enters_the_loss_and_eager_losses_describe_the_last_call():
    x, y = _data()
    model = thawnet.Sequential([thawnet.Input((5,)), make_scaled_dense(thawnet)(4)])
    model.compile(optimizer="sgd", loss="mse")
    w = np.asarray(model.layers[0].w.value)
    penalty = 0.01 * float(np.sum(w ** 2))
    mse = float(np.mean((np.asarray(model(x)) - y) ** 2))
    assert float(model.evaluate(x, y, batch_size=64, verbose=0)) == pytest.approx(
        mse + penalty, rel=1e-5)
    assert [float(v) for v in model.losses] == pytest.approx([penalty], rel=1e-5)
    model(x)
    assert len(model.losses) == 1  # not accumulated across calls


def test_build_called_directly_marks_the_layer_built():
    layer = L.Dense(3)
    layer.build((None, 4))
    assert layer.built and [v.shape for v in layer.weights] == [(4, 3), (3,)]
    assert np.asarray(layer(np.ones((2, 4), "float32"))).shape == (2, 3)
    assert len(layer.weights) == 2  # not built a second time
    assert L.Flatten().built and L.Activation("relu").built  # no weights: built at once


def test_add_weight_keywords_names_defaults_and_the_old_positional_form():
    layer = L.Layer()
    a = layer.add_weight()
    b = layer.add_weight(shape=(2,), dtype="int32")
    c = layer.add_weight("legacy", (3,), "ones")
    assert (a.name, a.shape, b.name, c.name) == ("variable", (), "variable_1", "legacy")
    assert np.asarray(b.value).tolist() == [0, 0]  # int: zeros by default
    assert np.asarray(c.value).tolist() == [1.0, 1.0, 1.0]
    assert type(a.initializer).__name__ in ("VarianceScaling", "GlorotUniform")


def test_variable_arithmetic_assign_and_derived_trainable():
    layer = L.Dense(2)
    layer.build((None, 2))
    k = layer.kernel
    k.assign(np.ones((2, 2), "float32"))
    k.assign_add(np.ones((2, 2), "float32"))
    k.assign_sub(0.5 * np.ones((2, 2), "float32"))
    np.testing.assert_array_equal(np.asarray(k * 2), np.full((2, 2), 3.0))
    np.testing.assert_array_equal(np.asarray(1 + k), np.full((2, 2), 2.5))
    np.testing.assert_array_equal(k.numpy() @ np.ones(2), [3.0, 3.0])
    assert k.trainable
    layer.trainable = False
    assert [v.trainable for v in layer.weights] == [False, False]
    layer.trainable = True
    assert [v.trainable for v in layer.weights] == [True, True]


def test_scalar_weights_survive_fit_and_the_audit():
    x = np.random.default_rng(1).normal(size=(32, 3)).astype("float32")
    norm = L.Normalization()
    norm.adapt(x)
    model = thawnet.Sequential([thawnet.Input((3,)), norm, L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, x[:, :1], epochs=1, batch_size=16, verbose=0)
    assert history.audit["normalization_1/count"].verdict == "unchanged"


def test_sublayers_in_containers_are_tracked_trained_and_saved(tmp_path):
    @thawnet.saving.register_keras_serializable(package="Tests")
    class Tower(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = {"first": L.Dense(3)}

        def build(self, input_shape):
            self.more = []
            self.more.append(L.Dense(2))

        def call(self, x):
            return self.more[0](self.blocks["first"](x))

    model = thawnet.Sequential([thawnet.Input((4,)), Tower()])
    assert model.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 2), "float32"), verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.save(tmp_path / "tower.thawnet")
    # In the same session the rebuilt tower's Dense layers get new automatic names
    # (dense_3, dense_4): the weights are matched by structure, as Keras matches them.
    loaded = thawnet.models.load_model(tmp_path / "tower.thawnet")
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    thawnet.clear_session()  # as in a new process: inner layers are numbered from 1 again
    loaded = thawnet.models.load_model(tmp_path / "tower.thawnet")
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_trainable_must_be_a_boolean():
    with pytest.raises(ValueError, match="to be a boolean.*trainable='yes'"):
        L.Dense(2, trainable="yes")
    with pytest.raises(ValueError, match="to be a boolean.*trainable=None"):
        L.Dense(2, trainable=None)
    layer = L.Dense(2)
    with pytest.raises(ValueError, match='"dense_.*": trainable must be True or False'):
        layer.trainable = "no"


def test_summary_of_an_unbuilt_model_says_how_to_build_it():
    with pytest.raises(ValueError, match=r'"sequential_1" has not been built yet.*input_shape=.*'
                                         r"Input.*model.build\(\(None, \.\.\.\)\)"):
        thawnet.Sequential([L.Dense(2)]).summary()


def test_functional_api_details_as_in_keras():
    a, b = thawnet.Input((3,)), thawnet.Input((3,))

    class Pair(L.Layer):
        def call(self, x, y):
            return x * y

    dense = L.Dense(2)
    out = dense(Pair()(a, b))
    model = thawnet.Model([a, b], out)
    assert (dense.input_shape, dense.output_shape) == ((None, 3), (None, 2))
    assert dense.output is out and model.inputs == [a, b]
    x = [np.full((2, 3), 2.0, "float32"), np.full((2, 3), 3.0, "float32")]
    np.testing.assert_allclose(np.asarray(model(x)),
                               np.asarray(dense(np.full((2, 3), 6.0, "float32"))), rtol=1e-6)
    # training= fixed at construction stays in force in inference.
    always = thawnet.Model(a, L.Dropout(0.5)(a, training=True))
    dropped = float(np.mean(np.asarray(always(np.ones((200, 3), "float32"))) == 0))
    assert 0.3 < dropped < 0.7
    # A Sequential from another model's layers, and one that starts with a model.
    base = thawnet.Sequential([thawnet.Input((4,)), L.Dense(3), L.Dense(2)])
    assert thawnet.Sequential(base.layers[:-1] + [L.Dense(5)]).count_params() == 15 + 20
    assert thawnet.Sequential([base, L.Dense(1)]).count_params() == 15 + 8 + 3
