"""Out-of-range Embedding indices: an error in eager calls and in fit/evaluate's data check,
NaN rows (never another token's row) inside compiled code; Keras 3 shown alongside."""

import jax
import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

TABLE = np.arange(8, dtype="f4").reshape(4, 2)


def _embedding():
    return tl.Embedding(4, 2, weights=[TABLE], name="tokens")


def test_eager_call_names_the_layer_input_dim_and_the_offending_indices():
    emb = _embedding()
    with pytest.raises(ValueError, match=r'^Embedding "tokens": index 9 is out of range for '
                                         r"input_dim=4 \(valid indices 0 to 3\); the indices "
                                         r"received range from 1 to 9\. Fix: give the layer "
                                         r"input_dim=10 or more"):
        emb(np.array([[1, 9, 2]]))
    with pytest.raises(ValueError, match=r"index -1 is out of range .*range from -1 to 3\. "
                                         r"Fix: indices must be >= 0"):
        emb(np.array([[-1, 3]]))
    with pytest.raises(ValueError, match="index 4 is out of range"):
        emb(np.array([[4.0]]))  # floats are truncated first: 4.0 -> 4
    np.testing.assert_array_equal(np.asarray(emb(np.array([[3.9, 0.2]]))), TABLE[[3, 0]][None])


def test_valid_indices_give_keras_rows_exactly():
    ours = _embedding()
    theirs = keras.layers.Embedding(4, 2)
    theirs.build((None, 3))
    theirs.set_weights([TABLE])
    x = np.array([[0, 3, 1], [2, 2, 0]])
    np.testing.assert_array_equal(np.asarray(ours(x)), np.asarray(theirs(x)))


def test_inside_compiled_code_bad_indices_read_nan_rows_not_other_tokens():
    emb = _embedding()
    emb(np.array([[0]]))  # built
    x = np.array([[-3, 0, 3, 4, 100, -1]])
    out = np.asarray(jax.jit(lambda t: emb(t))(x))[0]
    np.testing.assert_array_equal(out[[1, 2]], TABLE[[0, 3]])
    assert np.isnan(out[[0, 3, 4, 5]]).all()
    # Keras on JAX: NaN at or above input_dim as well, but -1 silently reads the last row.
    theirs = keras.layers.Embedding(4, 2)
    theirs.build((None, 6))
    theirs.set_weights([TABLE])
    keras_out = np.asarray(theirs(x))[0]
    assert np.isnan(keras_out[[3, 4]]).all()
    np.testing.assert_array_equal(keras_out[5], TABLE[3])


def test_model_call_is_compiled_and_gives_nan_rows():
    model = thawnet.Sequential([tl.Input(shape=(3,), dtype="int32"), _embedding()])
    out = np.asarray(model(np.array([[1, 7, 2]])))
    np.testing.assert_array_equal(out[0, [0, 2]], TABLE[[1, 2]])
    assert np.isnan(out[0, 1]).all()


def _compiled_model():
    model = thawnet.Sequential([tl.Input(shape=(3,), dtype="int32"), _embedding(),
                                tl.Flatten(), tl.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fit_reports_the_first_bad_index_with_its_sample_and_batch():
    model = _compiled_model()
    x = np.tile(np.array([[0, 1, 2]]), (16, 1))
    x[13, 2], x[14, 0] = 9, 5
    y = np.zeros((16, 1), "f4")
    with pytest.raises(ValueError, match=r'Embedding "tokens": index 9 is out of range for '
                                         r"input_dim=4 .*range from 0 to 9; the first bad one "
                                         r"is x\[13, 2\] = 9 \(sample 13, batch 3 with "
                                         r"batch_size=4, counted before shuffling\)"):
        model.fit(x, y, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"first bad one is x\[13, 2\] = 9 \(sample 13, batch "
                                         r"1 with batch_size=8"):
        model.evaluate(x, y, batch_size=8, verbose=0)
    good = np.tile(np.array([[0, 1, 2]]), (16, 1))
    with pytest.raises(ValueError, match=r"first bad one is validation_data x\[1, 2\] = 9 "
                                         r"\(sample 1, batch 0"):
        model.fit(good[:12], y[:12], validation_data=(x[12:], y[12:]), verbose=0)
    assert np.isfinite(model.fit(good, y, batch_size=4, verbose=0).history["loss"][0])


def test_named_inputs_and_inputs_that_reach_no_embedding():
    tokens = tl.Input(shape=(2,), dtype="int32", name="tokens_in")
    extra = tl.Input(shape=(1,), name="extra")
    merged = tl.Concatenate()([tl.Flatten()(tl.Embedding(4, 2, name="emb")(tokens)), extra])
    model = thawnet.Model([tokens, extra], tl.Dense(1)(merged))
    model.compile(optimizer="sgd", loss="mse")
    y = np.zeros((2, 1), "f4")
    big = {"tokens_in": np.array([[0, 1], [3, -2]]), "extra": np.full((2, 1), 50.0, "f4")}
    with pytest.raises(ValueError, match=r"index -2 .*first bad one is x\['tokens_in'\]\[1, 1\] "
                                         r"= -2 \(sample 1, batch 0"):
        model.fit(big, y, verbose=0)
    big["tokens_in"][1, 1] = 0  # "extra" holds 50 but feeds no Embedding: not checked
    assert np.isfinite(model.fit(big, y, verbose=0).history["loss"][0])
