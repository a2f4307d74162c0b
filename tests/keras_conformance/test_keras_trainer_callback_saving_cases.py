"""Keras 3's own trainer, callback and saving tests (from the installed wheel), run against
thawnet.

One pytest item per Keras test method of ``keras/src/{trainers,callbacks,saving}/*_test.py``.
See README.md for the selection, the skip categories and the results.
"""

import os
import tempfile

import pytest

import thawnet
from thawnet.backend import registry

from .cases import run_case
from .suite_cases import SUITE_LOADER, selected_suite_cases, suite_skip_reason

CASES = selected_suite_cases()


@pytest.fixture(autouse=True)
def _isolated_case():
    """Each case runs in its own temporary working directory (removed afterwards: callbacks
    such as CSVLogger or ModelCheckpoint write relative paths), and leaves no registered
    custom object or changed global config behind."""
    saved_registry = (dict(registry._REGISTRY), dict(registry.CUSTOM_OBJECTS),
                      dict(registry._REGISTERED_NAMES))
    saved_config = (thawnet.config.floatx(), thawnet.config.image_data_format(),
                    thawnet.config.epsilon())
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="keras_conformance_") as work_dir:
        os.chdir(work_dir)
        try:
            yield
        finally:
            os.chdir(cwd)
            for live, saved in zip((registry._REGISTRY, registry.CUSTOM_OBJECTS,
                                    registry._REGISTERED_NAMES), saved_registry):
                live.clear()
                live.update(saved)
            thawnet.config.set_floatx(saved_config[0])
            thawnet.config.set_image_data_format(saved_config[1])
            thawnet.config.set_epsilon(saved_config[2])


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_keras_model_level_case(case):
    """The Keras test method passes with its imports pointing at thawnet."""
    run_case(case, SUITE_LOADER, suite_skip_reason)
