"""MultiHeadAttention, GroupQueryAttention, Attention and AdditiveAttention against Keras 3.

What is proved here, each with the same weights in both libraries: outputs within 1e-5 (the
fused ``jax.nn.dot_product_attention`` path and the explicit softmax path), with value/key
masks, ``attention_mask``, the causal mask and their combinations; ``return_attention_scores``;
weight names, paths, order and counts; configs; masks carried by tensors (Embedding with
``mask_zero``) reach ``query_mask``/``value_mask`` as in Keras; dropout only in training;
errors.
"""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

RNG = np.random.default_rng(7)
Q = RNG.normal(size=(2, 4, 6)).astype("float32")
V = RNG.normal(size=(2, 5, 6)).astype("float32")
K = RNG.normal(size=(2, 5, 6)).astype("float32")
VALUE_MASK = np.array([[1, 1, 0, 0, 1], [1, 1, 1, 1, 0]], bool)
QUERY_MASK = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)
ATTENTION_MASK = RNG.random((2, 4, 5)) > 0.3

CALLS = {
    "plain": {},
    "training": {"training": True, "value_mask": VALUE_MASK},
    "value_mask": {"value_mask": VALUE_MASK},
    "attention_mask": {"attention_mask": ATTENTION_MASK},
    "causal": {"use_causal_mask": True},
    "causal_and_mask": {"use_causal_mask": True, "attention_mask": ATTENTION_MASK},
    "scores": {"return_attention_scores": True},
    "scores_causal_masked": {"return_attention_scores": True, "use_causal_mask": True,
                             "value_mask": VALUE_MASK, "key": K},
}

HEADS = {
    "mha": (lambda **k: tl.MultiHeadAttention(num_heads=2, key_dim=3, **k),
            lambda **k: keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, **k)),
    "mha_output_shape": (
        lambda **k: tl.MultiHeadAttention(num_heads=3, key_dim=2, output_shape=5, **k),
        lambda **k: keras.layers.MultiHeadAttention(num_heads=3, key_dim=2, output_shape=5,
                                                    **k)),
    "mha_gate_no_bias": (
        lambda **k: tl.MultiHeadAttention(2, 3, use_gate=True, use_bias=False, **k),
        lambda **k: keras.layers.MultiHeadAttention(2, 3, use_gate=True, use_bias=False, **k)),
    "gqa": (lambda **k: tl.GroupQueryAttention(head_dim=3, num_query_heads=4,
                                               num_key_value_heads=2, **k),
            lambda **k: keras.layers.GroupQueryAttention(head_dim=3, num_query_heads=4,
                                                         num_key_value_heads=2, **k)),
}


def _same_weights(ours, theirs):
    weights = [RNG.normal(size=w.shape).astype("float32") for w in theirs.weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)


def _close(a, b, atol=1e-5):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol)


@pytest.fixture(scope="module")
def head_pairs():
    pairs = {}
    for name, (ours_fn, theirs_fn) in HEADS.items():
        ours, theirs = ours_fn(), theirs_fn()
        theirs.build(Q.shape, V.shape, K.shape)
        ours.build(Q.shape, V.shape, K.shape)
        _same_weights(ours, theirs)
        pairs[name] = (ours, theirs)
    return pairs


@pytest.mark.parametrize("layer", sorted(HEADS))
def test_weight_paths_order_and_counts_equal_keras(head_pairs, layer):
    ours, theirs = head_pairs[layer]
    ours_paths = [p.split("/", 1)[1] for p in ours.variables_by_path()]
    assert ours_paths == [w.path.split("/", 1)[1] for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)


# The default run checks every call on MultiHeadAttention and the two richest calls on the
# other layers; THAWNET_FULL=1 runs the whole grid.
_CORE_CALLS = ("plain", "causal_and_mask", "scores_causal_masked")
HEAD_GRID = [pytest.param(layer, call, marks=() if layer == "mha" or call in _CORE_CALLS
                          else pytest.mark.slow)
             for layer in sorted(HEADS) for call in sorted(CALLS)]


