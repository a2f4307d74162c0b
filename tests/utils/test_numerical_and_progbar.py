"""to_categorical, normalize and Progbar's Keras options (stateful_metrics /
stateless_metrics) give what keras.utils gives."""

import io

import keras
import numpy as np
import pytest

from thawnet import utils


def test_to_categorical_and_normalize_equal_keras():
    for labels, n in (([0, 2, 1], None), ([[1], [0]], 3), (np.arange(4).reshape(2, 2), None),
                      (np.array([1.0, 2.0]), None)):
        ours, theirs = utils.to_categorical(labels, n), keras.utils.to_categorical(labels, n)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    for kwargs in ({}, {"order": 1}, {"order": 3}, {"order": np.inf}):
        np.testing.assert_array_equal(utils.normalize(x, **kwargs),
                                      keras.utils.normalize(x, **kwargs))
    with pytest.raises(ValueError, match="class id 3 is out of range for num_classes=2"):
        utils.to_categorical([0, 3], 2)


@pytest.mark.parametrize("options", [{"stateful_metrics": ["acc"]},
                                     {"stateless_metrics": ["loss"]}])
def test_progbar_averages_like_keras(options, capsys):
    ours = utils.Progbar(6, stream=io.StringIO(), **options)
    theirs = keras.utils.Progbar(6, **options)
    for bar in (ours, theirs):
        bar.update(1, [("loss", 1.0), ("acc", 0.5)])
        bar.update(3, [("loss", 3.0), ("acc", 0.7)])
    capsys.readouterr()
    assert ours._values == {k: v[0] / v[1] for k, v in theirs._values.items()}
    assert ours._values["loss"] == pytest.approx((1.0 + 3.0 * 2) / 3)
    with pytest.raises(ValueError, match="not both"):
        utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])
