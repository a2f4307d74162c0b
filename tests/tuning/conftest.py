import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def compile_cache_dir(tmp_path_factory):
    """One JAX compile cache for every tuning test and worker subprocess of the session."""
    return str(tmp_path_factory.mktemp("tuning_jax_cache"))


@pytest.fixture(scope="session")
def xor():
    import tuning_spaces
    return tuning_spaces.xor_data()


@pytest.fixture(scope="session")
def xor_npz(tmp_path_factory, xor):
    import numpy as np
    (x, y), (x_val, y_val) = xor
    path = str(tmp_path_factory.mktemp("tuning_data") / "xor.npz")
    np.savez(path, x=x, y=y, x_val=x_val, y_val=y_val)
    return path
