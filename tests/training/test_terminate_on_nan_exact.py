"""TerminateOnNaN is exact inside a scanned block of steps (``steps_per_execution=4``).

A non-finite loss, or a finite loss whose update makes a weight non-finite, stops applying
steps inside the compiled step: the model ends with the weights, BatchNormalization
statistics, optimizer state and RNG of the last finite step, bit for bit the same as with
``steps_per_execution=1`` and as a run that only ever saw the batches before the bad one, and
``fit`` says at which batch it stopped (``TerminateOnNaN.stopped_at``).

NaN in ``x`` is refused by fit's data checks, so the bad batches here are made with finite
data: a target of 1e30 (its squared error overflows to inf), a loss that is NaN on a marked
target, or a learning rate that jumps to 1e38 (the update overflows while the loss is finite).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl
from thawnet.training.nonfinite_guard import NonFiniteStop

BATCH = 4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 4)).astype("f4")  # 12 batches, blocks of 4: [0-3] [4-7] [8-11]
Y = RNG.normal(size=(48, 1)).astype("f4")


def _model(optimizer, loss="mse", spe=1):
    thawnet.set_random_seed(0)
    model = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(8, name="h"),
                                tl.BatchNormalization(name="bn"), tl.ReLU(),
                                tl.Dense(1, name="out")])
    model.compile(optimizer=optimizer, loss=loss, steps_per_execution=spe)
    return model


def _fit(x, y, optimizer, loss="mse", spe=1, guard=True, epochs=2):
    model = _model(optimizer(), loss, spe)
    nan_guard = cb.TerminateOnNaN()
    history = model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0,
                        callbacks=[nan_guard] if guard else [])
    return model, nan_guard, history


def _state(model):
    """Every array the step updates: weights and statistics, optimizer state, RNG."""
    rng = model._rng
    if jnp.issubdtype(rng.dtype, jax.dtypes.prng_key):
        rng = jax.random.key_data(rng)
    return ([np.asarray(w) for w in model.get_weights()]
            + [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(model._opt_state)]
            + [np.asarray(rng)])


def _assert_same_state(a, b):
    sa, sb = _state(a), _state(b)
    assert len(sa) == len(sb)
    for left, right in zip(sa, sb):
        assert left.dtype == right.dtype and np.array_equal(left, right)


def _nan_on_marker(y_true, y_pred):
    # NaN exactly when a target is below -7 (sqrt of a negative number); mse otherwise.
    return jnp.mean(jnp.square(y_true - y_pred)) + 0.0 * jnp.sum(jnp.sqrt(y_true + 7.0))


def _adam():
    return thawnet.optimizers.Adam(0.01)


@pytest.mark.parametrize("case", ["inf_loss", "nan_loss"])
def test_a_non_finite_loss_mid_block_keeps_the_last_finite_state(case, capsys):
    y = Y.copy()
    bad = 6  # the third step of the block [4-7]
    if case == "inf_loss":
        y[bad * BATCH + 1] = 1e30  # its squared error overflows float32
        loss = "mse"
    else:
        y = np.abs(y)
        y[bad * BATCH + 1] = -8.0
        loss = _nan_on_marker
    scanned, guard4, history = _fit(X, y, _adam, loss, spe=4)
    stepwise, guard1, _ = _fit(X, y, _adam, loss, spe=1)
    # Reference: a run that never saw batch 6 or anything after it (guarded too: the same
    # compiled step, so the same bits; an unguarded program may fuse and round differently).
    before_bad, _, _ = _fit(X[:bad * BATCH], y[:bad * BATCH], _adam, loss, epochs=1)

    assert guard4.stopped_at == guard1.stopped_at == NonFiniteStop(epoch=0, batch=6,
                                                                    reason="loss")
    assert scanned.stop_training and len(history.history["loss"]) == 1
    # The stopping step counts in the logs (as in Keras), so the epoch's loss is not finite.
    assert not np.isfinite(history.history["loss"][0])
    assert "Epoch 1, batch 6: non-finite loss, terminating training" in capsys.readouterr().out
    _assert_same_state(scanned, stepwise)
    _assert_same_state(scanned, before_bad)
    assert all(np.isfinite(w).all() for w in scanned.get_weights())


def test_an_overflowing_update_is_not_applied():
    # A finite loss with SGD at lr=1e38 and errors of about 100 (gradients far above 3.4): the
    # very first update overflows to inf. All four steps of the first block are masked: the
    # model keeps its initial weights.
    y = 100.0 * Y
    initial = _model(thawnet.optimizers.SGD(1e38)).get_weights()
    scanned, guard4, history = _fit(X, y, lambda: thawnet.optimizers.SGD(1e38), spe=4)
    stepwise, guard1, _ = _fit(X, y, lambda: thawnet.optimizers.SGD(1e38), spe=1)
    assert guard4.stopped_at == guard1.stopped_at == NonFiniteStop(0, 0, "update")
    assert np.isfinite(history.history["loss"][0])  # the loss itself was finite
    _assert_same_state(scanned, stepwise)
    for a, b in zip(scanned.get_weights(), initial):
        assert np.array_equal(a, b)


def _jumping_sgd():
    # lr 0.01 for steps 0-4, then 1e38: step 5 (second of block [4-7]) overflows.
    return thawnet.optimizers.SGD(lambda step: jnp.where(step < 5, 0.01, 1e38))


def test_an_update_that_overflows_mid_block_keeps_the_last_finite_state():
    y = Y.copy()
    y[5 * BATCH] = 100.0  # a large but finite error: gradients far above 3.4 at step 5
    scanned, guard4, history = _fit(X, y, _jumping_sgd, spe=4)
    stepwise, guard1, _ = _fit(X, y, _jumping_sgd, spe=1)
    before_bad, _, _ = _fit(X[:5 * BATCH], y[:5 * BATCH], _jumping_sgd, epochs=1)
    assert guard4.stopped_at == guard1.stopped_at == NonFiniteStop(0, 5, "update")
    assert np.isfinite(history.history["loss"][0])
    _assert_same_state(scanned, stepwise)
    _assert_same_state(scanned, before_bad)


def test_raise_error_names_the_batch_and_leaves_finite_weights():
    model = _model(thawnet.optimizers.SGD(1e38), spe=4)
    with pytest.raises(RuntimeError, match="NaN or Inf update encountered at batch 0 of epoch 1"):
        model.fit(X, 100.0 * Y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
                  callbacks=[cb.TerminateOnNaN(raise_error=True)])
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_finite_training_is_unchanged_by_the_guard():
    sgd = lambda: thawnet.optimizers.SGD(0.05)  # noqa: E731
    guarded, guard, _ = _fit(X, Y, sgd, spe=4)
    stepwise, _, _ = _fit(X, Y, sgd, spe=1)
    plain, _, _ = _fit(X, Y, sgd, spe=4, guard=False)
    assert guard.stopped_at is None and not guarded.stop_training
    _assert_same_state(guarded, stepwise)
    # The guarded program is compiled on its own, so XLA may round a few values (the moving
    # statistics) differently in the last bits than the unguarded one; nothing more. (SGD
    # here: Adam would blow the rounding noise of the bias before BatchNormalization, whose
    # true gradient is 0, up to steps of the learning rate's size.)
    for a, b in zip(_state(guarded), _state(plain)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The guard leaves the carried state's structure alone: the block program is traced once.
    blocks = [fn for k, fn in guarded._fn_cache.items()
              if k[0] == "train" and dict(k[2]) == {"guard_nan": True, "steps": 4}]
    assert len(blocks) == 1 and blocks[0]._cache_size() == 1
