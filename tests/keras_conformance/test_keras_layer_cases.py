"""Keras 3's own layer tests (from the installed wheel), run against thawnet.

One pytest item per Keras test method (absl expansions included). See README.md for the
selection (``THAWNET_CONFORMANCE=full`` runs every case) and the results.
"""

import pytest

from .cases import run_case, selected_cases

CASES = selected_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_keras_case(case):
    """The Keras test method passes with its imports pointing at thawnet."""
    run_case(case)
