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


def _two_levels():
    """outer ⊃ mid ⊃ inner ⊃ (conv_a, conv_b), with a sibling at every level."""
    x = Input(shape=(4,))
    inner = Model(x, Dense(3, name="conv_b")(Dense(3, name="conv_a")(x)), name="inner")
    y = Input(shape=(4,))
    mid = Model(y, Dense(2, name="mid_dense")(inner(y)), name="mid")
    z = Input(shape=(4,))
    outer = Model(z, Dense(1, name="head")(mid(z)), name="outer")
    return outer, mid, inner


def test_unfreeze_thaws_the_owner_chain_two_levels_deep_and_leaves_siblings_frozen():
    outer, mid, inner = _two_levels()
    outer.trainable = False
    assert thawnet.unfreeze(outer, "conv_a") == ["conv_a"]
    assert outer.trainable_split()[0] == ["mid/inner/conv_a/kernel", "mid/inner/conv_a/bias"]
    assert (outer.trainable, mid.trainable, inner.trainable) == (True, True, True)
    flags = {layer.name: layer.trainable for layer in
             [outer.get_layer("head"), mid.get_layer("mid_dense"), inner.get_layer("conv_b")]}
    assert flags == {"head": False, "mid_dense": False, "conv_b": False}
    assert thawnet.explain(outer, "mid/inner/conv_b/kernel").frozen_by == "conv_b"


def test_unfreeze_of_a_nested_model_by_name_thaws_it_whole_and_its_owners_only():
    outer, mid, inner = _two_levels()
    outer.trainable = False
    thawnet.unfreeze(outer, "inner")
    assert outer.trainable_split()[0] == [f"mid/inner/conv_{c}/{w}" for c in "ab"
                                          for w in ("kernel", "bias")]
    thawnet.freeze(outer, "conv_b")  # freezing never touches the owners
    assert outer.trainable_split()[0] == ["mid/inner/conv_a/kernel", "mid/inner/conv_a/bias"]
    assert outer.trainable and mid.trainable and inner.trainable


def test_a_variable_reads_every_owner_inside_a_running_model():
    outer, mid, inner = _two_levels()
    outer.trainable = False
    conv_a = inner.get_layer("conv_a")
    conv_a.trainable = True
    assert conv_a.kernel.trainable is True   # alone, the layer's own flag is set
    seen = {}

    class Probe(Layer):
        def call(self, inputs):
            seen["kernel"] = conv_a.kernel.trainable
            return inputs

    z = Input(shape=(4,))
    probed = Model(z, Probe()(outer(z)))
    probed.trainable = False
    conv_a.trainable = True
    probed(np.ones((1, 4), "f4"))
    assert seen["kernel"] is False           # inside the frozen model it is not


def test_files_keep_every_own_flag_so_the_one_rule_gives_the_same_split(tmp_path):
    outer, mid, inner = _two_levels()
    outer.trainable = False
    inner.get_layer("conv_a").trainable = True   # frozen all the same: its owners are
    thawnet.unfreeze(outer, "mid_dense")          # thaws outer and mid, not inner
    path = str(tmp_path / "m.thawnet")
    outer.save(path)
    loaded = thawnet.saving.load_model(path)
    assert loaded.trainable_split() == outer.trainable_split()
    assert loaded.trainable_split()[0] == ["mid/mid_dense/kernel", "mid/mid_dense/bias"]
    flags = [(layer.name, layer.trainable) for layer in
             (loaded, loaded.get_layer("mid"), loaded.get_layer("mid").get_layer("inner"),
              loaded.get_layer("mid").get_layer("inner").get_layer("conv_a"))]
    assert flags == [("outer", True), ("mid", True), ("inner", False), ("conv_a", True)]
    assert str(thawnet.explain(loaded, "mid/inner/conv_a/kernel")) == (
        'mid/inner/conv_a/kernel: not trainable (parameter): frozen by trainable=False on '
        '"inner"')
