"""FBetaScore / F1Score, MeanAbsolutePercentageError and MeanSquaredLogarithmicError equal
Keras 3's on the same batches (every average, thresholds, sample weights, two batches)."""

import keras
import numpy as np
import pytest

import thawnet
from thawnet import layers as tl
from thawnet import metrics as tm

RNG = np.random.default_rng(4)
Y_TRUE = [(RNG.random((6, 3)) > 0.5).astype("f4") for _ in range(2)]
Y_PRED = [RNG.random((6, 3)).astype("f4") for _ in range(2)]
WEIGHTS = [RNG.random(6).astype("f4") for _ in range(2)]


def _run(metric, weighted):
    for i in range(2):
        metric.update_state(Y_TRUE[i], Y_PRED[i], WEIGHTS[i] if weighted else None)
    return np.asarray(metric.result())


FSCORE_CASES = [(cls, kwargs, weighted)
                for cls in ("FBetaScore", "F1Score")
                for kwargs in ({}, {"average": "micro"}, {"average": "macro"},
                               {"average": "weighted", "threshold": 0.4})
                for weighted in (False, True)]


# Four representative cases by default (each average once, both weightings); all 16 with
# THAWNET_FULL=1.
DEFAULT = {("FBetaScore", "None", True), ("F1Score", "micro", False), ("F1Score", "macro", True),
           ("FBetaScore", "weighted", False)}


def _params():
    for cls, kwargs, weighted in FSCORE_CASES:
        key = (cls, str(kwargs.get("average")), weighted)
        marks = () if key in DEFAULT else (pytest.mark.slow,)
        yield pytest.param(cls, kwargs, weighted, marks=marks)


@pytest.mark.parametrize("cls,kwargs,weighted", list(_params()))
def test_fscore_matches_keras(cls, kwargs, weighted):
    if cls == "FBetaScore":
        kwargs = {**kwargs, "beta": 2.0}
    ours = _run(getattr(tm, cls)(**kwargs), weighted)
    theirs = _run(getattr(keras.metrics, cls)(**kwargs), weighted)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", ["MeanAbsolutePercentageError", "MeanSquaredLogarithmicError"])
def test_relative_errors_match_keras(cls):
    y_true = [RNG.normal(size=(5, 4)).astype("f4") for _ in range(2)]
    y_pred = [RNG.normal(size=(5, 4)).astype("f4") for _ in range(2)]
    y_true[0][0, 0] = 0.0  # the epsilon guard
    ours, theirs = getattr(tm, cls)(), getattr(keras.metrics, cls)()
    for i in range(2):
        ours.update_state(y_true[i], y_pred[i], WEIGHTS[0][:5])
        theirs.update_state(y_true[i], y_pred[i], WEIGHTS[0][:5])
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-5)
    assert ours.name == theirs.name


def test_fscore_config_and_errors():
    metric = tm.FBetaScore(average="macro", beta=0.5, threshold=0.3, name="f")
    assert metric.get_config() == {"name": "f", "dtype": "float32", "average": "macro",
                                   "beta": 0.5, "threshold": 0.3}
    assert tm.F1Score().get_config() == {"name": "f1_score", "dtype": "float32",
                                         "average": None, "threshold": None}
    with pytest.raises(ValueError, match="FBetaScore: beta must be a Python float > 0; "
                                         "received beta=1 "):
        tm.FBetaScore(beta=1)
    with pytest.raises(ValueError, match="average must be one of"):
        tm.F1Score(average="samples")
    with pytest.raises(ValueError, match=r"0 < threshold <= 1; received threshold=1\.5"):
        tm.F1Score(threshold=1.5)
    with pytest.raises(ValueError, match="expects 2D inputs"):
        tm.F1Score().update_state(np.ones(3), np.ones(3))


def test_f1_in_fit_needs_its_class_count():
    x = RNG.normal(size=(8, 4)).astype("f4")
    y = np.eye(3, dtype="f4")[RNG.integers(0, 3, 8)]
    model = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[tm.F1Score(average="macro")])
    with pytest.raises(ValueError, match=r"number of classes is not known yet.*pass "
                                         r"num_classes=<number of classes>"):
        model.fit(x, y, epochs=1, verbose=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[tm.F1Score(average="macro", num_classes=3)])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    reference = tm.F1Score(average="macro")
    reference.update_state(y, np.asarray(model.predict(x, verbose=0)))
    assert logs["f1_score"] == pytest.approx(float(reference.result()), rel=1e-5)
