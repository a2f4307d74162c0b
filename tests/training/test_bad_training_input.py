"""Bad training input gets a clear error before anything is compiled."""

import numpy as np
import pytest

import thawnet
from thawnet import layers as tl


@pytest.fixture(scope="module")
def model():
    m = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(3, name="classes")])
    m.compile(optimizer="sgd", loss=thawnet.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


X = np.ones((8, 4), "f4")


def test_x_and_y_with_different_lengths(model):
    with pytest.raises(ValueError, match="x and y must have the same number of samples; "
                                         "received 8 and 7"):
        model.fit(X, np.zeros(7, "i4"), verbose=0)


def test_sparse_labels_out_of_range_name_the_output_and_the_classes(model):
    with pytest.raises(ValueError, match=r'Labels out of range for output "classes": it has 3 '
                                         r"classes \(labels 0 to 2\), but y holds 3"):
        model.fit(X, np.array([0, 1, 2, 3, 0, 1, 2, 0]), verbose=0)
    with pytest.raises(ValueError, match="but y holds -1"):
        model.fit(X, -np.ones(8, "i4"), verbose=0)


def test_wrong_input_shape_names_the_input_and_both_shapes(model):
    with pytest.raises(ValueError, match=r"expects shape \(None, 4\); received shape \(8, 5\)"):
        model.fit(np.ones((8, 5), "f4"), np.zeros(8, "i4"), verbose=0)


def test_nan_in_the_data_is_reported_with_its_position(model):
    x = X.copy()
    x[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN or infinity \(first at index \(5, 2\)"):
        model.fit(x, np.zeros(8, "i4"), verbose=0)


def test_unknown_loss_and_optimizer_names_list_the_known_ones():
    m = thawnet.Sequential([tl.Input(shape=(4,)), tl.Dense(1)])
    # One resolver for every namespace (issue #11): "unknown <kind> 'name'; known: [...]".
    with pytest.raises(ValueError, match=r"(?s)unknown loss 'mean_sqared_error'; known: .*"
                                         r"mean_squared_error"):
        m.compile(optimizer="sgd", loss="mean_sqared_error")
    with pytest.raises(ValueError, match=r"(?s)unknown optimizer 'adamm'; known: .*adam"):
        m.compile(optimizer="adamm", loss="mse")


def test_evaluate_checks_its_data_as_fit_does(model):
    # Before, evaluate() ran out-of-range labels and NaN inputs through the compiled step.
    with pytest.raises(ValueError, match=r'Labels out of range for output "classes": it has 3 '
                                         r"classes \(labels 0 to 2\), but y holds 5"):
        model.evaluate(X, np.array([0, 1, 2, 5, 0, 1, 2, 0]), verbose=0)
    x = X.copy()
    x[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"x contains NaN or infinity \(first at index \(3, 1\)"):
        model.evaluate(x, np.zeros(8, "i4"), verbose=0)


def test_validation_data_is_checked_and_named(model):
    x_val = X[:4].copy()
    x_val[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"validation_data x contains NaN or infinity \(first "
                                         r"at index \(2, 0\)"):
        model.fit(X, np.zeros(8, "i4"), validation_data=(x_val, np.zeros(4, "i4")), verbose=0)
    with pytest.raises(ValueError, match=r"but y holds 7"):
        model.fit(X, np.zeros(8, "i4"), validation_data=(X[:4], np.full(4, 7)), verbose=0)
    with pytest.raises(ValueError, match=r"received validation_data y of shape \(4, 3\)"):
        model.fit(X, np.zeros(8, "i4"), validation_data=(X[:4], np.eye(3)[[0, 1, 2, 0]]),
                  verbose=0)


def test_labels_of_a_dict_y_are_checked_against_the_output_of_that_name():
    inp = tl.Input(shape=(4,))
    m = thawnet.Model(inp, {"big": tl.Dense(5, name="big")(inp),
                            "small": tl.Dense(2, name="small")(inp)})
    # metrics=[[], []]: compile() of a multi-output model without metrics fails otherwise.
    m.compile(optimizer="sgd", loss=thawnet.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=[[], []])
    ok = {"small": np.ones(8, "i4"), "big": np.full(8, 4)}  # dict order unlike the outputs'
    assert np.isfinite(m.fit(X, ok, verbose=0).history["loss"][0])
    with pytest.raises(ValueError, match=r'output "small": it has 2 classes .* but y holds 4'):
        m.fit(X, {"small": np.full(8, 4), "big": np.full(8, 1)}, verbose=0)
