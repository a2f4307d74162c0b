"""A Sequential whose shape came from its first batch runs later batches of other sizes, as
Keras 3's does; one with a declared Input keeps refusing them with the fix."""

import numpy as np
import pytest

import thawnet
from thawnet import layers


def test_undeclared_input_runs_batches_of_other_sizes_like_keras():
    import keras

    a, b = np.ones((3, 5, 7), "float32"), np.arange(70, dtype="float32").reshape(2, 7, 5)
    ours = thawnet.Sequential([layers.Flatten()])
    theirs = keras.Sequential([keras.layers.Flatten()])
    for x in (a, b):
        np.testing.assert_array_equal(np.asarray(ours.predict(x, verbose=0)),
                                      np.asarray(theirs.predict(x, verbose=0)))
    assert ours.output_shape == (None, 35)  # the first batch fixed the summary's shapes


def test_declared_input_still_refuses_other_sizes_and_says_how():
    model = thawnet.Sequential([layers.Input(shape=(5, 7)), layers.Flatten()])
    with pytest.raises(ValueError, match=r"expects shape \(None, 5, 7\); received shape "
                                         r"\(2, 7, 5\)"):
        model.predict(np.ones((2, 7, 5), "float32"), verbose=0)
