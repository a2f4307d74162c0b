"""Which weights change during fit, and why: frozen bits, statistics, no recompile trap, audit."""

import warnings

import jax
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.callbacks import Callback
from thawnet.models import Model, Sequential

RNG = np.random.default_rng(1)
X = RNG.normal(size=(64, 6)).astype("f4")
Y = RNG.normal(size=(64, 1)).astype("f4")


def _model():
    x = tl.Input(shape=(6,))
    h = tl.Dense(8, name="base")(x)
    h = tl.BatchNormalization(name="bn")(h)
    h = tl.Activation("relu")(h)
    model = Model(x, tl.Dense(1, name="head")(h))
    model.compile(optimizer="adam", loss="mse")
    return model


def _values(model):
    return {p: np.array(v.value) for p, v in model.variables_by_path().items()}


def test_frozen_layer_keeps_exact_bits_and_statistics_move_only_by_average():
    model = _model()
    model.get_layer("base").trainable = False
    before = _values(model)
    history = model.fit(X, Y, batch_size=16, epochs=2, verbose=0)
    after = _values(model)
    for p in ("base/kernel", "base/bias"):
        assert after[p].tobytes() == before[p].tobytes()
    assert not np.array_equal(after["bn/gamma"], before["bn/gamma"])
    assert not np.array_equal(after["bn/moving_mean"], before["bn/moving_mean"])
    report = history.audit
    assert report["base/kernel"].verdict == "unchanged"
    assert report["bn/moving_mean"].verdict == "statistic updated"
    assert report["head/kernel"].verdict == "parameter trained"


def test_frozen_batch_normalization_updates_nothing_in_fit():
    model = _model()
    model.get_layer("bn").trainable = False
    before = _values(model)
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    after = _values(model)
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        assert after[f"bn/{name}"].tobytes() == before[f"bn/{name}"].tobytes()


def test_statistics_equal_the_moving_average_of_the_batches_not_a_gradient_step():
    x = tl.Input(shape=(3,))
    model = Model(x, tl.BatchNormalization(momentum=0.5, name="bn")(x))
    model.compile(optimizer="sgd", loss="mse")
    data = RNG.normal(size=(8, 3)).astype("f4")
    model.fit(data, np.zeros_like(data), batch_size=4, epochs=1, shuffle=False, verbose=0)
    expected = np.zeros(3)
    for batch in (data[:4], data[4:]):
        expected = 0.5 * expected + 0.5 * batch.mean(axis=0)
    np.testing.assert_allclose(model.get_layer("bn").moving_mean.numpy(), expected, rtol=1e-5)


def test_trainable_change_after_compile_applies_at_next_fit_without_recompile():
    model = _model()
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    head_mu = _adam_moment(model, "head/kernel")
    model.get_layer("base").trainable = False           # no compile() in between
    before = _values(model)
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    assert _values(model)["base/kernel"].tobytes() == before["base/kernel"].tobytes()
    assert _adam_moment(model, "base/kernel") is None   # a frozen weight has no optimizer state
    assert not np.array_equal(_adam_moment(model, "head/kernel"), head_mu)  # kept and updated
    model.get_layer("base").trainable = True
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    assert not np.array_equal(_values(model)["base/kernel"], before["base/kernel"])
    assert _adam_moment(model, "base/kernel") is not None


def _adam_moment(model, path):
    for key_path, leaf in jax.tree_util.tree_flatten_with_path(model._opt_state)[0]:
        if f"'{path}'" in jax.tree_util.keystr(key_path):
            return np.array(leaf)
    return None


def test_audit_fails_loudly_when_a_frozen_weight_is_changed_behind_the_optimizer():
    model = _model()
    model.get_layer("base").trainable = False

    class Tamper(Callback):
        def on_epoch_end(self, epoch, logs=None):
            layer = self.model.get_layer("base")
            layer.kernel.assign(layer.kernel.value + 1.0)

    with pytest.raises(thawnet.AuditError, match=r"base/kernel \(max \|change\| 1\)"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[Tamper()])


def test_standalone_audit_reports_a_custom_loop():
    model = _model()
    model.get_layer("head").trainable = False
    with thawnet.audit(model) as report:
        model.train_on_batch(X[:16], Y[:16])
    assert report["head/kernel"].verdict == "unchanged"
    assert report["base/kernel"].verdict == "parameter trained"
    assert "frozen parameters kept their exact bits" in str(report)


