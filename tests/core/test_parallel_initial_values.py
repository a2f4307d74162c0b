"""Initial values drawn on several threads equal those drawn one after the other."""

import numpy as np

import thawnet
from thawnet import layers as L
from thawnet.backend import initial_values


def test_threaded_draws_equal_sequential_draws():
    thawnet.utils.set_random_seed(11)
    model = thawnet.Sequential([L.Input(shape=(1024,)), L.Dense(1024), L.Dense(1024),
                                L.Dense(10)])  # 2.1M values: above the threaded threshold
    variables = list(model.variables_by_path().values())
    assert sum(v.size for v in variables) > initial_values._PARALLEL_VALUES
    assert not any(v.is_materialized for v in variables)
    expected = [initial_values.host_sample(v) for v in variables]
    initial_values.materialize_all(variables)
    for v, want in zip(variables, expected):
        np.testing.assert_array_equal(np.asarray(v.value), want, err_msg=v.path)
