"""Weight roles and effective trainability (DESIGN.md section 1)."""

import numpy as np
import pytest

import thawnet
from thawnet.layers import Dense, Input, Layer
from thawnet.models import Model, Sequential
from thawnet.models.summary import count_split
from thawnet.variables import Variable, is_effectively_trainable


class Scaler(Layer):
    """A layer with one parameter and one statistic, for role tests."""

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (input_shape[-1],), "ones")
        self.seen = self.add_weight("seen", (), "zeros", role="statistic")

    def call(self, inputs, training=False):
        if training and self.trainable:
            self.seen.assign(self.seen.value + inputs.shape[0])
        return inputs * self.scale.value


def test_statistics_are_never_trainable_even_with_trainable_flag():
    v = Variable("m", (3,), initializer=lambda k, s, d: np.zeros(s), role="statistic",
                 trainable=True)
    assert v.trainable is False
    assert not is_effectively_trainable(v)


def test_unknown_role_is_refused_with_the_valid_roles():
    with pytest.raises(ValueError, match=r"role must be one of \('parameter', 'statistic'\)"):
        Variable("w", (1,), initializer=lambda k, s, d: np.zeros(s), role="buffer")


def test_trainable_false_on_a_model_freezes_every_sublayer_and_back():
    x = Input(shape=(4,))
    inner = Sequential([Dense(3, input_shape=(4,)), Dense(2)])
    model = Model(x, Dense(1)(inner(x)))
    inner.trainable = False
    assert count_split(model) == (15 + 8 + 3, 3, 23)
    assert all(not layer.trainable for layer in inner.layers)
    inner.trainable = True
    assert count_split(model) == (26, 26, 0)


def test_frozen_owner_chain_wins_over_a_thawed_inner_layer():
    inner = Sequential([Dense(2, input_shape=(3,))])
    outer = Sequential([inner])
    outer.trainable = False
    inner.layers[0].trainable = True  # the outer model is still frozen: nothing trains
    assert outer.trainable_weights == []
    assert len(outer.non_trainable_weights) == 2


def test_statistic_role_counts_as_non_trainable_and_weight_order_is_keras_order():
    model = Sequential([Scaler(input_shape=(3,))])
    assert [v.name for v in model.weights] == ["scale", "seen"]
    assert count_split(model) == (4, 3, 1)


def test_add_weight_trainable_false_declares_state_and_role_parameter_freezes():
    # Keras 3's add_weight(trainable=False) is state the layer updates itself: a statistic.
    # Holding a *parameter* constant is said with role="parameter" (or layer.trainable=False).
    layer = Dense(2)
    layer.build((None, 3))
    state = layer.add_weight("mask", (2,), "ones", trainable=False)
    frozen = layer.add_weight("held", (2,), "ones", trainable=False, role="parameter")
    assert (state.role, frozen.role) == ("statistic", "parameter")
    assert state not in layer.trainable_weights and frozen not in layer.trainable_weights
    assert [v.name for v in layer.weights] == ["kernel", "bias", "mask", "held"]


def test_statistics_update_only_in_training_mode_of_a_trainable_layer():
    layer = Scaler()
    model = Sequential([layer])
    x = np.ones((5, 3), np.float32)
    model(x)
    assert float(layer.seen.value) == 0.0
    model(x, training=True)
    assert float(layer.seen.value) == 5.0
    layer.trainable = False
    model(x, training=True)
    assert float(layer.seen.value) == 5.0


def test_automatic_names_are_numbered_per_class_from_one():
    thawnet.clear_session()
    a, b = Dense(1), Dense(1)
    model = Sequential()
    assert (a.name, b.name, model.name) == ("dense_1", "dense_2", "sequential_1")


def test_duplicate_layer_names_in_one_model_are_refused():
    with pytest.raises(ValueError, match='already has a layer named "twin"'):
        Sequential([Dense(1, name="twin", input_shape=(2,)), Dense(1, name="twin")])
