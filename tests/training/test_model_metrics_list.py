"""``model.metrics`` and ``metrics_names`` as Keras 3 lists them after ``fit``: the loss
tracker, one ``CompileMetrics`` container for the compiled metrics, the per-output loss
trackers; checked against Keras for one and two outputs, with and without metrics."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet.metrics import CompileMetrics

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 3)).astype("f4")
Y = RNG.normal(size=(8, 2)).astype("f4")

CASES = {
    "one output": (1, "mse", None),
    "one output, metrics": (1, "mse", ["mae"]),
    "one output, weighted_metrics": (1, "mse", "weighted"),
    "two outputs": (2, ["mse", "mse"], None),
    "two outputs, metrics": (2, ["mse", "mse"], [["mae"], ["mse"]]),
}


def _listing(lib, outputs, loss, metrics):
    inp = lib.Input((3,))
    heads = [lib.layers.Dense(2, name=n)(inp) for n in ("a", "b")[:outputs]]
    model = lib.Model(inp, heads if outputs > 1 else heads[0])
    kwargs = ({"weighted_metrics": ["mae"]} if metrics == "weighted"
              else {"metrics": metrics} if metrics else {})
    model.compile(optimizer="sgd", loss=loss, **kwargs)
    ys = [Y] * outputs if outputs > 1 else Y
    model.fit(X, ys, batch_size=4, epochs=1, verbose=0)
    listed = [(type(m).__name__, m.name, len(m.variables)) for m in model.metrics]
    container = [m for m in model.metrics if m.name == "compile_metrics"]
    result_keys = sorted(container[0].result()) if container else []
    return listed, list(model.metrics_names), len(model.metrics_variables), result_keys


# Two cases run by default; all five with THAWNET_FULL=1 (each fits a Keras model too).
DEFAULT = ("one output, metrics", "two outputs, metrics")


@pytest.mark.parametrize("case", [c if c in DEFAULT else pytest.param(c, marks=pytest.mark.slow)
                                  for c in sorted(CASES)])
def test_metrics_list_matches_keras(case):
    outputs, loss, metrics = CASES[case]
    thawnet_listing = _listing(thawnet, outputs, loss, metrics)
    keras_listing = _listing(keras, outputs, loss, metrics)
    assert thawnet_listing == keras_listing


def test_loss_tracker_and_container_attributes():
    model = thawnet.Sequential([tl.Input(shape=(3,)), tl.Dense(2)])
    assert model.metrics == []
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    assert model.metrics == [model._loss_tracker, model._compile_metrics]
    container = model._compile_metrics
    assert isinstance(container, CompileMetrics) and container.name == "compile_metrics"
    assert [m.name for m in container.metrics] == ["mae", "mse"]
    # Eager use, as a custom train_step does it: the inner metrics hold the state.
    y_pred = np.zeros((2, 2), "f4")
    container.update_state(np.ones((2, 2), "f4"), y_pred)
    assert {k: float(v) for k, v in container.result().items()} == {"mae": 1.0, "mse": 1.0}
    assert float(container.metrics[0].result()) == 1.0
    container.reset_state()
    assert float(container.metrics[1].result()) == 0.0


class _GuideModel(thawnet.Model):
    """A custom step in Keras 3's JAX form that updates the metrics by looping over them."""

    def train_step(self, state, data):
        import jax
        trainable, non_trainable, opt_vars, metric_vars = state
        x, y = data
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (loss, (y_pred, non_trainable)), grads = grad_fn(trainable, non_trainable, x, y)
        trainable, opt_vars = self.optimizer.stateless_apply(opt_vars, grads, trainable)
        new_vars, logs, start = [], {}, 0
        for metric in self.metrics:
            size = len(metric.variables)
            values = metric_vars[start:start + size]
            start += size
            if metric.name == "loss":
                values = metric.stateless_update_state(values, loss)
            else:
                values = metric.stateless_update_state(values, y, y_pred)
            logs[metric.name] = metric.stateless_result(values)
            new_vars += values
        return logs, (trainable, non_trainable, opt_vars, new_vars)

    def compute_loss_and_updates(self, trainable, non_trainable, x, y):
        y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x)
        return self.compute_loss(x, y, y_pred), (y_pred, non_trainable)


def test_a_custom_step_reports_the_containers_metrics():
    inp = tl.Input(shape=(3,))
    model = _GuideModel(inp, tl.Dense(2)(inp))
    model.compile(optimizer=thawnet.optimizers.SGD(0.0), loss="mse", metrics=["mae"])
    history = model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    expected = float(np.mean(np.abs(Y - np.asarray(model.predict(X, verbose=0)))))
    assert history.history["mae"] == pytest.approx([expected], rel=1e-5)
    assert "compile_metrics" not in history.history  # the nested dict is flattened
