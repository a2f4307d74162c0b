"""Typical user mistakes in fit/evaluate/compile get an error (or a warning) that names the
argument, what was expected, what was received and the fix; Keras 3 is shown alongside.

Each test proves three things where they apply: thawnet refuses (with the message asserted),
the fix the message names works, and what Keras 3 does with the same input.
"""

import warnings

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl

X = np.linspace(0, 1, 32, dtype="f4").reshape(8, 4)
LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1])


def _classifier(loss, units=3):
    m = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(units, name="head")])
    m.compile(optimizer="sgd", loss=loss)
    return m


def _keras_classifier(loss, units=3):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units)])
    m.compile(optimizer="sgd", loss=loss)
    return m


# -- 1. one-hot labels vs sparse loss, integer labels vs categorical loss -------------------
def test_one_hot_labels_with_a_sparse_loss_name_both_fixes_and_the_fix_trains():
    one_hot = np.eye(3, dtype="f4")[LABELS]
    m = _classifier("sparse_categorical_crossentropy")
    with pytest.raises(ValueError) as err:
        m.fit(X, one_hot, verbose=0)
    msg = str(err.value)
    assert msg.startswith('sparse_categorical_crossentropy on output "head" expects integer '
                          "class labels of shape (None,) (or (None, 1))")
    assert "received y of shape (8, 3) and dtype float32" in msg
    assert "one-hot labels over 3 classes" in msg
    assert "loss='categorical_crossentropy'" in msg and "`y = y.argmax(axis=-1)`" in msg
    history = m.fit(X, one_hot.argmax(axis=-1), verbose=0)  # the fix it names
    assert len(history.history["loss"]) == 1
    # Keras refuses too, with a message that names neither the loss nor a fix.
    with pytest.raises(ValueError, match="must have the same shape up until the last"):
        _keras_classifier("sparse_categorical_crossentropy").fit(X, one_hot, verbose=0)


def test_integer_labels_with_a_categorical_loss_name_both_fixes_and_the_fix_trains():
    m = _classifier("categorical_crossentropy")
    with pytest.raises(ValueError) as err:
        m.fit(X, LABELS, verbose=0)
    msg = str(err.value)
    assert msg.startswith('categorical_crossentropy on output "head" expects one-hot labels '
                          "of shape (None, 3)")
    assert "received y of shape (8,) and dtype int32" in msg
    assert "loss='sparse_categorical_crossentropy'" in msg
    assert "`y = np.eye(3, dtype='float32')[y]`" in msg
    y = LABELS
    fixed = np.eye(3, dtype='float32')[y]  # the expression of the message, verbatim
    assert m.fit(X, fixed, verbose=0).history["loss"][0] > 0
    # Labels of shape (N, 1) and float dtype: the expression adapts to them.
    with pytest.raises(ValueError, match=r"\[y\[\.\.\., 0\]\.astype\(int\)\]"):
        m.fit(X, LABELS[:, None].astype("f4"), verbose=0)
    with pytest.raises(ValueError, match="must have the same shape"):
        _keras_classifier("categorical_crossentropy").fit(X, LABELS, verbose=0)


def test_sequence_labels_are_not_mistaken_for_one_hot_ones():
    inp = tl.Input(shape=(5, 4))
    m = thawnet.Model(inp, tl.Dense(3, name="tags")(inp))
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.ones((2, 5, 4), "f4")
    tags = np.array([[0, 1, 2, 1, 0], [2, 2, 1, 0, 0]])
    assert np.isfinite(m.fit(x, tags, verbose=0).history["loss"][0])
    with pytest.raises(ValueError, match=r"received y of shape \(2, 5, 3\)"):
        m.fit(x, np.eye(3, dtype="f4")[tags], verbose=0)


