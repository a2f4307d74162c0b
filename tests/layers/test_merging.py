"""Merging layers against Keras 3: outputs, symbolic shapes, configs, and shape errors."""

import keras
import numpy as np
import pytest

import thawnet.layers as tl
from thawnet.models import Model

RNG = np.random.default_rng(0)


def _rand(*shape):
    return RNG.standard_normal(shape).astype("float32")


def _assert_parity(name, kwargs, arrays):
    """Same outputs (inference and training), weights, params and config round trip."""
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(tl, name)(**kwargs)
    expected = np.asarray(theirs(arrays))
    for training in (False, True):
        np.testing.assert_allclose(np.asarray(ours(arrays, training=training)),
                                   np.asarray(theirs(arrays, training=training)),
                                   rtol=1e-5, atol=1e-5)
    ours.set_weights(theirs.get_weights())
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights] == []
    assert ours.count_params() == theirs.count_params() == 0
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)
    rebuilt = getattr(tl, name).from_config(ours.get_config())
    assert rebuilt.get_config() == ours.get_config()
    np.testing.assert_allclose(np.asarray(rebuilt(arrays)), expected, rtol=1e-5, atol=1e-5)
    return ours, theirs


ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_merge_of_two_same_shape_inputs_matches_keras(name):
    _assert_parity(name, {}, [_rand(2, 5, 3), _rand(2, 5, 3)])


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if n != "Subtract"])
def test_elementwise_merge_of_three_inputs_matches_keras(name):
    _assert_parity(name, {}, [_rand(2, 4), _rand(2, 4), _rand(2, 4)])


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shapes", [[(2, 3), (2, 1)], [(2, 5, 3), (2, 3)], [(2, 1, 3), (2, 4, 1)]],
                         ids=["size1", "lower_rank", "both_ways"])
def test_elementwise_merge_broadcasts_like_keras(name, shapes):
    _assert_parity(name, {}, [_rand(*s) for s in shapes])


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_matches_keras(axis):
    shapes = {-1: [(2, 3, 4), (2, 3, 2)], 1: [(2, 3, 4), (2, 5, 4)], 2: [(2, 3, 1), (2, 3, 4)]}
    _assert_parity("Concatenate", {"axis": axis}, [_rand(*s) for s in shapes[axis]])


@pytest.mark.parametrize("axes,normalize,shapes", [
    (1, False, [(2, 4), (2, 4)]),
    (-1, True, [(2, 4), (2, 4)]),
    ((1, 2), False, [(2, 3, 5), (2, 4, 3)]),
    ((2, 1), True, [(2, 3, 5), (2, 5, 4)]),
    (1, False, [(2, 3), (2, 3, 4)]),
    ((2, 1), False, [(2, 4, 3), (2, 3)]),
])
def test_dot_matches_keras(axes, normalize, shapes):
    _assert_parity("Dot", {"axes": axes, "normalize": normalize}, [_rand(*s) for s in shapes])


@pytest.mark.parametrize("name,kwargs,shapes", [
    ("Add", {}, [(3,), (1,)]),
    ("Multiply", {}, [(2, 3), (3,)]),
    ("Add", {}, [(None, 4), (3, 4)]),
    ("Concatenate", {}, [(3, 4), (3, 5)]),
    ("Concatenate", {"axis": 1}, [(3, 4), (2, 4)]),
    ("Dot", {"axes": 1}, [(3,), (3,)]),
    ("Dot", {"axes": (1, 2)}, [(3, 5), (4, 3)]),
])
def test_merge_symbolic_output_shape_matches_keras(name, kwargs, shapes):
    theirs = getattr(keras.layers, name)(**kwargs)([keras.Input(s) for s in shapes])
    ours = getattr(tl, name)(**kwargs)([tl.Input(shape=s) for s in shapes])
    assert ours.shape == tuple(theirs.shape)


def test_functional_helpers_build_their_layers_and_pass_kwargs():
    a, b = _rand(2, 3), _rand(2, 3)
    for fn, ref in [(tl.add, a + b), (tl.subtract, a - b), (tl.multiply, a * b),
                    (tl.average, (a + b) / 2), (tl.maximum, np.maximum(a, b)),
                    (tl.minimum, np.minimum(a, b)), (tl.concatenate, np.concatenate([a, b], -1)),
                    (tl.dot, np.sum(a * b, -1, keepdims=True))]:
        np.testing.assert_allclose(np.asarray(fn([a, b])), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(tl.concatenate([a[:, None], b[:, None]], axis=1)),
                               np.stack([a, b], 1))
    np.testing.assert_allclose(np.asarray(tl.dot([a, b], axes=1, normalize=True)),
                               np.asarray(keras.layers.dot([a, b], axes=1, normalize=True)),
                               rtol=1e-5, atol=1e-6)
    x, y = tl.Input(shape=(3,)), tl.Input(shape=(3,))
    out = tl.add([x, y], name="my_sum")
    assert out.history[0].name == "my_sum" and isinstance(out.history[0], tl.Add)


