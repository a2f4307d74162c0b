"""LoRA on Dense, Conv1D/2D/3D and Embedding, against Keras 3 and thawnet's trainability rules.

What is proved here: Keras's weight names, shapes, order and dtypes after ``enable_lora``;
outputs and a short fit equal Keras's with the same weights; Keras's errors; ``lora_rank=`` in
the constructor and the config; the base matrix is a parameter frozen "by enable_lora" (summary,
audit, ``layer.trainable``); ``merge_lora``; native and Keras file round trips.
"""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.models import Sequential

RNG = np.random.default_rng(0)

# (thawnet layer, Keras layer, input shape without batch, integer inputs?)
CASES = {
    "dense": (lambda **k: tl.Dense(5, **k), lambda **k: keras.layers.Dense(5, **k), (4,), False),
    "conv1d": (lambda **k: tl.Conv1D(3, 2, **k), lambda **k: keras.layers.Conv1D(3, 2, **k),
               (6, 2), False),
    "conv2d": (lambda **k: tl.Conv2D(3, 2, strides=2, **k),
               lambda **k: keras.layers.Conv2D(3, 2, strides=2, **k), (5, 5, 2), False),
    "conv3d": (lambda **k: tl.Conv3D(2, 2, **k), lambda **k: keras.layers.Conv3D(2, 2, **k),
               (3, 3, 3, 2), False),
    "embedding": (lambda **k: tl.Embedding(7, 4, **k), lambda **k: keras.layers.Embedding(7, 4, **k),
                  (3,), True),
}


def _inputs(shape, integer, n=4):
    if integer:
        return RNG.integers(0, 7, size=(n,) + shape).astype("int32")
    return RNG.normal(size=(n,) + shape).astype("float32")


def _pair(case, rank=2, lora_alpha=None):
    """A thawnet and a Keras layer, built, LoRA enabled, with the same (nonzero) weights."""
    ours_fn, theirs_fn, shape, integer = CASES[case]
    ours, theirs = ours_fn(), theirs_fn()
    ours.build((None,) + shape)
    theirs.build((None,) + shape)
    ours.enable_lora(rank, lora_alpha=lora_alpha)
    theirs.enable_lora(rank, lora_alpha=lora_alpha)
    weights = [RNG.normal(size=w.shape).astype("float32") for w in theirs.weights]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs, shape, integer


@pytest.mark.parametrize("case", sorted(CASES))
def test_weights_after_enable_lora_are_keras_names_shapes_order_and_split(case):
    ours, theirs, _, _ = _pair(case)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.trainable_weights] == [w.name for w in theirs.trainable_weights]
    assert [w.name for w in ours.non_trainable_weights] == \
        [w.name for w in theirs.non_trainable_weights]
    assert [np.dtype(w.dtype).name for w in ours.weights[-2:]] == ["float32", "float32"]
    assert ours.lora_enabled and (ours.lora_rank, ours.lora_alpha) == (2, 2)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_equal_keras_and_the_effective_matrix_formula(case):
    ours, theirs, shape, integer = _pair(case, rank=2, lora_alpha=3.0)
    x = _inputs(shape, integer)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)
    base, a, b = (np.asarray(w) for w in (ours.weights[0], ours.weights[-2], ours.weights[-1]))
    expected = base + 1.5 * (a @ b)
    effective = ours.embeddings if case == "embedding" else ours.kernel
    np.testing.assert_allclose(np.asarray(effective), expected, atol=1e-6)
    keras_effective = theirs.embeddings if case == "embedding" else theirs.kernel
    np.testing.assert_allclose(np.asarray(effective), np.asarray(keras_effective), atol=1e-6)


def test_enabling_lora_changes_no_output_because_b_starts_at_zero():
    layer = tl.Dense(3)
    x = _inputs((4,), False)
    before = np.asarray(layer(x))
    layer.enable_lora(2)
    assert np.count_nonzero(np.asarray(layer.lora_kernel_b)) == 0
    np.testing.assert_array_equal(np.asarray(layer(x)), before)