# -- 2. epochs, batch_size, validation_split and friends -------------------------------------
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(epochs=-1), ValueError, r"fit\(\): epochs must be an integer >= 0; received "
                                  r"epochs=-1\."),
    (dict(epochs="5"), TypeError, r"epochs must be an integer >= 0; received epochs='5' "
                                  r"\(a str\)\. Pass epochs=5\."),
    (dict(epochs=2.5), TypeError, r"received epochs=2\.5 \(a float\)\.$"),
    (dict(epochs=True), TypeError, r"received epochs=True \(a bool\)"),
    (dict(batch_size="32"), TypeError, r"batch_size must be a positive integer or None; "
                                       r"received batch_size='32' \(a str\)\. Pass "
                                       r"batch_size=32\."),
    (dict(batch_size=0), ValueError, r"received batch_size=0\."),
    (dict(batch_size=-4), ValueError, r"received batch_size=-4\."),
    (dict(validation_split=1.5), ValueError, r"validation_split must be a float in \[0, 1\) "
                                             r".*received validation_split=1\.5\."),
    (dict(validation_split=-0.1), ValueError, r"received validation_split=-0\.1\."),
    (dict(validation_split="0.2"), TypeError, r"received validation_split='0\.2' \(a str\)"),
    (dict(steps_per_epoch=0), ValueError, r"steps_per_epoch must be a positive integer or "
                                          r"None; received steps_per_epoch=0\."),
    (dict(initial_epoch=-2), ValueError, r"initial_epoch must be an integer >= 0"),
    (dict(validation_freq=0), ValueError, r"validation_freq must be a positive integer"),
    (dict(validation_data=[X]), ValueError, r"validation_data must be a tuple \(x_val, "
                                            r"y_val\).*received a list of length 1\."),
])
def test_bad_fit_arguments_name_the_argument_expected_and_received(kwargs, error, message):
    m = _classifier("sparse_categorical_crossentropy")
    with pytest.raises(error, match=message):
        m.fit(X, LABELS, verbose=0, **kwargs)


