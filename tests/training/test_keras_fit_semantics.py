"""fit / evaluate / predict semantics compared with Keras 3: class_weight, stop flags, hook
sequences, batch indices and logs, metrics_names, multi-output compile arguments,
weighted_metrics, compile()'s positional order and compile without a loss."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import callbacks as cb
from thawnet import layers as tl

RNG = np.random.default_rng(3)
X = RNG.normal(size=(40, 4)).astype("f4")
YB = (X[:, :1] + 0.3 * X[:, 1:2] > 0.2).astype("f4")
YR = (X @ np.array([1.0, -1.0, 0.5, 2.0], "f4"))[:, None]


def _pair(keras_layers, thawnet_layers, **compile_args):
    k = keras.Sequential([keras.Input((4,))] + keras_layers)
    t = thawnet.Sequential([tl.Input(shape=(4,))] + thawnet_layers)
    k.compile(**compile_args)
    t.compile(**compile_args)
    t.set_weights(k.get_weights())
    return k, t


def _recorder(base):
    class Recorder(base):
        def __init__(self):
            super().__init__()
            self.calls = []

        def _log(name):
            def hook(self, *args, **kwargs):
                batch = args[0] if args and isinstance(args[0], int) else None
                logs = kwargs.get("logs", args[-1] if args and not isinstance(
                    args[-1], int) else None)
                self.calls.append((name, batch, sorted(logs) if isinstance(logs, dict)
                                   else None))
            return hook

        for _name in ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                      "on_test_begin", "on_test_end", "on_test_batch_begin",
                      "on_test_batch_end", "on_predict_begin", "on_predict_end",
                      "on_predict_batch_begin", "on_predict_batch_end"]:
            locals()[_name] = _log(_name)
    return Recorder()


def _names(calls):
    return [(name, batch) for name, batch, _ in calls]


def test_class_weight_changes_the_loss_only():
    args = dict(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy",
                metrics=[keras.metrics.Precision(name="precision")])
    k = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    k.compile(**args)
    t = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(1, activation="sigmoid")])
    t.compile(optimizer=thawnet.optimizers.SGD(0.0), loss="binary_crossentropy",
              metrics=["precision"])
    t.set_weights(k.get_weights())
    weights = {0: 1.0, 1: 9.0}
    kh = k.fit(X, YB, batch_size=8, class_weight=weights, shuffle=False, verbose=0).history
    th = t.fit(X, YB, batch_size=8, class_weight=weights, shuffle=False, verbose=0).history
    plain = t.evaluate(X, YB, verbose=0, return_dict=True)["precision"]
    assert th["precision"][0] == pytest.approx(kh["precision"][0], abs=1e-6)
    assert th["precision"][0] == pytest.approx(plain, abs=1e-6)  # unweighted, as in Keras
    assert th["loss"][0] == pytest.approx(kh["loss"][0], rel=1e-5)


def test_evaluate_after_early_stopping_covers_the_whole_data_set():
    k, t = _pair([keras.layers.Dense(1)], [tl.Dense(1)], optimizer="sgd", loss="mse")
    k.fit(X, YR, epochs=5, verbose=0,
          callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=0,
                                                   min_delta=100.0)])
    t.fit(X, YR, epochs=5, verbose=0,
          callbacks=[cb.EarlyStopping(monitor="loss", patience=0, min_delta=100.0)])
    assert t.stop_training is True and k.stop_training is True
    kr, tr = _recorder(keras.callbacks.Callback), _recorder(cb.Callback)
    k.evaluate(X, YR, batch_size=8, verbose=0, callbacks=[kr])
    t.evaluate(X, YR, batch_size=8, verbose=0, callbacks=[tr])
    ends = [b for name, b in _names(tr.calls) if name == "on_test_batch_end"]
    assert ends == list(range(5))
    assert _names(tr.calls) == _names(kr.calls)


def test_validation_in_fit_fires_the_test_hooks_in_keras_order():
    k, t = _pair([keras.layers.Dense(1)], [tl.Dense(1)], optimizer="sgd", loss="mse",
                 metrics=["mae"])
    kr, tr = _recorder(keras.callbacks.Callback), _recorder(cb.Callback)
    kw = dict(batch_size=16, epochs=2, verbose=0, validation_data=(X[:24], YR[:24]))
    k.fit(X, YR, callbacks=[kr], **kw)
    t.fit(X, YR, callbacks=[tr], **kw)
    assert _names(tr.calls) == _names(kr.calls)
    assert [c for c in tr.calls if c[0] == "on_epoch_end"] == \
        [c for c in kr.calls if c[0] == "on_epoch_end"]  # same log keys


def test_predict_numbers_batches_without_restarting_and_passes_outputs():
    k, t = _pair([keras.layers.Dense(2)], [tl.Dense(2)], optimizer="sgd", loss="mse")
    seen = {"keras": [], "thawnet": []}

    class KerasSeen(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen["keras"].append((batch, np.asarray(logs["outputs"]).shape))

    class Seen(cb.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen["thawnet"].append((batch, np.asarray(logs["outputs"]).shape))

    k.predict(X[:30], batch_size=4, verbose=0, callbacks=[KerasSeen()])
    t.predict(X[:30], batch_size=4, verbose=0, callbacks=[Seen()])
    assert seen["thawnet"] == seen["keras"]
    assert [b for b, _ in seen["thawnet"]] == list(range(8))


def test_metrics_names_and_metrics_as_keras_lists_them():
    k, t = _pair([keras.layers.Dense(1)], [tl.Dense(1)], optimizer="sgd", loss="mse",
                 metrics=["mae"])
    k.fit(X, YR, verbose=0)
    t.fit(X, YR, verbose=0)
    assert t.metrics_names == k.metrics_names == ["loss", "compile_metrics"]
    assert t.metrics[0].name == "loss"


def _functional_pair(**compile_args):
    ki = keras.Input((4,))
    k = keras.Model(ki, [keras.layers.Dense(1, name="a")(ki),
                         keras.layers.Dense(2, name="b")(ki)])
    ti = tl.Input(shape=(4,))
    t = thawnet.Model(ti, [tl.Dense(1, name="a")(ti), tl.Dense(2, name="b")(ti)])
    k.compile(**compile_args)
    t.compile(**compile_args)
    t.set_weights(k.get_weights())
    return k, t


Y2 = [YR, np.concatenate([YR, -YR], axis=1)]


@pytest.mark.parametrize("args", [
    dict(optimizer="sgd", loss=["mse", "mae"]),
    dict(optimizer="sgd", loss={"a": "mse", "b": "mae"}, loss_weights={"a": 1.0, "b": 0.5}),
    dict(optimizer="sgd", loss=["mse", "mse"], loss_weights=[0.3, 2.0],
         metrics=[["mae"], ["mse"]]),
    dict(optimizer="sgd", loss="mse", metrics={"b": ["mae"]}),
])
def test_multi_output_compile_arguments_match_keras(args):
    k, t = _functional_pair(**args)
    kh = k.fit(X, Y2, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    th = t.fit(X, Y2, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert sorted(th) == sorted(kh)
    for key in kh:
        np.testing.assert_allclose(th[key], kh[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert t.metrics_names == k.metrics_names


def test_subclassed_two_output_model_takes_a_loss_list():
    def make(base, dense):
        class TwoHeads(base):
            def __init__(self):
                super().__init__()
                self.a, self.b = dense(1), dense(2)

            def call(self, x, training=False):
                return [self.a(x), self.b(x)]
        return TwoHeads()

    k, t = make(keras.Model, keras.layers.Dense), make(thawnet.Model, tl.Dense)
    k.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[1.0, 0.5])
    t.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[1.0, 0.5])
    k(X[:2])
    t(X[:2])
    t.set_weights(k.get_weights())
    kh = k.fit(X, Y2, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    th = t.fit(X, Y2, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(th["loss"], kh["loss"], rtol=1e-4)


def test_weighted_metrics_receive_sample_weight_and_metrics_do_not():
    sw = np.linspace(0.1, 2.0, len(X)).astype("f4")
    args = dict(optimizer=keras.optimizers.SGD(0.0), loss="mse", metrics=["mae"],
                weighted_metrics=["mae"])
    k = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    k.compile(**args)
    t = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(1)])
    t.compile(optimizer=thawnet.optimizers.SGD(0.0), loss="mse", metrics=["mae"],
              weighted_metrics=["mae"])
    t.set_weights(k.get_weights())
    kh = k.fit(X, YR, sample_weight=sw, batch_size=8, shuffle=False, verbose=0).history
    th = t.fit(X, YR, sample_weight=sw, batch_size=8, shuffle=False, verbose=0).history
    assert sorted(th) == sorted(kh) == ["loss", "mae", "weighted_mae"]
    for key in kh:
        assert th[key][0] == pytest.approx(kh[key][0], rel=1e-5), key
    assert th["mae"][0] != pytest.approx(th["weighted_mae"][0], rel=1e-3)


def test_compile_positional_order_is_keras():
    ki = keras.Input((4,))
    k = keras.Model(ki, [keras.layers.Dense(1, name="a")(ki), keras.layers.Dense(2, name="b")(ki)])
    ti = tl.Input(shape=(4,))
    t = thawnet.Model(ti, [tl.Dense(1, name="a")(ti), tl.Dense(2, name="b")(ti)])
    k.compile("sgd", ["mse", "mse"], [0.2, 3.0], [["mae"], []])
    t.compile("sgd", ["mse", "mse"], [0.2, 3.0], [["mae"], []])
    t.set_weights(k.get_weights())
    kl = k.evaluate(X, Y2, verbose=0, return_dict=True)
    tl_ = t.evaluate(X, Y2, verbose=0, return_dict=True)
    for key in kl:
        assert tl_[key] == pytest.approx(kl[key], rel=1e-5), key


def test_compile_without_a_loss_trains_on_add_loss():
    def make(base, dense, ops_sum):
        class WithAddLoss(base):
            def __init__(self):
                super().__init__()
                self.d = dense(2)

            def call(self, x, training=False):
                out = self.d(x)
                self.add_loss(0.1 * ops_sum(out ** 2))
                return out
        return WithAddLoss()

    k = make(keras.Model, keras.layers.Dense, keras.ops.sum)
    t = make(thawnet.Model, tl.Dense, thawnet.ops.sum)
    k.compile(optimizer=keras.optimizers.SGD(0.01))
    t.compile(optimizer=thawnet.optimizers.SGD(0.01))
    k(X[:2])
    t(X[:2])
    t.set_weights(k.get_weights())
    kh = k.fit(X, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    th = t.fit(X, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(th["loss"], kh["loss"], rtol=1e-4)
    assert th["loss"][1] < th["loss"][0]