def test_a_short_fit_matches_keras_with_the_same_initial_weights():
    x, y = _inputs((4,), False, n=16), _inputs((3,), False, n=16)
    ours_layer, theirs_layer = tl.Dense(3), keras.layers.Dense(3)
    ours = Sequential([tl.Input((4,)), ours_layer])
    theirs = keras.Sequential([keras.Input((4,)), theirs_layer])
    ours_layer.enable_lora(2, lora_alpha=4.0)
    theirs_layer.enable_lora(2, lora_alpha=4.0)
    weights = [RNG.normal(size=w.shape).astype("float32") for w in theirs.weights]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    for model in (ours, theirs):
        model.compile(optimizer=keras.optimizers.SGD(0.05) if model is theirs
                      else thawnet.optimizers.SGD(0.05), loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for w_ours, w_theirs in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_ours, np.asarray(w_theirs), atol=1e-5)
    np.testing.assert_array_equal(ours.get_weights()[0], weights[0])  # the base kernel
    assert not np.allclose(ours.get_weights()[2], weights[2])  # lora_kernel_a trained
    np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)),
                               np.asarray(theirs.predict(x, verbose=0)), atol=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_errors_are_keras_errors_and_name_the_layer(case):
    ours_fn, theirs_fn, shape, _ = CASES[case]
    for make in (ours_fn, theirs_fn):
        with pytest.raises(ValueError, match="Cannot enable lora on a layer that isn't yet built"):
            make().enable_lora(2)
        layer = make()
        layer.build((None,) + shape)
        layer.enable_lora(2)
        with pytest.raises(ValueError, match="lora is already enabled"):
            layer.enable_lora(2)
    layer = ours_fn()
    with pytest.raises(ValueError, match=f'"{layer.name}"'):
        layer.enable_lora(2)


@pytest.mark.parametrize("case,constraint_arg,words", [
    ("dense", "kernel_constraint", "kernel constraints"),
    ("embedding", "embeddings_constraint", "embedding constraints")])
def test_a_constrained_base_refuses_lora_as_keras_does(case, constraint_arg, words):
    ours_fn, theirs_fn, shape, _ = CASES[case]
    for make in (ours_fn, theirs_fn):
        layer = make(**{constraint_arg: "max_norm"})
        layer.build((None,) + shape)
        with pytest.raises(ValueError, match=f"incompatible with {words}"):
            layer.enable_lora(2)


@pytest.mark.parametrize("case", sorted(CASES))
def test_lora_rank_argument_enables_lora_at_build_and_is_in_the_config(case):
    ours_fn, theirs_fn, shape, integer = CASES[case]
    ours, theirs = ours_fn(lora_rank=2), theirs_fn(lora_rank=2)
    assert not ours.lora_enabled
    ours.build((None,) + shape)
    theirs.build((None,) + shape)
    assert ours.lora_enabled
    assert (len(ours.trainable_weights), len(ours.non_trainable_weights)) == \
        (len(theirs.trainable_weights), len(theirs.non_trainable_weights))
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert (ours_config["lora_rank"], ours_config["lora_alpha"]) == \
        (theirs_config["lora_rank"], theirs_config["lora_alpha"]) == (2, 2)
    clone = type(ours).from_config(ours_config)
    clone.build((None,) + shape)
    assert clone.lora_enabled and [w.name for w in clone.weights] == \
        [w.name for w in ours.weights]
    assert "lora_rank" not in ours_fn().get_config()


def test_lora_alpha_from_the_constructor_is_the_scale_numerator():
    layer = tl.Dense(3, lora_rank=2, lora_alpha=6)
    layer.build((None, 4))
    assert (layer.lora_rank, layer.lora_alpha, layer._lora_scale()) == (2, 6, 3.0)
    with pytest.raises(ValueError, match="lora_rank must be a positive integer"):
        tl.Dense(3, lora_rank=0)


def _lora_model():
    model = Sequential([tl.Input((4,)), tl.Dense(6, name="adapted"), tl.Dense(2, name="head")])
    model.layers[0].enable_lora(2)
    return model


def test_summary_counts_the_base_kernel_non_trainable_and_explains_it():
    model = _lora_model()
    lines = []
    model.summary(explain=True, print_fn=lines.append)
    text = "\n".join(lines)
    # adapted: kernel 24 frozen; bias 6 + a 8 + b 12 trained; head 14 trained.
    assert model.count_params() == 24 + 6 + 8 + 12 + 14
    assert sum(w.size for w in model.trainable_weights) == 6 + 8 + 12 + 14
    assert "24 = adapted (kernel), frozen by enable_lora" in text
    kernel = model.layers[0].weights[0]
    assert kernel.role == "parameter" and not kernel.own_trainable
    assert kernel.frozen_by == "enable_lora"


def test_audit_after_fit_keeps_the_base_kernel_bits_and_trains_the_factors():
    model = _lora_model()
    x, y = _inputs((4,), False, n=16), _inputs((2,), False, n=16)
    model.compile(optimizer="adam", loss="mse")
    before = np.asarray(model.layers[0].weights[0]).copy()
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    np.testing.assert_array_equal(np.asarray(model.layers[0].weights[0]), before)
    assert history.audit["adapted/kernel"].verdict == "unchanged"
    for name in ("lora_kernel_a", "lora_kernel_b", "bias"):
        assert history.audit[f"adapted/{name}"].verdict == "parameter trained"


