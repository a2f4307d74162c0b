"""A model saved after compile() loads compiled, in .thawnet and .keras, and fit continues.

`fit(2 epochs) -> save -> load -> fit(2 epochs)` must give the loss history and the weights of
an uninterrupted `fit(4 epochs)` (Adam, shuffle=False): the optimizer's slots, step count and
learning rate travel with the file. For .keras files Keras 3 is the oracle both ways: it
restores the optimizer thawnet wrote, and thawnet restores the one Keras wrote.
"""

import os

import jax
import keras
import numpy as np
import pytest

from thawnet import callbacks as tc
from thawnet import layers as tl
from thawnet import optimizers
from thawnet.models import Sequential, load_model

RNG = np.random.RandomState(0)
X = RNG.randn(32, 4).astype("float32")
Y = RNG.randn(32, 2).astype("float32")
FIT = dict(batch_size=8, shuffle=False, verbose=0)


def _model(dropout, optimizer=None):
    stack = [tl.Input((4,)), tl.Dense(8, activation="relu"), tl.BatchNormalization()]
    stack += [tl.Dropout(0.25)] if dropout else []
    model = Sequential(stack + [tl.Dense(2)])
    model.compile(optimizer=optimizer or optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def _pair(dropout, optimizer=None):
    """Two models with the same initial weights (layer names, hence seeds, differ)."""
    a, b = _model(dropout, optimizer), _model(dropout, optimizer)
    b.set_weights(a.get_weights())
    return a, b


@pytest.mark.parametrize("suffix,dropout", [(".thawnet", True), (".keras", False)])
def test_fit_continues_after_save_and_load_exactly_as_uninterrupted(tmp_path, suffix, dropout):
    whole, part = _pair(dropout)
    uninterrupted = whole.fit(X, Y, epochs=4, **FIT).history
    part.fit(X, Y, epochs=2, **FIT)
    path = str(tmp_path / f"m{suffix}")
    part.save(path)

    loaded = load_model(path)
    assert loaded.compiled and type(loaded.optimizer) is optimizers.Adam
    assert loaded.optimizer.learning_rate == pytest.approx(0.01)
    assert loaded.get_learning_rate() == pytest.approx(0.01)
    assert loaded._metric_set.metric_names == ["loss", "mae"]
    resumed = loaded.fit(X, Y, epochs=2, **FIT).history
    assert resumed["loss"] == uninterrupted["loss"][2:]
    assert resumed["mae"] == uninterrupted["mae"][2:]
    # float32 values go through both files unchanged (safetensors and HDF5 store the bits),
    # so the weights are bit-identical, not merely close.
    for v, w in zip(whole.weights, loaded.weights):
        assert np.asarray(v.value).tobytes() == np.asarray(w.value).tobytes(), v.path


def test_uncompiled_load_and_compile_false(tmp_path):
    model = _model(False)
    model.fit(X, Y, epochs=1, **FIT)
    for suffix in (".thawnet", ".keras"):
        model.save(tmp_path / f"m{suffix}")
        assert not load_model(tmp_path / f"m{suffix}", compile=False).compiled
    fresh = Sequential([tl.Input((4,)), tl.Dense(2)])
    fresh.save(tmp_path / "u.thawnet")
    fresh.save(tmp_path / "u.keras")
    assert not load_model(tmp_path / "u.thawnet").compiled
    assert not load_model(tmp_path / "u.keras").compiled


def test_a_learning_rate_set_during_training_is_saved_as_state(tmp_path):
    model = _model(False)
    model.fit(X, Y, epochs=1, **FIT)
    model.set_learning_rate(0.00125)
    for suffix in (".thawnet", ".keras"):
        model.save(tmp_path / f"m{suffix}")
        assert load_model(tmp_path / f"m{suffix}").get_learning_rate() == np.float32(0.00125)
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    assert np.float32(theirs.optimizer.learning_rate) == np.float32(0.00125)
    assert int(theirs.optimizer.iterations) == 4


@pytest.mark.parametrize("optimizer,check_fresh", [
    (lambda: optimizers.Adam(0.01), True), (lambda: optimizers.Adam(0.01, amsgrad=True), False),
    (lambda: optimizers.SGD(0.05, momentum=0.9), False),
    (lambda: optimizers.RMSprop(0.01, centered=True), False),
    (lambda: optimizers.Adadelta(0.5), False),
    pytest.param(lambda: optimizers.Adagrad(0.05), False, marks=pytest.mark.slow),
    pytest.param(lambda: optimizers.Lion(0.001), False, marks=pytest.mark.slow),
    pytest.param(lambda: optimizers.RMSprop(0.01), False, marks=pytest.mark.slow)],
    ids=["adam", "amsgrad", "sgd_momentum", "rmsprop_centered", "adadelta", "adagrad", "lion",
         "rmsprop"])
def test_keras_restores_the_optimizer_thawnet_wrote(tmp_path, optimizer, check_fresh):
    model = _model(False, optimizer())
    model.fit(X, Y, epochs=2, **FIT)
    model.save(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    assert int(theirs.optimizer.iterations) == 8
    ours = load_model(tmp_path / "m.keras")
    keras_next = theirs.fit(X, Y, epochs=1, **FIT).history["loss"]
    ours_next = ours.fit(X, Y, epochs=1, **FIT).history["loss"]
    np.testing.assert_allclose(ours_next, keras_next, rtol=1e-5)
    if not check_fresh:
        return
    # A fresh optimizer would take a different first step: the state is really used.
    restart = load_model(tmp_path / "m.keras", compile=False)
    restart.compile(optimizer=optimizer(), loss="mse")
    assert restart.fit(X, Y, epochs=1, **FIT).history["loss"] != pytest.approx(keras_next,
                                                                               rel=1e-4)


def test_thawnet_restores_the_optimizer_keras_wrote(tmp_path):
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                               keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    theirs.fit(X, Y, epochs=2, **FIT)
    theirs.save(tmp_path / "k.keras")
    ours = load_model(tmp_path / "k.keras")
    assert ours.compiled and type(ours.optimizer) is optimizers.Adam
    slots = {np.asarray(v).tobytes() for v in theirs.optimizer.variables[2:]}
    leaves = [np.asarray(leaf).tobytes() for leaf in
              jax.tree_util.tree_leaves(ours._opt_state) if np.ndim(leaf)]
    assert slots <= set(leaves) and len(slots) == 12   # m and v of 6 weights
    np.testing.assert_allclose(ours.fit(X, Y, epochs=1, **FIT).history["loss"],
                               theirs.fit(X, Y, epochs=1, **FIT).history["loss"], rtol=1e-5)


def test_model_checkpoint_writes_keras_files_and_resumes(tmp_path):
    model = _model(False)
    best = tc.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss", save_best_only=True)
    weights = tc.ModelCheckpoint(str(tmp_path / "w.{epoch:02d}.weights.h5"),
                                 save_weights_only=True, keep=2)
    history = model.fit(X, Y, epochs=3, callbacks=[best, weights], **FIT).history
    assert sorted(os.listdir(tmp_path)) == ["best.keras", "w.02.weights.h5", "w.03.weights.h5"]
    assert best.best == min(history["loss"])
    restored = load_model(tmp_path / "best.keras")
    assert restored.compiled
    assert int(keras.saving.load_model(tmp_path / "best.keras").optimizer.iterations) == 12
    twin = Sequential([tl.Input((4,)), tl.Dense(8, activation="relu"),
                       tl.BatchNormalization(), tl.Dense(2)])
    twin.load_weights(tmp_path / "w.03.weights.h5")
    for v, w in zip(model.weights, twin.weights):
        assert np.array_equal(np.asarray(v.value), np.asarray(w.value))
    assert restored.fit(X, Y, epochs=1, **FIT).history["loss"] == \
        model.fit(X, Y, epochs=1, **FIT).history["loss"]


def test_multi_output_losses_metrics_and_schedules_round_trip(tmp_path):
    from thawnet import losses, metrics
    from thawnet.models import Model
    from thawnet.optimizers import schedules

    x = tl.Input((4,))
    h = tl.Dense(8, activation="relu")(x)
    model = Model(x, [tl.Dense(3, activation="softmax", name="cls")(h), tl.Dense(1, name="reg")(h)])
    model.compile(optimizer=optimizers.Adam(schedules.ExponentialDecay(0.01, 10, 0.9)),
                  loss=["sparse_categorical_crossentropy", losses.Huber(delta=2.0)],
                  metrics={"cls": ["accuracy"], "reg": [metrics.MeanAbsoluteError()]},
                  loss_weights=[1.0, 0.5])
    labels = RNG.randint(0, 3, 32)
    model.fit(X, [labels, X[:, :1]], epochs=1, **FIT)
    for suffix in (".thawnet", ".keras"):
        model.save(tmp_path / f"m{suffix}")
        again = load_model(tmp_path / f"m{suffix}")
        assert again._metric_set.metric_names == model._metric_set.metric_names
        assert again._compiled_loss.weights == [1.0, 0.5]
        assert type(again._compiled_loss.losses[1]) is losses.Huber
        assert again._compiled_loss.losses[1].get_config() == \
            model._compiled_loss.losses[1].get_config()
        assert again.optimizer.get_config() == model.optimizer.get_config()
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    assert theirs.compiled and int(theirs.optimizer.iterations) == 4
    # Keras evaluates the schedule at its iterations: ExponentialDecay(0.01, 10, 0.9) at step 4.
    assert float(theirs.optimizer.learning_rate) == pytest.approx(0.01 * 0.9 ** 0.4, rel=1e-6)


def test_compile_settings_a_file_cannot_hold_warn_and_load_uncompiled(tmp_path):
    model = Sequential([tl.Input((4,)), tl.Dense(2)])
    model.compile(optimizer="adam", loss=lambda y, p: (y - p) ** 2)
    with pytest.warns(UserWarning, match="compile settings are not written.*Python function"):
        model.save(tmp_path / "m.keras")
    assert not load_model(tmp_path / "m.keras").compiled
