"""Per-case isolation for the Keras conformance cases."""

import sys

import pytest

import thawnet
from thawnet.backend.random import current_seed


@pytest.fixture(autouse=True)
def _fresh_thawnet_session():
    """Layer names and random streams never leak from one case into the next (or into other
    tests): names restart at ``_1`` and the eager random stream restarts from the seed."""
    seed = current_seed()
    thawnet.clear_session()
    thawnet.set_random_seed(seed)
    yield
    thawnet.clear_session()
    thawnet.set_random_seed(seed)


@pytest.fixture(autouse=True, scope="module")
def _no_fake_keras_left_behind():
    """The adapter must never register a fake ``keras`` in ``sys.modules``: the rest of the
    suite imports the real Keras as its oracle."""
    yield
    fakes = [name for name, mod in sys.modules.items()
             if (name == "keras" or name.startswith(("keras.", "keras_conformance_run")))
             and "site-packages" not in (getattr(mod, "__file__", "") or "site-packages")]
    assert not fakes, f"the conformance adapter left fake modules in sys.modules: {fakes}"