def test_keras_trains_nothing_for_negative_epochs_thawnet_refuses_zero_is_kept():
    keras_history = _keras_classifier("sparse_categorical_crossentropy").fit(
        X, LABELS, epochs=-1, verbose=0)
    assert keras_history.history == {}  # Keras: silently nothing
    m = _classifier("sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="epochs must be an integer >= 0"):
        m.fit(X, LABELS, epochs=-1, verbose=0)
    assert m.fit(X, LABELS, epochs=0, verbose=0).history == {}  # as Keras, on purpose
    assert len(m.fit(X, LABELS, epochs=np.int64(2), verbose=0).history["loss"]) == 2


def test_bad_evaluate_arguments():
    m = _classifier("sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"evaluate\(\): batch_size must be a positive "
                                         r"integer or None; received batch_size=0\."):
        m.evaluate(X, LABELS, batch_size=0, verbose=0)
    with pytest.raises(TypeError, match=r"evaluate\(\): steps .*received steps='2' \(a str\)"):
        m.evaluate(X, LABELS, steps="2", verbose=0)
    assert np.isfinite(m.evaluate(X, LABELS, batch_size=3, verbose=0))


# -- 3. negative learning rate ---------------------------------------------------------------
def test_negative_or_non_finite_learning_rate_is_refused_at_construction_and_assignment():
    with pytest.raises(ValueError, match=r"SGD: learning_rate must be a finite number >= 0 "
                                         r".*received learning_rate=-0\.1\. Pass a positive "
                                         r"rate, e.g\. learning_rate=0\.1\."):
        thawnet.optimizers.SGD(learning_rate=-0.1)
    with pytest.raises(ValueError, match=r"Adam: .*received learning_rate=nan"):
        thawnet.optimizers.Adam(learning_rate=float("nan"))
    with pytest.raises(ValueError, match=r"RMSprop: learning_rate must be a float or a "
                                         r"callable schedule; received learning_rate='0\.01' "
                                         r"\(a str\)"):
        thawnet.optimizers.RMSprop(learning_rate="0.01")
    with pytest.raises(ValueError, match="received learning_rate=True"):
        thawnet.optimizers.SGD(learning_rate=True)
    opt = thawnet.optimizers.Adam(learning_rate=1)
    # optimizer.learning_rate is variable-like (Keras); its stored value is a float.
    assert opt.learning_rate == 1.0 and isinstance(opt.get_config()["learning_rate"], float)
    with pytest.raises(ValueError, match=r"Adam: .*received learning_rate=-2"):
        opt.learning_rate = -2
    assert opt.learning_rate == 1.0  # the refused value was not stored
    opt.learning_rate = np.float32(0.5)
    assert opt.learning_rate == 0.5 and opt.get_config()["learning_rate"] == 0.5
    assert thawnet.optimizers.SGD(learning_rate=0.0).learning_rate == 0.0  # a frozen run
    schedule = thawnet.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert thawnet.optimizers.SGD(learning_rate=schedule).learning_rate_schedule is schedule
    # Keras takes the negative rate and trains uphill.
    assert float(keras.optimizers.SGD(learning_rate=-0.1).learning_rate) == pytest.approx(-0.1)


# -- 4. target shapes that would broadcast ---------------------------------------------------
def test_mse_target_that_would_broadcast_is_refused_with_keras_meaning_as_the_fix():
    m = _classifier("mse")
    y1 = np.linspace(-1, 1, 8, dtype="f4")[:, None]
    with pytest.raises(ValueError) as err:
        m.fit(X, y1, verbose=0)
    msg = str(err.value)
    assert msg.startswith('mse on output "head" expects y of the output\'s shape (None, 3)')
    assert "received y of shape (8, 1) and dtype float32" in msg
    assert "does not broadcast targets (Keras would, silently)" in msg
    assert "`y = np.repeat(y, 3, axis=-1)`" in msg and "give the last layer 1 unit" in msg
    # The named fix means exactly what Keras computes by broadcasting.
    pred = np.asarray(m.predict(X, verbose=0))
    keras_value = float(keras.losses.MeanSquaredError()(y1, pred))
    ours = float(thawnet.losses.MeanSquaredError()(np.repeat(y1, 3, axis=-1), pred))
    assert ours == pytest.approx(keras_value, rel=1e-6)
    assert m.fit(X, np.repeat(y1, 3, axis=-1), verbose=0).history["loss"][0] > 0


@pytest.mark.parametrize("out_units, y_shape", [(1, (8,)), (1, (8, 1)), (3, (8, 3))])
def test_shapes_keras_aligns_keep_working_and_match_keras(out_units, y_shape):
    m = _classifier("mse", units=out_units)
    theirs = _keras_classifier("mse", units=out_units)
    theirs.set_weights(m.get_weights())
    y = np.linspace(0, 1, int(np.prod(y_shape)), dtype="f4").reshape(y_shape)
    ours = m.evaluate(X, y, verbose=0)
    assert ours == pytest.approx(theirs.evaluate(X, y, verbose=0), rel=1e-5)


def test_a_trailing_unit_axis_is_dropped_for_sequence_targets():
    inp = tl.Input(shape=(5, 4))
    m = thawnet.Model(inp, tl.Dense(1)(tl.Dense(2)(inp)))
    m.compile(optimizer="sgd", loss="mae")
    assert np.isfinite(m.evaluate(np.ones((2, 5, 4), "f4"), np.ones((2, 5), "f4"), verbose=0))
    with pytest.raises(ValueError, match=r"received y of shape \(2, 4\)"):
        m.evaluate(np.ones((2, 5, 4), "f4"), np.ones((2, 4), "f4"), verbose=0)


def test_integer_targets_against_many_outputs_suggest_the_sparse_loss():
    with pytest.raises(ValueError, match=r"(?s)binary_crossentropy on output \"head\".*"
                                         r"received y of shape \(8,\) and dtype int32.*"
                                         r"loss='sparse_categorical_crossentropy'"):
        _classifier("binary_crossentropy").fit(X, LABELS, verbose=0)


def test_a_users_own_loss_function_is_not_second_guessed():
    def broadcasting_loss(y_true, y_pred):
        return thawnet.ops.mean((y_pred - y_true) ** 2, axis=-1)

    m = _classifier(broadcasting_loss)
    assert np.isfinite(m.fit(X, np.ones((8, 1), "f4"), verbose=0).history["loss"][0])


# -- 5. class_weight ----------------------------------------------------------------------
def test_class_weight_for_an_absent_class_warns_with_the_classes_present():
    m = _classifier("sparse_categorical_crossentropy", units=6)
    with pytest.warns(UserWarning, match=r"class_weight gives weights for classes \[5\] that "
                                         r"no sample of y has \(y holds classes \[0, 1, 2\]\)"):
        m.fit(X, LABELS, class_weight={0: 1.0, 1: 1.0, 2: 1.0, 5: 3.0}, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a complete dict: no warning at all
        m.fit(X, LABELS, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, verbose=0)


@pytest.mark.parametrize("class_weight, error, message", [
    ({0: 1.0, 12: 3.0}, ValueError, r"class_weight keys must be class indices \(0 to 2\); "
                                    r"received the key 12\."),
    ({-1: 3.0}, ValueError, r"received the key -1\."),
    ({"0": 1.0}, ValueError, r"received the key '0'\. Keys are class indices, not names.*"
                             r"\{int\(k\): w for k, w in class_weight\.items\(\)\}"),
    ({0.5: 1.0}, ValueError, r"received the key 0\.5\."),
    ({0: "2"}, TypeError, r"class_weight\[0\] must be a number; received '2' \(a str\)\."),
    ({0: -1.0}, ValueError, r"class_weight\[0\] must be a finite weight >= 0; received -1\.0"),
    ([1.0, 2.0, 3.0], TypeError, r"class_weight must be a dict \{class index: weight\}.*"
                                 r"received a list\."),
])
def test_class_weight_keys_and_weights_must_be_valid(class_weight, error, message):
    m = _classifier("sparse_categorical_crossentropy")
    with pytest.raises(error, match=message):
        m.fit(X, LABELS, class_weight=class_weight, verbose=0)


def test_class_weight_classes_of_a_binary_output_and_of_one_hot_labels():
    binary = _classifier("binary_crossentropy", units=1)
    y01 = (LABELS > 0).astype("f4")
    binary.fit(X, y01, class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match=r"class indices \(0 to 1\); received the key 2"):
        binary.fit(X, y01, class_weight={2: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="class_weight needs class labels in y .* non-integer "
                                         "values such as 0.5"):
        _classifier("mse", units=1).fit(X, np.full(8, 0.5, "f4"), class_weight={0: 1.0},
                                        verbose=0)
    one_hot = np.eye(3, dtype="f4")[[0, 0, 1, 1, 0, 1, 0, 1]]
    with pytest.warns(UserWarning, match=r"classes \[2\] .*y holds classes \[0, 1\]"):
        _classifier("categorical_crossentropy").fit(X, one_hot, class_weight={2: 4.0},
                                                    verbose=0)


def test_keras_ignores_an_absent_or_impossible_class_weight_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = _keras_classifier("sparse_categorical_crossentropy").fit(
            X, LABELS, class_weight={0: 1.0, 12: 3.0}, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# -- 7. strings and Python objects as data -------------------------------------------------
def test_string_and_object_data_name_the_argument_dtype_and_fix():
    m = _classifier("sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match=r"fit\(\): x must be numeric \(float, int or bool\); "
                                        r"received string values \(dtype <U1, e\.g\. 'a'\)\. "
                                        r"Encode them as numbers first: text as token ids"):
        m.fit(np.full((8, 4), "a"), LABELS, verbose=0)
    with pytest.raises(TypeError, match=r"y must be numeric .*dtype <U3, e\.g\. 'cat'.*"
                                        r"`class_names, y = np\.unique\(y, "
                                        r"return_inverse=True\)`"):
        m.fit(X, np.array(["cat", "dog"] * 4), verbose=0)
    with pytest.raises(TypeError, match=r"x must be numeric .*an array of Python objects "
                                        r"\(dtype object\)\. If it holds numbers, convert it "
                                        r"with `np\.asarray\(\.\.\., dtype='float32'\)`"):
        m.fit(X.astype(object), LABELS, verbose=0)
    with pytest.raises(TypeError, match=r"x must be numeric .*Python objects"):
        m.fit([[1.0, 2.0], [3.0]], LABELS[:2], verbose=0)  # ragged nested lists
    with pytest.raises(TypeError, match=r"x must be numeric .*string values \(dtype object, "
                                        r"e\.g\. 'red'\)"):
        m.fit(np.array([["red"] * 4] * 8, dtype=object), LABELS, verbose=0)  # pandas-like
    with pytest.raises(TypeError, match=r"validation_data\[1\] must be numeric .*'cat'.*"
                                        r"class_names, y = np\.unique"):
        m.fit(X, LABELS, validation_data=(X, np.array(["cat"] * 8)), verbose=0)
    with pytest.raises(TypeError, match=r"evaluate\(\): sample_weight must be numeric .*bytes"):
        m.evaluate(X, LABELS, sample_weight=np.array([b"1"] * 8), verbose=0)
    # Keras: raw dtype errors.
    with pytest.raises(ValueError, match="Invalid dtype"):
        _keras_classifier("sparse_categorical_crossentropy").fit(
            np.full((8, 4), "a"), LABELS, verbose=0)