@pytest.mark.parametrize("layer,call", HEAD_GRID)
def test_outputs_equal_keras(head_pairs, layer, call):
    ours, theirs = head_pairs[layer]
    kwargs = CALLS[call]
    _close(ours(Q, V, **kwargs), theirs(Q, V, **kwargs))


def test_scores_are_masked_probabilities():
    layer = tl.MultiHeadAttention(num_heads=2, key_dim=3)
    _, scores = layer(Q, V, value_mask=VALUE_MASK, use_causal_mask=True,
                      return_attention_scores=True)
    scores = np.asarray(scores)
    assert scores.shape == (2, 2, 4, 5)
    allowed = VALUE_MASK[:, None, None, :] & np.tril(np.ones((4, 5), bool))[None, None]
    assert np.all(scores[~np.broadcast_to(allowed, scores.shape)] == 0)
    np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-6)


@pytest.mark.slow
def test_two_attention_axes_equal_keras():
    x = RNG.normal(size=(2, 3, 4, 5)).astype("float32")
    ours = tl.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    theirs = keras.layers.MultiHeadAttention(2, 3, attention_axes=(1, 2))
    ours(x, x)
    theirs(x, x)
    _same_weights(ours, theirs)
    _close(ours(x, x, return_attention_scores=True), theirs(x, x, return_attention_scores=True))
    assert ours.get_config()["attention_axes"] == theirs.get_config()["attention_axes"]


def test_dropout_acts_in_training_only():
    layer = tl.MultiHeadAttention(2, 3, dropout=0.5)
    inference = np.asarray(layer(Q, V))
    np.testing.assert_array_equal(np.asarray(layer(Q, V)), inference)
    plain = tl.MultiHeadAttention(2, 3)
    plain(Q, V)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(plain(Q, V)), inference, atol=1e-5)
    assert not np.allclose(np.asarray(layer(Q, V, training=True)), inference, atol=1e-3)


@pytest.mark.parametrize("layer", ["mha", "gqa"])
def test_config_round_trip_and_keras_keys(head_pairs, layer):
    ours, theirs = head_pairs[layer]
    config = ours.get_config()
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    assert set(theirs.get_config()) == set(config)
    for key in set(config) - {"name", "dtype", "kernel_initializer", "bias_initializer"}:
        assert config[key] == theirs.get_config()[key], key


def test_functional_model_and_symbolic_scores():
    q, v = thawnet.Input((4, 6)), thawnet.Input((5, 6))
    out, scores = tl.MultiHeadAttention(2, 3)(q, v, return_attention_scores=True)
    assert (out.shape, scores.shape) == ((None, 4, 6), (None, 2, 4, 5))
    model = thawnet.Model([q, v], [out, scores])
    got_out, got_scores = model.predict([Q, V], verbose=0)
    assert got_out.shape == (2, 4, 6) and got_scores.shape == (2, 2, 4, 5)


def test_tensor_masks_reach_query_and_value_masks_as_in_keras():
    tokens = np.array([[3, 5, 2, 0, 0], [4, 1, 6, 2, 0]], "int32")

    def build(lib, layers):
        inp = lib.Input((5,), dtype="int32")
        x = layers.Embedding(8, 6, mask_zero=True)(inp)
        x = layers.MultiHeadAttention(2, 3)(x, x)
        return lib.Model(inp, x)

    ours, theirs = build(thawnet, tl), build(keras, keras.layers)
    _same_weights(ours, theirs)
    _close(ours.predict(tokens, verbose=0), theirs.predict(tokens, verbose=0))
    unmasked = np.asarray(ours.layers[-1](*(2 * [np.asarray(ours.layers[1](tokens))])))
    assert not np.allclose(unmasked, ours.predict(tokens, verbose=0), atol=1e-3)


