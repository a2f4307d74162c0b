"""The GAN-style freezing mistake: compile D, freeze it, compile the combined model, then
D.train_on_batch. Keras 3 trains nothing; thawnet does the same and warns once."""

import warnings

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.training.freeze_warning import FrozenSinceCompileWarning

X = np.random.default_rng(0).normal(size=(8, 3)).astype("f4")
Y = np.ones((8, 1), "f4")


def _keras_gan():
    d = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                          keras.layers.Dense(1)], name="discriminator")
    d.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    d.trainable = False
    g = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)], name="generator")
    gan = keras.Sequential([g, d])
    gan.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return d, gan


def _thawnet_gan(weights):
    d = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(4, activation="relu"), tl.Dense(1)],
                           name="discriminator")
    d.compile(optimizer=thawnet.optimizers.SGD(0.1), loss="mse")
    d.set_weights(weights)
    d.trainable = False
    g = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(3)], name="generator")
    gan = thawnet.Sequential([g, d])
    gan.compile(optimizer=thawnet.optimizers.SGD(0.1), loss="mse")
    return d, gan


def test_gan_script_warns_once_and_leaves_d_unchanged_as_keras_3():
    kd, _ = _keras_gan()
    k_before = [w.copy() for w in kd.get_weights()]
    kd.train_on_batch(X, Y)
    for a, b in zip(k_before, kd.get_weights()):
        np.testing.assert_array_equal(a, b)  # Keras 3 trains nothing either

    d, _ = _thawnet_gan(k_before)
    with pytest.warns(FrozenSinceCompileWarning) as caught:
        d.train_on_batch(X, Y)
    message = str(caught[0].message)
    assert 'Model "discriminator"' in message and "has no trainable weight" in message
    assert "Frozen since compile(): ['discriminator', " in message
    assert "set `trainable = True`" in message and "custom train_step" in message
    for a, b in zip(k_before, d.get_weights()):
        np.testing.assert_array_equal(a, b)
    with warnings.catch_warnings():  # once per model and split
        warnings.simplefilter("error", FrozenSinceCompileWarning)
        d.train_on_batch(X, Y)
        d.fit(X, Y, verbose=0)


def test_fewer_trainable_weights_than_at_compile_names_the_frozen_layer():
    model = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(4, name="body"),
                                tl.Dense(1, name="head")])
    model.compile(optimizer="sgd", loss="mse")
    model.get_layer("body").trainable = False
    with pytest.warns(FrozenSinceCompileWarning, match=r"trains 2 weights, 4 were trainable "
                      r"at compile\(\).*\['body'\]"):
        model.fit(X, Y, epochs=2, verbose=0)


def test_no_warning_when_the_split_is_as_compiled_or_refrozen_before_compile():
    model = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(4), tl.Dense(1)])
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FrozenSinceCompileWarning)
        model.fit(X, Y, verbose=0)
        model.train_on_batch(X, Y)
