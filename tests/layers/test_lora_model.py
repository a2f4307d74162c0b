"""LoRA on whole models, EinsumDense and DepthwiseConv: Keras 3 parity, merge/unmerge, audit,
files.

What is proved here: ``thawnet.enable_lora(model, pattern, rank)`` gives the parameter counts
Keras 3 gives with ``enable_lora`` on the same Dense / Embedding / EinsumDense layers, and with
the same factors the same outputs; merging and unmerging keep the outputs within 1e-5; after
LoRA fine-tuning the audit proves every base kernel bit-identical; native, ``.keras`` and
``.weights.h5`` round trips keep the outputs.
"""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.layers.einsum_dense import EinsumDense
from thawnet.models import Model, Sequential

RNG = np.random.default_rng(12)
TOKENS = RNG.integers(0, 9, size=(6, 5)).astype("int32")
LABELS = RNG.normal(size=(6, 3)).astype("f4")


def _ours():
    tokens = tl.Input(shape=(5,), dtype="int32")
    h = tl.Embedding(9, 4, name="embed")(tokens)
    h = EinsumDense("abc,cd->abd", output_shape=(5, 6), bias_axes="d", name="proj")(h)
    h = tl.Flatten(name="flat")(h)
    out = tl.Dense(3, name="head")(h)
    return Model(tokens, out)


def _theirs():
    tokens = keras.Input(shape=(5,), dtype="int32")
    h = keras.layers.Embedding(9, 4, name="embed")(tokens)
    h = keras.layers.EinsumDense("abc,cd->abd", output_shape=(5, 6), bias_axes="d",
                                 name="proj")(h)
    h = keras.layers.Flatten(name="flat")(h)
    out = keras.layers.Dense(3, name="head")(h)
    return keras.Model(tokens, out)


def _counts(model):
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return trainable, frozen


@pytest.fixture(scope="module")
def pair():
    """The same model in both libraries, LoRA on everything, the same nonzero weights."""
    ours, theirs = _ours(), _theirs()
    assert thawnet.enable_lora(ours, "*", rank=2, lora_alpha=3.0) == ["embed", "proj", "head"]
    for layer in theirs.layers:
        if hasattr(layer, "enable_lora"):
            layer.enable_lora(2, lora_alpha=3.0)
    weights = [RNG.normal(size=w.shape).astype("f4") * 0.3 for w in theirs.weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


def test_counts_names_and_split_equal_keras_3(pair):
    ours, theirs = pair
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert _counts(ours) == _counts(theirs)
    assert [w.path for w in ours.trainable_weights] == [w.path for w in theirs.trainable_weights]
    assert ours.count_params() == theirs.count_params()


def test_outputs_equal_keras_3_with_the_same_factors(pair):
    ours, theirs = pair
    np.testing.assert_allclose(np.asarray(ours(TOKENS)), np.asarray(theirs(TOKENS)),
                               rtol=1e-5, atol=1e-5)
    proj = ours.get_layer("proj")
    np.testing.assert_allclose(np.asarray(proj.kernel),
                               np.asarray(theirs.get_layer("proj").kernel), atol=1e-6)


def test_merge_then_unmerge_keep_the_outputs_within_1e_5(pair):
    ours, _ = pair
    model = thawnet.models.clone_model(ours)
    model.set_weights(ours.get_weights())
    before = np.asarray(model(TOKENS))
    assert thawnet.merge_lora(model) == ["embed", "proj", "head"]
    assert not any("lora" in w.name for w in model.weights)
    assert _counts(model) == (sum(w.size for w in model.weights), 0)
    np.testing.assert_allclose(np.asarray(model(TOKENS)), before, atol=1e-5)
    assert thawnet.unmerge_lora(model) == ["embed", "proj", "head"]
    assert [w.path for w in model.weights] == [w.path for w in ours.weights]
    np.testing.assert_allclose(np.asarray(model(TOKENS)), before, atol=1e-5)
    for mine, original in zip(model.get_weights(), ours.get_weights()):
        np.testing.assert_allclose(mine, original, atol=1e-5)
    assert model.get_layer("proj").weights[0].frozen_by == "enable_lora"
    with pytest.raises(ValueError, match="unmerge_lora\\(\\) undoes merge_lora\\(\\), but this "
                                         "layer has LoRA enabled"):
        model.get_layer("proj").unmerge_lora()


def test_patterns_match_names_and_paths_of_nested_models_and_refuse_mistakes():
    inner = Sequential([tl.Input((4,)), tl.Dense(3, name="q"), tl.BatchNormalization(name="bn"),
                        tl.Dense(3, name="v")], name="attn")
    x = tl.Input((4,))
    model = Model(x, tl.Dense(2, name="out")(inner(x)))
    assert thawnet.enable_lora(model, "attn/*", rank=1) == ["attn/q", "attn/v"]  # bn skipped
    assert model.get_layer("attn").get_layer("q").lora_enabled
    assert not model.get_layer("out").lora_enabled
    with pytest.raises(ValueError, match=r"layer attn/bn \(BatchNormalization\) .* cannot take LoRA"):
        thawnet.enable_lora(model, "bn", rank=1)
    with pytest.raises(ValueError, match=r"no LoRA-capable layer .* matches 'nope'. "
                                         r"LoRA-capable layers: \['attn/q', 'attn/v', 'out'\]"):
        thawnet.enable_lora(model, "nope", rank=1)
    with pytest.raises(ValueError, match=r"already enabled on \['attn/q', 'attn/v'\] .* "
                                         "nothing was changed"):
        thawnet.enable_lora(model, "*", rank=1)
    assert not model.get_layer("out").lora_enabled
    with pytest.raises(ValueError, match="rank must be a positive integer"):
        thawnet.enable_lora(model, "out", rank=0)


def test_depthwise_conv_lora_factors_window_by_channels():
    layer = tl.DepthwiseConv2D(3, depth_multiplier=2, name="dw")
    x = RNG.normal(size=(2, 6, 6, 4)).astype("f4")
    before = np.asarray(layer(x))
    layer.enable_lora(2)
    assert [(w.name, w.shape) for w in layer.weights] == [
        ("kernel", (3, 3, 4, 2)), ("bias", (8,)), ("lora_kernel_a", (3, 3, 2)),
        ("lora_kernel_b", (2, 4, 2))]
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a",
                                                         "lora_kernel_b"]
    np.testing.assert_array_equal(np.asarray(layer(x)), before)  # b starts at zero
    layer.lora_kernel_b.assign(RNG.normal(size=(2, 4, 2)).astype("f4"))
    a, b = np.asarray(layer.lora_kernel_a), np.asarray(layer.lora_kernel_b)
    effective = np.asarray(layer.weights[0]) + np.einsum("hwr,rcm->hwcm", a, b)
    np.testing.assert_allclose(np.asarray(layer.kernel), effective, atol=1e-5)
    reference = tl.DepthwiseConv2D(3, depth_multiplier=2)
    reference.build(x.shape)
    reference.set_weights([effective, np.asarray(layer.weights[1])])
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(reference(x)), atol=1e-5)
    config = layer.get_config()
    assert (config["lora_rank"], config["lora_alpha"]) == (2, 2)
    rebuilt = tl.DepthwiseConv2D.from_config(config)
    rebuilt.build(x.shape)
    assert rebuilt.lora_enabled and len(rebuilt.weights) == 4
    layer.merge_lora()
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(reference(x)), atol=1e-5)