def test_freeze_and_unfreeze_by_pattern_and_position():
    model = _model()
    assert thawnet.freeze(model, "b*") == ["base", "bn"]
    assert model.trainable_split()[0] == ["head/kernel", "head/bias"]
    thawnet.unfreeze(model)
    names = thawnet.freeze(model, up_to="bn")
    assert names == [layer.name for layer in model.layers[:3]]
    with pytest.raises(ValueError, match="No layer of model .* matches 'zzz'"):
        thawnet.freeze(model, "zzz")


def test_weight_decay_never_touches_frozen_weights():
    model = _model()
    model.compile(optimizer=thawnet.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5),
                  loss="mse")
    model.get_layer("base").trainable = False
    before = _values(model)
    model.fit(X, Y, epochs=1, verbose=0)
    assert _values(model)["base/kernel"].tobytes() == before["base/kernel"].tobytes()


# -- one rule for layers: BatchNormalization, summary and audit agree, two levels deep -------
def _nested_bn_model():
    """outer ⊃ mid ⊃ bn: a BatchNormalization two model levels below the root."""
    x = tl.Input(shape=(6,))
    h = tl.Dense(4, name="pre")(x)
    mid = Model(x, tl.BatchNormalization(name="bn", momentum=0.5)(h), name="mid")
    y = tl.Input(shape=(6,))
    outer = Model(y, tl.Dense(1, name="head")(mid(y)), name="outer")
    outer.compile(optimizer="sgd", loss="mse")
    return outer


@pytest.fixture(scope="module")
def nested_bn_model():
    return _nested_bn_model()


FLAGS = [(o, m, b) for o in (True, False) for m in (True, False) for b in (True, False)]


@pytest.mark.parametrize("outer_flag, mid_flag, bn_flag", FLAGS)
def test_bn_statistics_summary_and_audit_follow_one_rule(nested_bn_model, outer_flag,
                                                         mid_flag, bn_flag):
    outer = nested_bn_model
    mid, bn = outer.get_layer("mid"), outer.get_layer("mid").get_layer("bn")
    # Each setter also sets the layers below, so set from the root down: exact flags.
    outer.trainable, mid.trainable, bn.trainable = outer_flag, mid_flag, bn_flag
    outer.get_layer("head").trainable = True  # trains only when the root does
    effective = outer_flag and mid_flag and bn_flag
    frozen_with = None if effective else ["outer", "mid", "bn"][
        [outer_flag, mid_flag, bn_flag].index(False)]
    lines = []
    outer.summary(explain=True, print_fn=lines.append)
    stats_line = [line.strip() for line in lines if "moving_mean + moving_variance" in line]
    reason = ("statistics, updated by moving average" if effective
              else "statistics frozen by trainable=False" if frozen_with == "bn"
              else f'statistics frozen with "{frozen_with}"')
    assert stats_line == [f"8 = moving_mean + moving_variance of bn ({reason})"]
    before = _values(outer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FrozenSinceCompileWarning: flags change between fits
        history = outer.fit(X, Y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    after = _values(outer)
    for name in ("moving_mean", "moving_variance"):
        path = f"mid/bn/{name}"
        moved = after[path].tobytes() != before[path].tobytes()
        assert moved == effective                                  # fit
        assert history.audit[path].changed == effective            # audit
        assert history.audit[path].frozen_with == frozen_with
    for name in ("gamma", "beta"):  # parameters follow the same rule
        path = f"mid/bn/{name}"
        assert (after[path].tobytes() != before[path].tobytes()) == effective
        assert (path in outer.trainable_split()[0]) == effective
    assert any(v is bn.gamma for v in outer.trainable_weights) == effective


def test_eager_training_call_reads_the_same_rule():
    outer = _nested_bn_model()
    outer.trainable = False
    bn = outer.get_layer("mid").get_layer("bn")
    bn.trainable = True                       # Keras 3 would update its statistics here
    before = bn.moving_mean.numpy().copy()
    outer(X[:8], training=True)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)
    bn(np.ones((4, 4), "f4"), training=True)  # called on its own, its own flag decides
    assert not np.array_equal(bn.moving_mean.numpy(), before)
