"""A small Transformer encoder, in thawnet and in Keras 3, from the same weights.

Keras 3.15 has no positional-embedding layer in ``keras.layers``, so the encoder uses a custom
one, written below for each library the same way (this is the documentation example):
token embedding + learned position embedding -> MultiHeadAttention -> Add + LayerNorm ->
Dense (relu) -> Dense -> Add + LayerNorm -> pooling -> Dense.

What is proved here: Keras's weight count and order; a ``.weights.h5`` file written by Keras
loads and predicts the same; two epochs of ``fit`` give Keras's losses (within 1e-4) and
weights; padding tokens masked by ``Embedding(mask_zero=True)`` flow through the custom layer
into the attention as in Keras.
"""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

VOCAB, SEQ, DIM, HEADS = 12, 6, 8, 2
RNG = np.random.default_rng(11)
TOKENS = RNG.integers(1, VOCAB, size=(32, SEQ)).astype("int32")
TOKENS[::3, -2:] = 0  # padding at the end of every third sequence
LABELS = (TOKENS[:, 0] % 2).astype("int32")


class PositionalEmbedding(tl.Layer):
    """Token embedding plus a learned embedding of each position (thawnet)."""

    def __init__(self, sequence_length, vocab_size, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.sequence_length, self.vocab_size = sequence_length, vocab_size
        self.output_dim, self.mask_zero = output_dim, mask_zero
        self.token_embeddings = tl.Embedding(vocab_size, output_dim, mask_zero=mask_zero)
        self.position_embeddings = tl.Embedding(sequence_length, output_dim)

    def call(self, inputs):
        positions = thawnet.ops.arange(inputs.shape[-1])
        return self.token_embeddings(inputs) + self.position_embeddings(positions)

    def compute_mask(self, inputs, mask=None):
        return thawnet.ops.not_equal(inputs, 0) if self.mask_zero else None

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length,
                "vocab_size": self.vocab_size, "output_dim": self.output_dim,
                "mask_zero": self.mask_zero}


class KerasPositionalEmbedding(keras.layers.Layer):
    """The same layer written for Keras 3 (the oracle)."""

    def __init__(self, sequence_length, vocab_size, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.mask_zero = mask_zero
        self.token_embeddings = keras.layers.Embedding(vocab_size, output_dim,
                                                       mask_zero=mask_zero)
        self.position_embeddings = keras.layers.Embedding(sequence_length, output_dim)

    def call(self, inputs):
        positions = keras.ops.arange(keras.ops.shape(inputs)[-1])
        return self.token_embeddings(inputs) + self.position_embeddings(positions)

    def compute_mask(self, inputs, mask=None):
        return keras.ops.not_equal(inputs, 0) if self.mask_zero else None


# The same class name, so that Keras names the layer (and its weights-file group) as thawnet.
KerasPositionalEmbedding.__name__ = "PositionalEmbedding"


def encoder(lib, layers, positional, mask_zero=False):
    """The same architecture in either library (``lib``: thawnet or keras)."""
    inputs = lib.Input((SEQ,), dtype="int32")
    x = positional(SEQ, VOCAB, DIM, mask_zero=mask_zero)(inputs)
    attended = layers.MultiHeadAttention(HEADS, DIM // HEADS)(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attended]))
    ff = layers.Dense(DIM)(layers.Dense(16, activation="relu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, ff]))
    x = layers.GlobalAveragePooling1D()(x)
    return lib.Model(inputs, layers.Dense(2, activation="softmax")(x))


@pytest.fixture(scope="module")
def models():
    ours = encoder(thawnet, tl, PositionalEmbedding)
    theirs = encoder(keras, keras.layers, KerasPositionalEmbedding)
    weights = [RNG.normal(scale=0.3, size=w.shape).astype("float32") for w in theirs.weights]
    theirs.set_weights(weights)
    return ours, theirs, weights


def test_weight_count_and_order_equal_keras(models):
    ours, theirs, _ = models
    assert ours.count_params() == theirs.count_params() == 762
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]


def test_keras_weights_file_loads_and_predicts_the_same(models, tmp_path):
    ours, theirs, weights = models
    theirs.save_weights(tmp_path / "encoder.weights.h5")
    ours.load_weights(tmp_path / "encoder.weights.h5")
    for got, want in zip(ours.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(ours.predict(TOKENS, verbose=0),
                               theirs.predict(TOKENS, verbose=0), atol=1e-5)


def test_two_epochs_of_fit_give_keras_losses(models):
    ours, theirs, weights = models
    ours.set_weights(weights)
    theirs.set_weights(weights)
    ours.compile(optimizer=thawnet.optimizers.Adam(0.01),
                 loss="sparse_categorical_crossentropy")
    theirs.compile(optimizer=keras.optimizers.Adam(0.01),
                   loss="sparse_categorical_crossentropy")
    h_ours = ours.fit(TOKENS, LABELS, batch_size=8, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(TOKENS, LABELS, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], atol=1e-4)
    assert h_ours.history["loss"][1] < h_ours.history["loss"][0]
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(got, np.asarray(want), atol=1e-4)


def masked_encoder(lib, layers, positional, mask_zero=True):
    """Embedding with padding masks -> self-attention -> masked average pooling -> Dense."""
    inputs = lib.Input((SEQ,), dtype="int32")
    x = positional(SEQ, VOCAB, DIM, mask_zero=mask_zero)(inputs)
    x = layers.MultiHeadAttention(HEADS, DIM // HEADS)(x, x)
    x = layers.GlobalAveragePooling1D()(x)
    return lib.Model(inputs, layers.Dense(2, activation="softmax")(x))


def test_padding_masks_reach_the_attention_as_in_keras():
    ours = masked_encoder(thawnet, tl, PositionalEmbedding)
    theirs = masked_encoder(keras, keras.layers, KerasPositionalEmbedding)
    theirs.set_weights([RNG.normal(scale=0.3, size=w.shape).astype("float32")
                        for w in theirs.weights])
    ours.set_weights(theirs.get_weights())
    got = ours.predict(TOKENS, verbose=0)
    np.testing.assert_allclose(got, theirs.predict(TOKENS, verbose=0), atol=1e-5)
    plain = masked_encoder(thawnet, tl, PositionalEmbedding, mask_zero=False)
    plain.set_weights(theirs.get_weights())
    # The masks change the padded rows' outputs (the pooling and the attention skip pads).
    padded = (TOKENS == 0).any(axis=1)
    assert not np.allclose(plain.predict(TOKENS, verbose=0)[padded], got[padded], atol=1e-4)
