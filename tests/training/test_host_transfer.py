"""The CPU step's batch transfer (NumPy arguments or device_put) and the carried RNG key.

Both are speed choices (#15): neither may change a result.
"""

import jax
import numpy as np
import pytest

import thawnet
from thawnet import layers as L
from thawnet.training import host_transfer

pytestmark = pytest.mark.skipif(jax.default_backend() != "cpu",
                                reason="the host transfer is the CPU backend's path")


def _model(dropout=0.0):
    thawnet.utils.set_random_seed(3)
    layers = [L.Input(shape=(6,)), L.Dense(8, activation="relu")]
    if dropout:
        layers.append(L.Dropout(dropout))
    model = thawnet.Sequential(layers + [L.Dense(3)])
    model.compile(optimizer=thawnet.optimizers.Adam(1e-2),
                  loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _data(n=480):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, 6)).astype(np.float32),
            rng.integers(0, 3, n).astype(np.int32))


@pytest.mark.parametrize("shuffle", [True, False])
def test_every_transfer_mode_trains_to_the_same_bits(monkeypatch, shuffle):
    x, y = _data()
    results, start = {}, None
    for mode in host_transfer.MODES:
        model = _model()
        if start is None:
            start = model.get_weights()
        model.set_weights(start)
        model._training.host_transfer[8] = transfer = host_transfer.HostTransfer()
        transfer.mode, transfer.chosen = mode, True
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=shuffle)
        results[mode] = (model.get_weights(), history.history["loss"])
    first, second = (results[m] for m in host_transfer.MODES)
    assert first[1] == second[1]
    assert len(first[0]) == 4
    for a, b in zip(first[0], second[0]):
        np.testing.assert_array_equal(a, b)


def test_the_probe_times_both_modes_and_keeps_the_faster():
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # 60 steps: room for the probe
    transfer = model._training.host_transfer[8]
    assert transfer.chosen
    assert set(transfer.seconds) == set(host_transfer.MODES)
    assert transfer.mode == min(transfer.seconds, key=transfer.seconds.get)


def test_an_epoch_too_short_to_time_keeps_the_default_and_tries_again():
    x, y = _data(n=80)  # 10 steps
    model = _model()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    transfer = model._training.host_transfer[8]
    assert not transfer.chosen and transfer.seconds == {}
    assert transfer.mode == host_transfer.DEFAULT_MODE
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model._training.host_transfer[8].chosen


def test_the_key_is_carried_unchanged_when_nothing_draws_from_it():
    x, y = _data(n=64)
    model = _model()
    start = np.asarray(model._training.rng)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    np.testing.assert_array_equal(np.asarray(model._training.rng), start)


def test_the_key_moves_on_every_step_when_dropout_draws():
    x, y = _data(n=64)
    model = _model(dropout=0.5)
    start = np.asarray(model._training.rng)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    after_one = np.asarray(model._training.rng)
    assert not np.array_equal(after_one, start)
    # Each of the 8 steps split the key once: the same chain of splits by hand.
    key = jax.numpy.asarray(start)
    for _ in range(8):
        key, _ = jax.random.split(key)
    np.testing.assert_array_equal(after_one, np.asarray(key))
