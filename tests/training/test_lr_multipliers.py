"""Per-layer learning-rate multipliers: exact effects on the SGD step, read at every fit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.models import Model, Sequential
from thawnet.trainability.lr_multipliers import learning_rate_multipliers, scale_updates

RNG = np.random.default_rng(3)
X = RNG.normal(size=(32, 4)).astype("f4")
Y = RNG.normal(size=(32, 1)).astype("f4")


def _model(lr=0.1, seed=7):
    thawnet.utils.set_random_seed(seed)
    model = Sequential([tl.Input(shape=(4,)), tl.Dense(3, name="body"), tl.Dense(1, name="head")])
    model.compile(optimizer=thawnet.optimizers.SGD(learning_rate=lr), loss="mse")
    return model


def _values(model):
    return {p: np.array(v.value) for p, v in model.variables_by_path().items()}


def test_multiplier_zero_leaves_a_trainable_layer_bit_identical_while_others_train():
    model = _model()
    thawnet.set_learning_rate_multiplier(model, "body", 0.0)
    assert [w.path for w in model.trainable_weights] == [
        "body/kernel", "body/bias", "head/kernel", "head/bias"]
    before = _values(model)
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    after = _values(model)
    assert after["body/kernel"].tobytes() == before["body/kernel"].tobytes()
    assert after["body/bias"].tobytes() == before["body/bias"].tobytes()
    assert not np.array_equal(after["head/kernel"], before["head/kernel"])


def test_multiplier_half_halves_the_sgd_update_exactly():
    # The optimizer's update for a 0.5 weight is bit for bit 0.5 * the update at lr, and
    # the same bits as SGD at lr / 2 (float32(0.05) == float32(0.1) / 2).
    params = {"w": jnp.asarray(RNG.normal(size=(3, 2)), jnp.float32),
              "v": jnp.asarray(RNG.normal(size=(2,)), jnp.float32)}
    grads = jax.tree_util.tree_map(lambda p: p * 0.37 + 0.1, params)
    full_tx = thawnet.optimizers.SGD(learning_rate=0.1).to_optax()
    half_tx = scale_updates(full_tx, {"w": 0.5})
    full, _ = full_tx.update(grads, full_tx.init(params), params)
    half, _ = half_tx.update(grads, half_tx.init(params), params)
    lower_tx = thawnet.optimizers.SGD(learning_rate=0.05).to_optax()
    lower, _ = lower_tx.update(grads, lower_tx.init(params), params)
    assert np.asarray(half["w"]).tobytes() == np.asarray(0.5 * full["w"]).tobytes()
    assert np.asarray(half["w"]).tobytes() == np.asarray(lower["w"]).tobytes()
    assert np.asarray(half["v"]).tobytes() == np.asarray(full["v"]).tobytes()


@pytest.mark.slow  # two more fits; THAWNET_FULL=1 runs it
def test_multiplier_half_on_the_model_trains_as_sgd_at_half_the_learning_rate():
    halved = _model(lr=0.1)
    thawnet.set_learning_rate_multiplier(halved, None, 0.5)
    reference = _model(lr=0.05)
    start = _values(halved)
    assert all(start[p].tobytes() == v.tobytes() for p, v in _values(reference).items())
    halved.fit(X, Y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    reference.fit(X, Y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    # Within float32 rounding only: XLA may fuse w - lr * g into one multiply-add for the
    # reference, while the scaled update is rounded before it is added.
    for p, v in _values(reference).items():
        np.testing.assert_allclose(_values(halved)[p], v, rtol=1e-6, atol=1e-7, err_msg=p)


@pytest.mark.slow
def test_first_step_of_a_half_multiplier_layer_is_half_the_full_step():
    full, half = _model(), _model()
    half.get_layer("head").lr_multiplier = 0.5
    before = _values(full)
    full.train_on_batch(X[:8], Y[:8])
    half.train_on_batch(X[:8], Y[:8])
    step_full = _values(full)["head/kernel"] - before["head/kernel"]
    step_half = _values(half)["head/kernel"] - before["head/kernel"]
    np.testing.assert_allclose(step_half, 0.5 * step_full, rtol=1e-6, atol=1e-9)
    # The layer without a multiplier takes the very same step in both.
    assert _values(half)["body/kernel"].tobytes() == _values(full)["body/kernel"].tobytes()


def test_multipliers_are_read_at_every_fit_and_owner_multipliers_compose():
    inner = Sequential([tl.Input(shape=(4,)), tl.Dense(3, name="inner_dense")], name="inner")
    x = tl.Input(shape=(4,))
    model = Model(x, tl.Dense(1, name="out")(inner(x)))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    inner.lr_multiplier = 0.0  # after compile and a first fit: no recompile by hand
    before = _values(model)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    after = _values(model)
    assert after["inner/inner_dense/kernel"].tobytes() == before[
        "inner/inner_dense/kernel"].tobytes()
    assert not np.array_equal(after["out/kernel"], before["out/kernel"])
    inner.lr_multiplier = 1.0
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(_values(model)["inner/inner_dense/kernel"],
                              after["inner/inner_dense/kernel"])
    thawnet.set_learning_rate_multiplier(model, "inner_dense", 0.5)
    inner.lr_multiplier = 0.2
    assert learning_rate_multipliers(model) == {"inner": 0.2, "inner_dense": 0.5}
    assert thawnet.trainability.lr_multipliers.weight_multipliers(model)[
        "inner/inner_dense/kernel"] == pytest.approx(0.1)


def test_bad_multipliers_and_patterns_are_refused_with_the_fix():
    model = _model()
    with pytest.raises(ValueError, match=r"lr_multiplier must be a finite number >= 0 .*"
                                         r"received -1"):
        thawnet.set_learning_rate_multiplier(model, "head", -1)
    with pytest.raises(ValueError, match="no layer of model .* matches 'nope'"):
        thawnet.set_learning_rate_multiplier(model, "nope", 0.1)
    model.get_layer("head").lr_multiplier = "fast"
    with pytest.raises(ValueError, match='Layer "head" \\(Dense\\): lr_multiplier must be'):
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0)


def test_summary_shows_the_multiplier_column_only_when_one_differs_from_1():
    model = Sequential([tl.Input(shape=(4,)), tl.Dense(3, name="body"), tl.Dense(1, name="head")])
    lines = []
    model.summary(show_trainable=True, print_fn=lines.append)
    assert "LR mult" not in lines[2] and len(lines[0 + 1]) == 76
    thawnet.set_learning_rate_multiplier(model, "body", 0.1)
    lines = []
    model.summary(show_trainable=True, print_fn=lines.append)
    assert lines[2] == ("Layer (type)                 Output Shape              Param #   "
                        "Trainable  LR mult  ")
    assert lines[4] == ("body (Dense)                 (None, 3)                 15        "
                        "Y          0.1      ")
    assert lines[6].startswith("head (Dense)") and lines[6].rstrip().endswith("Y          1")
    lines = []
    model.summary(print_fn=lines.append)  # without show_trainable: the seed's table
    assert len(lines[1]) == 65


def test_a_custom_train_step_gets_the_multipliers_through_optimizer_stateless_apply():
    class Custom(Model):
        def train_step(self, state, data):
            trainable, non_trainable, opt_vars, metric_vars = state
            x, y = data

            def loss_fn(t):
                y_pred, nt = self.stateless_call(t, non_trainable, x, training=True)
                return jnp.mean((y_pred - y) ** 2), nt

            (loss, non_trainable), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
            trainable, opt_vars = self.optimizer.stateless_apply(opt_vars, grads, trainable)
            return {"loss": loss}, (trainable, non_trainable, opt_vars, metric_vars)

    x = tl.Input(shape=(4,))
    model = Custom(x, tl.Dense(1, name="head")(tl.Dense(3, name="body")(x)))
    model.compile(optimizer="sgd")
    model.get_layer("body").lr_multiplier = 0.0
    before = _values(model)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    after = _values(model)
    assert after["body/kernel"].tobytes() == before["body/kernel"].tobytes()
    assert not np.array_equal(after["head/kernel"], before["head/kernel"])


def test_multipliers_are_saved_with_the_architecture(tmp_path):
    model = Sequential([tl.Input((3,)), tl.Dense(4, name="a"), tl.Dense(2, name="b")])
    thawnet.set_learning_rate_multiplier(model, "a", 0.25)
    path = tmp_path / "m.thawnet"
    model.save(path)
    loaded = thawnet.saving.load_model(path)
    assert loaded.get_layer("a").lr_multiplier == 0.25
    assert getattr(loaded.get_layer("b"), "lr_multiplier", 1.0) == 1.0
    entries = {e["name"]: e for e in model.get_config()["layers"]}
    assert entries["a"]["lr_multiplier"] == 0.25 and "lr_multiplier" not in entries["b"]
