"""LossScaleOptimizer as Keras 3's: the same weights, loss scale and counter after a sequence
of finite and non-finite gradients; compile wraps the optimizer for mixed_float16 only; a
step whose scaled gradients overflow is skipped; its state is saved and restored."""

import jax
import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest

import thawnet
from thawnet.optimizers import LossScaleOptimizer, get_learning_rate

GRADS = [[1.0, 2.0], [np.inf, 1.0], [0.5, -1.0], [1.0, 1.0], [np.nan, 0.0], [2.0, 2.0]]


def test_scale_updates_and_skips_like_keras():
    k_var = keras.Variable(np.array([1.0, -1.0], "float32"))
    k_opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1, momentum=0.9),
                                                initial_scale=4.0, dynamic_growth_steps=2)
    k_opt.build([k_var])
    k_state, k_values = [v.value for v in k_opt.variables], [k_var.value]
    names = [v.name for v in k_opt.variables]
    tx = LossScaleOptimizer(thawnet.optimizers.SGD(0.1, momentum=0.9), initial_scale=4.0,
                            dynamic_growth_steps=2).to_optax()
    params = {"w": jnp.array([1.0, -1.0])}
    state = tx.init(params)
    scales = []
    k_apply, t_update = jax.jit(k_opt.stateless_apply), jax.jit(tx.update)
    for g in GRADS:
        k_values, k_state = k_apply(k_state, [jnp.asarray(g, "float32")], k_values)
        updates, state = t_update({"w": jnp.asarray(g, "float32")}, state, params)
        params = optax.apply_updates(params, updates)
        k = dict(zip(names, k_state))
        np.testing.assert_array_equal(np.asarray(params["w"]), np.asarray(k_values[0]))
        assert float(state.dynamic_scale) == float(k["dynamic_scale"])
        assert int(state.step_counter) == int(k["step_counter"])
        scales.append(float(state.dynamic_scale))
    # halved on inf and nan, doubled after two finite steps in a row
    assert scales == [4.0, 2.0, 2.0, 4.0, 2.0, 2.0]


def _mixed_model(policy="mixed_float16"):
    thawnet.mixed_precision.set_global_policy(policy)
    try:
        return thawnet.Sequential([thawnet.Input((4,)), thawnet.layers.Dense(3),
                                   thawnet.layers.Dense(2, dtype="float32")])
    finally:
        thawnet.mixed_precision.set_global_policy(None)


def test_compile_wraps_only_for_mixed_float16():
    model = _mixed_model()
    model.compile("sgd", "mse")
    assert isinstance(model.optimizer, LossScaleOptimizer)
    assert type(model.optimizer.inner_optimizer).__name__ == "SGD"
    model.compile("sgd", "mse", auto_scale_loss=False)
    assert type(model.optimizer).__name__ == "SGD"
    mine = LossScaleOptimizer(thawnet.optimizers.Adam(), initial_scale=8.0)
    model.compile(mine, "mse")
    assert model.optimizer is mine
    bf16 = _mixed_model("mixed_bfloat16")
    bf16.compile("sgd", "mse")
    assert type(bf16.optimizer).__name__ == "SGD"


@pytest.fixture(scope="module")
def data():
    rs = np.random.RandomState(0)
    return rs.randn(8, 4).astype("float32"), rs.randn(8, 2).astype("float32")


def test_overflowing_step_is_skipped_and_scale_halved(data):
    x, y = data
    model = _mixed_model()
    before = [np.asarray(v.value) for v in model.weights]
    # loss * 2**100 is finite in float32, but its gradient overflows float16 layers.
    model.compile(LossScaleOptimizer(thawnet.optimizers.SGD(0.1), initial_scale=2.0 ** 100),
                  "mse")
    loss = model.train_on_batch(x, y)
    for v, old in zip(model.weights, before):
        np.testing.assert_array_equal(np.asarray(v.value), old)  # exact bits: skipped
    assert model.optimizer.dynamic_scale == 2.0 ** 99
    assert np.isfinite(loss)  # the reported loss is the unscaled one
    assert loss == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-3)


