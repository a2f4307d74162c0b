"""What Keras's own repository ``conftest.py`` gives its tests (``skip_if_backend``)."""

import pytest

from . import backend_shim


def skip_if_backend(given_backend: str, reason: str):
    """Skip a test on ``given_backend``; thawnet is measured as the "jax" backend.

    Args:
        given_backend: a Keras backend name ("openvino", "torch", ...).
        reason: why that backend cannot run the test.

    Returns:
        A pytest skipif mark (evaluated by the case runner).
    """
    return pytest.mark.skipif(backend_shim.backend() == given_backend,
                              reason=f"not for backend {given_backend}: {reason}")