def test_add_incompatible_shapes_fail_at_graph_construction():
    layer = tl.Add(name="add_bad")
    with pytest.raises(ValueError, match=r'Add "add_bad" needs inputs of the same shape '
                                         r"\(or broadcastable.*received shapes "
                                         r"\[\(None, 3\), \(None, 4\)\].*Dense or Reshape"):
        layer([tl.Input(shape=(3,)), tl.Input(shape=(4,))])


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if n != "Subtract"])
def test_elementwise_merge_incompatible_shapes_fail_eagerly(name):
    with pytest.raises(ValueError, match=rf'{name} ".*" needs inputs of the same shape'):
        getattr(tl, name)()([_rand(2, 5, 3), _rand(2, 3, 3)])


def test_merge_rejects_different_batch_sizes():
    with pytest.raises(ValueError, match=r"same batch size; received shapes \[\(2, 3\), \(4, 3\)\]"):
        tl.Add()([tl.Input(shape=(3,), batch_size=2), tl.Input(shape=(3,), batch_size=4)])


def test_merge_rejects_a_single_tensor():
    with pytest.raises(ValueError, match=r'Multiply ".*" must be called on a list of tensors.*'
                                         r"received a single input of shape \(None, 3\)"):
        tl.Multiply()(tl.Input(shape=(3,)))


def test_subtract_needs_exactly_two_inputs():
    x = tl.Input(shape=(3,))
    with pytest.raises(ValueError, match=r'Subtract ".*" needs exactly 2 inputs; received 3'):
        tl.Subtract()([x, x, x])


def test_concatenate_mismatch_off_the_axis_fails_at_graph_construction():
    with pytest.raises(ValueError, match=r'Concatenate "cat" needs inputs whose dimensions match '
                                         r"on every axis except the concatenation axis \(axis=-1\)"
                                         r"; received shapes \[\(None, 3, 4\), \(None, 2, 5\)\]: "
                                         r"axis 1 differs \(3 vs 2\)"):
        tl.Concatenate(name="cat")([tl.Input(shape=(3, 4)), tl.Input(shape=(2, 5))])
    with pytest.raises(ValueError, match=r"the ranks differ"):
        tl.concatenate([tl.Input(shape=(3, 4)), tl.Input(shape=(5,))])
    with pytest.raises(ValueError, match=r"axis=3 is out of range"):
        tl.Concatenate(axis=3)([tl.Input(shape=(3, 4)), tl.Input(shape=(3, 4))])


def test_dot_errors_name_the_layer_and_the_axes():
    with pytest.raises(ValueError, match=r'Dot ".*" needs the dot axes to have the same size; '
                                         r"axis 1 of the first input is 3 and axis 1 of the "
                                         r"second is 4"):
        tl.Dot(axes=1)([tl.Input(shape=(3,)), tl.Input(shape=(4,))])
    with pytest.raises(ValueError, match=r"over the batch axis 0"):
        tl.Dot(axes=0)([_rand(2, 3), _rand(2, 3)])
    with pytest.raises(ValueError, match=r"axes must be an int or a pair of ints"):
        tl.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match=r"axis must be an integer"):
        tl.Concatenate(axis="last")


def test_reused_merge_layer_checks_new_shapes():
    layer = tl.Add()
    layer([_rand(2, 3), _rand(2, 3)])
    with pytest.raises(ValueError, match=r"received shapes \[\(2, 3\), \(2, 4\)\]"):
        layer([_rand(2, 3), _rand(2, 4)])
    with pytest.raises(ValueError, match=r"received shapes \[\(None, 3\), \(None, 5\)\]"):
        layer([tl.Input(shape=(3,)), tl.Input(shape=(5,))])


def _two_branch_model(lib, make_input, make_model):
    """Two inputs -> Dense branches -> Concatenate -> Dense -> Add (skip) -> Multiply/Average."""
    a, b = make_input((4,)), make_input((6,))
    dense = [lib.Dense(5, activation="relu"), lib.Dense(5), lib.Dense(5, activation="tanh"),
             lib.Dense(2)]
    ha, hb = dense[0](a), dense[1](b)
    h = lib.Add()([dense[2](lib.Concatenate()([ha, hb])), ha])
    h = lib.Average()([h, lib.Multiply()([h, hb])])
    return make_model([a, b], dense[3](h)), dense


def test_functional_model_with_concatenate_and_add_matches_keras():
    k_model, k_dense = _two_branch_model(keras.layers, lambda s: keras.Input(s), keras.Model)
    t_model, t_dense = _two_branch_model(tl, lambda s: tl.Input(shape=s), Model)
    for ours, theirs in zip(t_dense, k_dense):
        ours.set_weights(theirs.get_weights())
    xa, xb = _rand(3, 4), _rand(3, 6)
    np.testing.assert_allclose(np.asarray(t_model([xa, xb])), np.asarray(k_model([xa, xb])),
                               rtol=1e-5, atol=1e-5)
    assert t_model.output_shape == tuple(k_model.output_shape)
    assert t_model.count_params() == k_model.count_params()
    assert [w.shape for w in t_model.weights] == [tuple(w.shape) for w in k_model.weights]
