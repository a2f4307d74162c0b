"""Every activation of Keras 3.15's keras.activations exists in thawnet with the same defaults,
resolves by name, serialises to Keras's name, and matches Keras on a grid of values."""

import inspect

import keras
import numpy as np
import pytest

from thawnet import activations as ta
from thawnet import layers as tl

# A grid that crosses every kink of the piecewise activations (-3, -1, -0.5, 0, 0.5, 1, 3).
GRID = np.concatenate([np.linspace(-6.0, 6.0, 97), [-3, -1, -0.5, 0, 0.5, 1, 3]])
X = GRID.astype("f4").reshape(4, 26)

KERAS_NAMES = sorted(n for n in dir(keras.activations)
                     if not n.startswith("_") and n not in ("get", "serialize", "deserialize")
                     and callable(getattr(keras.activations, n)))

# Arguments that have no default in Keras (threshold) or that the grid should exercise.
CALL_ARGS = {"threshold": {"threshold": 0.3, "default_value": -2.0}}
VARIANTS = [("relu", {"negative_slope": 0.1, "max_value": 4.0, "threshold": 0.5}),
            ("elu", {"alpha": 0.5}), ("celu", {"alpha": 2.0}), ("gelu", {"approximate": True}),
            ("leaky_relu", {"negative_slope": 0.3}), ("soft_shrink", {"threshold": 1.0}),
            ("hard_shrink", {"threshold": 1.0}), ("squareplus", {"b": 1}),
            ("softmax", {"axis": 0}), ("log_softmax", {"axis": 0}), ("glu", {"axis": 0})]


def test_keras_activation_list_is_the_expected_one():
    # Guards the parity test against a Keras upgrade that adds functions silently.
    assert len(KERAS_NAMES) == 32, KERAS_NAMES


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_keras_activation_exists_with_the_same_signature(name):
    ours, theirs = getattr(ta, name), getattr(keras.activations, name)
    ours_params = {p.name: p.default for p in inspect.signature(ours).parameters.values()}
    theirs_params = {p.name: p.default for p in inspect.signature(theirs).parameters.values()}
    assert ours_params == theirs_params


# Keras 3.15's sparsemax sums the cumulative sums of the support instead of the support
# itself when it computes tau, so its rows do not sum to 1 once the support has more than one
# entry (a deliberate difference: thawnet follows the definition in Keras's own docstring).
# It is compared with Keras where the support is one entry and with a NumPy reference elsewhere.
KERAS_SPARSEMAX_DIFFERS = {"sparsemax"}


def _sparsemax_reference(x):
    """Martins & Astudillo (2016), per row, in float64."""
    out = np.zeros_like(x, dtype="f8")
    for i, row in enumerate(x.astype("f8")):
        z = np.sort(row)[::-1]
        k = np.arange(1, len(z) + 1)
        support = 1 + k * z > np.cumsum(z)
        tau = (z[support].sum() - 1) / support.sum()
        out[i] = np.maximum(row - tau, 0)
    return out


@pytest.mark.parametrize("name", sorted(set(KERAS_NAMES) - KERAS_SPARSEMAX_DIFFERS))
def test_activation_values_match_keras(name):
    kwargs = CALL_ARGS.get(name, {})
    expected = np.asarray(getattr(keras.activations, name)(X, **kwargs))
    got = np.asarray(ta.get(name)(X, **kwargs))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", VARIANTS)
def test_activation_arguments_match_keras(name, kwargs):
    expected = np.asarray(getattr(keras.activations, name)(X, **kwargs))
    np.testing.assert_allclose(np.asarray(getattr(ta, name)(X, **kwargs)), expected,
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_serialised_name_is_keras_name(name):
    expected = keras.activations.serialize(keras.activations.get(name))
    assert ta.serialize(ta.get(name)) == expected


def test_aliases_resolve_to_the_canonical_function():
    assert ta.get("hard_swish") is ta.hard_silu and ta.serialize(ta.hard_swish) == "hard_silu"
    assert ta.get("swish") is ta.silu and ta.serialize(ta.get("swish")) == "silu"


def test_sparsemax_matches_keras_where_the_support_is_one_entry():
    x = np.array([[1.0, 2.0, 3.0], [-4.0, 0.5, -1.0]], "f4")
    expected = np.asarray(keras.activations.sparsemax(x))
    np.testing.assert_allclose(np.asarray(ta.sparsemax(x)), expected, atol=1e-6)
    np.testing.assert_array_equal(expected, [[0, 0, 1], [0, 1, 0]])


@pytest.mark.parametrize("axis", [-1, 0])
def test_sparsemax_is_the_simplex_projection(axis):
    y = np.asarray(ta.sparsemax(X, axis=axis))
    ref = _sparsemax_reference(X if axis == -1 else X.T)
    np.testing.assert_allclose(y if axis == -1 else y.T, ref, atol=1e-6)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-6)
    assert (y == 0).sum() > 0 and (y >= 0).all()


def test_keras_sparsemax_still_differs_on_wide_supports():
    # If this fails, Keras fixed its sparsemax: move sparsemax back into the parity grid.
    x = np.array([[0.1, 0.2, 0.3]], "f4")
    assert not np.isclose(float(np.sum(keras.activations.sparsemax(x))), 1.0)
    np.testing.assert_allclose(np.asarray(ta.sparsemax(x)), [[1 / 3 - 0.1, 1 / 3, 1 / 3 + 0.1]],
                               atol=1e-6)


def test_glu_odd_axis_is_a_clear_error():
    with pytest.raises(ValueError, match=r"glu: the size of axis -1 must be even .*\(2, 3\)"):
        ta.glu(np.ones((2, 3), "f4"))


def test_activation_layer_round_trips_new_names():
    layer = tl.Activation("hard_swish")
    config = layer.get_config()
    assert config["activation"] == "hard_silu"
    clone = tl.Activation.from_config(config)
    np.testing.assert_allclose(np.asarray(clone(X)), np.asarray(keras.activations.hard_swish(X)),
                               atol=1e-6)


def test_unknown_activation_error_lists_new_names():
    with pytest.raises(ValueError, match="mish"):
        ta.get("mishh")
