"""The seed's promise, end to end: frozen weights keep their exact bits through fit.

A frozen Dense, a Sobel-filter Conv2D built with trainable=False, a trainable and a frozen
BatchNormalization; trained with AdamW (weight decay!) and with SGD+momentum.
"""

import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], "f4")
RNG = np.random.default_rng(3)
X = RNG.normal(size=(48, 8, 8, 1)).astype("f4")
Y = RNG.integers(0, 4, size=(48,)).astype("i4")


def _model():
    inputs = tl.Input(shape=(8, 8, 1))
    sobel = tl.Conv2D(2, 3, padding="same", use_bias=False, trainable=False, name="sobel",
                      kernel_initializer=lambda key, shape, dtype: np.stack(
                          [SOBEL_X, SOBEL_X.T], -1)[:, :, None, :].astype(dtype))
    x = sobel(inputs)
    x = tl.BatchNormalization(name="bn_trained")(x)
    x = tl.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = tl.BatchNormalization(name="bn_frozen", trainable=False)(x)
    x = tl.Flatten()(x)
    x = tl.Dense(16, activation="relu", name="frozen_dense", trainable=False)(x)
    return thawnet.Model(inputs, tl.Dense(4, name="head")(x))


def _values(model):
    return {p: np.array(v.value) for p, v in model.variables_by_path().items()}


@pytest.mark.parametrize("optimizer", [
    thawnet.optimizers.AdamW(learning_rate=0.05, weight_decay=0.1),
    thawnet.optimizers.SGD(learning_rate=0.05, momentum=0.9),
], ids=["adamw_weight_decay", "sgd_momentum"])
def test_frozen_weights_are_bit_identical_after_fit(optimizer):
    model = _model()
    model.compile(optimizer=optimizer,
                  loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = _values(model)
    history = model.fit(X, Y, batch_size=16, epochs=3, verbose=0)
    after = _values(model)
    frozen = ["sobel/kernel", "frozen_dense/kernel", "frozen_dense/bias", "bn_frozen/gamma",
              "bn_frozen/beta", "bn_frozen/moving_mean", "bn_frozen/moving_variance"]
    for path in frozen:
        assert np.array_equal(after[path], before[path]), path
        assert history.audit[path].verdict == "unchanged"
    np.testing.assert_array_equal(after["sobel/kernel"][:, :, 0, 0], SOBEL_X)
    for path in ("bn_trained/moving_mean", "bn_trained/moving_variance", "head/kernel",
                 "conv/kernel"):
        assert not np.array_equal(after[path], before[path]), path


def test_adam_moments_carry_over_when_another_layer_is_frozen():
    def trained_model():
        thawnet.set_random_seed(7)
        m = thawnet.Sequential([tl.Input(shape=(6,)), tl.Dense(5, name="a"),
                                tl.Dense(1, name="b")])
        m.compile(optimizer="adam", loss="mse")
        m.fit(X.reshape(48, -1)[:, :6], Y.astype("f4"), batch_size=16, epochs=1,
              shuffle=False, verbose=0)
        return m

    x, y = X.reshape(48, -1)[:16, :6], Y[:16].astype("f4")
    frozen_then, reference = trained_model(), trained_model()
    frozen_then.get_layer("a").trainable = False        # no compile() in between
    frozen_then.train_on_batch(x, y)
    reference.train_on_batch(x, y)
    # The first step after freezing sees the same gradients for "b"; only carried-over Adam
    # moments make its update equal to the never-frozen run.
    np.testing.assert_allclose(frozen_then.get_layer("b").kernel.numpy(),
                               reference.get_layer("b").kernel.numpy(), rtol=1e-6, atol=1e-7)
