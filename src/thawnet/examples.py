"""Small named models for ``thawnet summary <name>``; each is built without materialising weights."""

from __future__ import annotations

from thawnet import layers
from thawnet.models import Model, Sequential


def seed():
    """The seed's model: a frozen Dense layer followed by BatchNormalization."""
    return Sequential([layers.Dense(10, trainable=False, input_shape=(100,)),
                       layers.BatchNormalization()], name="seed")


def regression_mlp(hidden_layers=2, units=500):
    """The seed's 256 -> 500 -> 500 -> 1 regression network."""
    model = Sequential([layers.Input(shape=(256,))], name="regression_mlp")
    for _ in range(hidden_layers):
        model.add(layers.Dense(units, activation="relu"))
    model.add(layers.Dense(1))
    return model


def sobel_cnn():
    """A fixed Sobel-filter convolution (frozen) feeding a small trainable classifier."""
    import numpy as np

    gx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    sobel = np.stack([gx, gx.T], axis=-1)[:, :, None, :]
    inputs = layers.Input(shape=(28, 28, 1), name="image")
    edges = layers.Conv2D(2, 3, padding="same", use_bias=False, trainable=False,
                          kernel_initializer=lambda key, shape, dtype: sobel.astype(dtype),
                          name="sobel")(inputs)
    x = layers.Conv2D(8, 3, activation="relu")(edges)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return Model(inputs, layers.Dense(10, activation="softmax")(x), name="sobel_cnn")


def big_mlp(units=10_000, depth=1):
    """A ~100-million-parameter Dense stack: its summary allocates none of it."""
    model = Sequential([layers.Input(shape=(units,))], name="big_mlp")
    for _ in range(depth):
        model.add(layers.Dense(units))
    return model


MODELS = {"seed": seed, "regression_mlp": regression_mlp, "sobel_cnn": sobel_cnn,
          "big_mlp": big_mlp}