ATTENTIONS = {
    "dot": (lambda: tl.Attention(), lambda: keras.layers.Attention()),
    "dot_scaled": (lambda: tl.Attention(use_scale=True),
                   lambda: keras.layers.Attention(use_scale=True)),
    "concat": (lambda: tl.Attention(score_mode="concat", use_scale=True),
               lambda: keras.layers.Attention(score_mode="concat", use_scale=True)),
    "additive": (lambda: tl.AdditiveAttention(), lambda: keras.layers.AdditiveAttention()),
    "additive_unscaled": (lambda: tl.AdditiveAttention(use_scale=False),
                          lambda: keras.layers.AdditiveAttention(use_scale=False)),
}
ATTENTION_CALLS = {
    "plain": ([Q, V], {}),
    "with_key": ([Q, V, K], {}),
    "masks": ([Q, V], {"mask": [QUERY_MASK, VALUE_MASK]}),
    "causal": ([Q, V], {"use_causal_mask": True}),
    "scores": ([Q, V, K], {"return_attention_scores": True, "use_causal_mask": True,
                           "mask": [None, VALUE_MASK]}),
}


ATTENTION_GRID = [pytest.param(layer, call, marks=() if call in ("masks", "scores")
                               else pytest.mark.slow)
                  for layer in sorted(ATTENTIONS) for call in sorted(ATTENTION_CALLS)]


@pytest.mark.parametrize("layer,call", ATTENTION_GRID)
def test_single_head_attention_equals_keras(layer, call):
    ours_fn, theirs_fn = ATTENTIONS[layer]
    ours, theirs = ours_fn(), theirs_fn()
    ours([Q, V])
    theirs([Q, V])
    assert [(w.name, tuple(w.shape)) for w in ours.weights] == \
        [(w.name, tuple(w.shape)) for w in theirs.weights]
    _same_weights(ours, theirs)
    inputs, kwargs = ATTENTION_CALLS[call]
    _close(ours(inputs, **kwargs), theirs(inputs, **kwargs))
    assert ours.get_config().keys() == theirs.get_config().keys()


def test_attention_passes_the_query_mask_on():
    layer = tl.Attention()
    mask = layer.compute_mask([Q, V], [QUERY_MASK, VALUE_MASK])
    np.testing.assert_array_equal(np.asarray(mask), QUERY_MASK)
    assert layer.compute_mask([Q, V], None) is None


def test_errors_name_the_layer_and_the_fix():
    with pytest.raises(ValueError, match=r"must be called on a list of inputs"):
        tl.Attention()(Q)
    with pytest.raises(ValueError, match=r"length 2 or 3"):
        tl.Attention()([Q, V, K, V])
    with pytest.raises(ValueError, match=r"layer mask must be a list"):
        tl.Attention()([Q, V], mask=QUERY_MASK)
    with pytest.raises(ValueError, match=r"Invalid value for argument score_mode"):
        tl.Attention(score_mode="add")
    with pytest.raises(ValueError, match=r"Received: num_heads=0"):
        tl.MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match=r"must be divisible by `num_key_value_heads`"):
        tl.GroupQueryAttention(head_dim=2, num_query_heads=3, num_key_value_heads=2)
    with pytest.raises(ValueError, match=r"Dropout is not supported when flash attention"):
        tl.MultiHeadAttention(2, 3, dropout=0.1, flash_attention=True)
    with pytest.raises(ValueError, match=r'"multi_head_attention_\d+" needs query and value'):
        tl.MultiHeadAttention(2, 3)(Q)
    with pytest.raises(ValueError, match=r"except the last one, must be equal"):
        tl.MultiHeadAttention(2, 3)(Q, V, key=K[:, :3])


def test_build_config_is_keras_and_a_keras_archive_loads(head_pairs, tmp_path):
    ours, theirs = head_pairs["mha"]
    assert ours.get_build_config() == theirs.get_build_config()
    clone = tl.MultiHeadAttention(2, 3)
    clone.build_from_config(theirs.get_build_config())
    assert clone.count_params() == theirs.count_params()
    q, v = keras.Input((4, 6)), keras.Input((5, 6))
    out = keras.layers.MultiHeadAttention(2, 3, output_shape=6)(q, v, use_causal_mask=True)
    model = keras.Model([q, v], keras.layers.LayerNormalization()(keras.layers.Add()([out, q])))
    model.save(tmp_path / "mha.keras")
    loaded = thawnet.saving.load_model(tmp_path / "mha.keras")
    _close(loaded.predict([Q, V], verbose=0), model.predict([Q, V], verbose=0))