def test_freezing_the_layer_freezes_the_factors_too():
    model = _lora_model()
    layer = model.layers[0]
    layer.trainable = False
    assert [w.name for w in layer.trainable_weights] == []
    assert [w.name for w in layer.weights] == ["kernel", "bias", "lora_kernel_a", "lora_kernel_b"]
    model.compile(optimizer="sgd", loss="mse")
    a_before = np.asarray(layer.lora_kernel_a).copy()
    history = model.fit(_inputs((4,), False, n=8), _inputs((2,), False, n=8), verbose=0)
    np.testing.assert_array_equal(np.asarray(layer.lora_kernel_a), a_before)
    assert history.audit["adapted/lora_kernel_a"].verdict == "unchanged"
    layer.trainable = True  # the factors thaw; the base kernel stays frozen by enable_lora
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a",
                                                         "lora_kernel_b"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_merge_lora_folds_the_factors_in_and_leaves_a_plain_layer(case):
    ours, _, shape, integer = _pair(case, rank=2, lora_alpha=3.0)
    x = _inputs(shape, integer)
    before = np.asarray(ours(x))
    ours.merge_lora()
    np.testing.assert_allclose(np.asarray(ours(x)), before, atol=1e-5)
    assert not ours.lora_enabled and "lora_rank" not in ours.get_config()
    assert not any(w.name.startswith("lora_") for w in ours.weights)
    assert len(ours.trainable_weights) == len(ours.weights)
    assert ours.weights[0].frozen_by is None
    assert not hasattr(ours, "lora_kernel_a") and not hasattr(ours, "lora_embeddings_a")
    with pytest.raises(ValueError, match="merge_lora\\(\\) needs LoRA enabled"):
        ours.merge_lora()
    ours.enable_lora(1)  # a merged layer can be adapted again
    assert ours.lora_rank == 1


def test_native_round_trip_keeps_factors_and_flags(tmp_path):
    model = _lora_model()
    model.compile(optimizer="sgd", loss="mse")
    x = _inputs((4,), False, n=8)
    model.fit(x, _inputs((2,), False, n=8), verbose=0)
    model.save(tmp_path / "m.thawnet")
    loaded = thawnet.saving.load_model(tmp_path / "m.thawnet")
    layer = loaded.layers[0]
    assert layer.lora_enabled and layer.weights[0].frozen_by == "enable_lora"
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a",
                                                         "lora_kernel_b"]
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def _keras_lora_model():
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), keras.layers.Dense(2)])
    theirs.layers[0].enable_lora(2)
    weights = [RNG.normal(size=w.shape).astype("float32") for w in theirs.weights]
    theirs.set_weights(weights)  # b nonzero: the file's kernel is really a merged one
    return theirs


def test_keras_written_weights_of_a_lora_dense_load_into_thawnet_lora_dense(tmp_path):
    theirs = _keras_lora_model()
    theirs.save_weights(tmp_path / "k.weights.h5")
    ours = _lora_model()
    ours.load_weights(tmp_path / "k.weights.h5")
    x = _inputs((4,), False)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-5)
    assert np.count_nonzero(np.asarray(ours.layers[0].lora_kernel_b)) == 0  # as Keras loads


def test_thawnet_written_weights_and_archive_of_a_lora_dense_load_into_keras(tmp_path):
    ours = _lora_model()
    ours.set_weights([RNG.normal(size=w.shape).astype("float32") for w in ours.weights])
    x = _inputs((4,), False)
    ours.save_weights(tmp_path / "t.weights.h5")
    theirs = _keras_lora_model()
    theirs.load_weights(tmp_path / "t.weights.h5")
    np.testing.assert_allclose(np.asarray(theirs(x)), np.asarray(ours(x)), atol=1e-5)
    ours.save(tmp_path / "t.keras")
    archived = keras.saving.load_model(tmp_path / "t.keras")
    assert archived.layers[0].lora_enabled
    np.testing.assert_allclose(np.asarray(archived(x)), np.asarray(ours(x)), atol=1e-5)


def test_model_call_and_predict_see_lora_enabled_and_merged_after_the_first_call():
    model = Sequential([tl.Input((4,)), tl.Dense(6, name="adapted"), tl.Dense(2, name="head")])
    x = _inputs((4,), False)
    model(x)
    model.predict(x, verbose=0)
    layer = model.layers[0]
    layer.enable_lora(2)
    layer.lora_kernel_a.assign(np.ones(layer.lora_kernel_a.shape))
    layer.lora_kernel_b.assign(np.ones(layer.lora_kernel_b.shape))
    expected = np.asarray(model.layers[1](layer(x)))  # layer calls: never cached
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    layer.merge_lora()
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