def _files_model():
    x = tl.Input((6, 6, 2))
    h = tl.Conv2D(3, 3, name="conv")(x)
    h = tl.DepthwiseConv1D(2, name="dw1")(tl.Reshape((16, 3))(h))
    h = tl.Flatten()(h)
    return Model(x, tl.Dense(2, name="head")(h))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model = _files_model()
    assert thawnet.enable_lora(model, "*", rank=2) == ["conv", "dw1", "head"]
    x = RNG.normal(size=(4, 6, 6, 2)).astype("f4")
    bases = {p: np.array(v.value) for p, v in model.variables_by_path().items()
             if p.endswith("/kernel")}
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, RNG.normal(size=(4, 2)).astype("f4"), batch_size=2, epochs=2,
                        verbose=0)
    return model, x, tmp_path_factory.mktemp("lora_files"), bases, history


def test_audit_after_lora_fine_tuning_proves_every_base_kernel_bit_identical(trained):
    model, _, _, bases, history = trained
    assert sorted(bases) == ["conv/kernel", "dw1/kernel", "head/kernel"]
    for path, value in bases.items():
        assert history.audit[path].verdict == "unchanged"
        assert np.asarray(model.variables_by_path()[path].value).tobytes() == value.tobytes()
        factor = path.replace("/kernel", "/lora_kernel_a")
        assert history.audit[factor].verdict == "parameter trained"
    history.audit.check()  # raises when a frozen weight changed


def test_native_file_round_trip_keeps_factors_flags_and_outputs(trained):
    model, x, folder, _, _ = trained
    model.save(folder / "m.thawnet")
    loaded = thawnet.saving.load_model(folder / "m.thawnet")
    assert [w.path for w in loaded.trainable_weights] == [w.path for w in model.trainable_weights]
    assert loaded.get_layer("dw1").weights[0].frozen_by == "enable_lora"
    for mine, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_weights_h5_and_keras_archive_round_trips_keep_the_outputs(trained):
    model, x, folder, _, _ = trained
    model.save_weights(folder / "m.weights.h5")
    fresh = _files_model()
    thawnet.enable_lora(fresh, "*", rank=2)
    fresh.load_weights(folder / "m.weights.h5")  # merged kernels, zero factors (Keras's way)
    np.testing.assert_allclose(np.asarray(fresh(x)), np.asarray(model(x)), atol=1e-5)
    model.save(folder / "m.keras")
    again = thawnet.saving.load_model(folder / "m.keras")
    assert again.get_layer("dw1").lora_enabled
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), atol=1e-5)