def test_state_saved_and_restored_with_learning_rate(data, tmp_path):
    x, y = data
    model = _mixed_model()
    model.compile(thawnet.optimizers.Adam(0.01), "mse")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert model.optimizer.step_counter == int(model._opt_state.step_counter) == 4
    model.optimizer.learning_rate = 0.05  # forwarded to the inner optimizer's state
    assert float(get_learning_rate(model._opt_state)) == pytest.approx(0.05)
    path = str(tmp_path / "m.thawnet")
    model.save(path)
    loaded = thawnet.saving.load_model(path)
    assert isinstance(loaded.optimizer, LossScaleOptimizer)
    assert loaded.layers[0].dtype_policy.name == "mixed_float16"
    assert int(loaded._opt_state.step_counter) == 4
    assert loaded.optimizer.dynamic_scale == model.optimizer.dynamic_scale
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.05)


def test_config_round_trip_and_errors():
    opt = LossScaleOptimizer(thawnet.optimizers.SGD(0.2), initial_scale=64.0,
                             dynamic_growth_steps=10)
    config = opt.get_config()
    assert config["inner_optimizer"]["class_name"] == "SGD"
    again = thawnet.optimizers.get({"class_name": "LossScaleOptimizer", "config": config})
    assert (again.initial_scale, again.dynamic_growth_steps) == (64.0, 10)
    assert float(again.learning_rate) == pytest.approx(0.2)
    # Keras reads the same config.
    k_opt = keras.optimizers.LossScaleOptimizer.from_config(config)
    assert (k_opt.initial_scale, type(k_opt.inner_optimizer).__name__) == (64.0, "SGD")
    with pytest.raises(ValueError, match="dynamic_growth_steps must be a number >= 1"):
        LossScaleOptimizer(thawnet.optimizers.SGD(), dynamic_growth_steps=0)
    with pytest.raises(ValueError, match="set it on the inner optimizer"):
        LossScaleOptimizer(thawnet.optimizers.SGD(), clipnorm=1.0)


class _KerasStepModel(keras.Model):
    def train_step(self, state, data):
        return super().train_step(state, data)


class _ThawnetStepModel(thawnet.Model):
    def train_step(self, state, data):
        return super().train_step(state, data)


def _functional(lib, cls):
    inputs = lib.Input((4,))
    outputs = lib.layers.Dense(2, dtype="float32")(lib.layers.Dense(3)(inputs))
    return cls(inputs, outputs)


def test_custom_train_step_scales_the_loss_like_keras(data):
    """Keras's compute_loss_and_updates multiplies the loss by the scale found in the
    optimizer variables; without it the unscaled gradients would be 256 times too small."""
    x, y = data
    keras.mixed_precision.set_global_policy("mixed_float16")
    thawnet.mixed_precision.set_global_policy("mixed_float16")
    try:
        k_model = _functional(keras, _KerasStepModel)
        t_model = _functional(thawnet, _ThawnetStepModel)
    finally:
        keras.mixed_precision.set_global_policy("float32")
        thawnet.mixed_precision.set_global_policy(None)
    for kv, tv in zip(k_model.weights, t_model.weights):
        tv.assign(np.asarray(kv.numpy()))
    before = [kv.numpy() for kv in k_model.weights]
    # A scale small enough that this step's float16 gradients do not overflow.
    k_model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), 256.0),
                    "mse")
    t_model.compile(LossScaleOptimizer(thawnet.optimizers.SGD(0.1), 256.0), "mse")
    k_model.train_on_batch(x, y)
    t_model.train_on_batch(x, y)
    assert t_model.optimizer.dynamic_scale == 256.0  # finite: kept
    for kv, tv, old in zip(k_model.weights, t_model.weights, before):
        assert np.abs(kv.numpy() - old).max() > 1e-4  # Keras did step
        np.testing.assert_allclose(np.asarray(tv.value), kv.numpy(), atol=1e-6)
