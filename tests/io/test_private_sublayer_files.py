"""Sublayers held under private names (Keras's GroupedQueryAttention keeps ``_query_dense``...)
are in Keras weight files, and a weight no file group can hold is an error, never lost."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl


def _gqa_models():
    q = keras.Input((4, 8))
    k_model = keras.Model(q, keras.layers.GroupQueryAttention(4, 2, 2, name="gqa")(q, q))
    qt = tl.Input((4, 8))
    t_model = thawnet.Model(qt, tl.GroupQueryAttention(4, 2, 2, name="gqa")(qt, qt))
    return t_model, k_model


def test_grouped_query_attention_weights_round_trip_through_keras_files(tmp_path):
    t_model, k_model = _gqa_models()
    x = np.random.default_rng(0).normal(size=(2, 4, 8)).astype("float32")
    k_model.save_weights(tmp_path / "k.weights.h5")
    t_model.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(np.asarray(t_model(x)), np.asarray(k_model(x)), atol=1e-5)
    t_model.save_weights(tmp_path / "t.weights.h5")
    again = _gqa_models()[0]
    again.load_weights(tmp_path / "t.weights.h5")
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(t_model(x)))


class _Hidden(tl.Layer):
    """A layer whose only sublayer sits in a private list: no Keras file group can hold it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._parts = [tl.Dense(2)]

    def call(self, x):
        return self._parts[0](x)

    def _children(self):
        return list(self._parts)


def test_a_weight_no_file_group_holds_is_an_error_on_save(tmp_path):
    x = tl.Input((3,))
    model = thawnet.Model(x, _Hidden(name="hidden")(x))
    with pytest.raises(ValueError, match=r"cannot place 2 weight\(s\) in a Keras weights file"):
        model.save_weights(tmp_path / "m.weights.h5")
    assert not (tmp_path / "m.weights.h5").exists()
