import os

import pytest

# Keras is the oracle in parity tests; it must run on the same engine as thawnet.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import thawnet  # noqa: E402  (after the environment is set)

# Long runs (many kill trials, the full Keras conformance suite) are marked ``slow`` and run
# only with THAWNET_FULL=1; each has a fast representative variant that always runs.
FULL = os.environ.get("THAWNET_FULL") == "1"


def pytest_ignore_collect(collection_path, config):
    """Under tests/ only test_*.py files are test modules. Doctest collection (run for
    src/thawnet) must not import the helpers and subprocess scripts here: resume_script.py,
    dp_script.py and friends run their job when imported."""
    if (collection_path.suffix == ".py" and not collection_path.name.startswith("test_")
            and collection_path.name != "conftest.py"):
        return True
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a long variant; runs only with THAWNET_FULL=1")


def pytest_collection_modifyitems(config, items):
    if FULL:
        return
    skip = pytest.mark.skip(reason="long variant: run with THAWNET_FULL=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_names_and_seed():
    """Every test starts from dense_1, seed 0 and the default config, whatever ran before."""
    thawnet.clear_session()
    thawnet.set_random_seed(0)
    thawnet.config.set_image_data_format("channels_last")
    thawnet.config.set_dtype_policy(None)
    yield
