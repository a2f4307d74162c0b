"""The cases of Keras's trainer, callback and saving tests, and which of them a run selects.

Files: ``keras/src/{trainers,callbacks,saving}/*_test.py`` of the installed wheel (read at
test time, never copied), one case per test method, loaded by their own
:class:`~loader.TestFileLoader` (paths relative to ``keras/src``, so ids read
``trainers/trainer_test.py::TestTrainer::test_fit_flow...``).

Selection, with the same ``THAWNET_CONFORMANCE`` as the layer cases:

* unset / ``sample`` (CI default): every ``SUITE_SAMPLE_EVERY``-th case of each file by
  sorted id, starting with the first (deterministic; no case is chosen for its result);
* ``targets`` / ``full``: every case.

``THAWNET_CONFORMANCE_FILES=trainers/,saving/saving_api`` narrows to path prefixes (a
layer prefix such as ``core/`` selects none of these).
"""

from __future__ import annotations

import os
import re

from .cases import Case, cases_of_file, mode
from .keras_internals import INTERNAL
from .keras_source import keras_src_dir, suite_test_files
from .loader import TestFileLoader
from .skip_rules import _source, static_skip_reason

# Trainer tests compile a model per case: every 8th keeps the CI default within budget.
SUITE_SAMPLE_EVERY = 8

SUITE_LOADER = TestFileLoader(keras_src_dir, "keras.src.")

# (reason, regex on the method name or None, regex on the method source or None); the
# reasons of Keras internals start with keras_internals.INTERNAL (one README category).
SUITE_RULES: tuple[tuple[str, str | None, str | None], ...] = (
    (f"{INTERNAL}: the test patches a Keras internal with mock "
     "(saving_lib / keras.src module attributes)", None,
     r"mock\.patch\.object\(\s*saving_lib|mock\.patch\(\s*[\"']keras\."),
    ("export to TF SavedModel / ONNX (model.export): needs tensorflow, which is not "
     "installed", r"export", r"\.export\("),
    (f"{INTERNAL}: keras.src.callbacks.orbax_checkpoint (OrbaxCheckpoint: orbax "
     "checkpointing)", r"orbax", r"OrbaxCheckpoint"),
)


def suite_skip_reason(method_name: str, method) -> str | None:
    """The static skip reason of a trainer/callback/saving case, or None to attempt it.

    Args:
        method_name: the expanded method name.
        method: the test function (its source is read).

    Returns:
        The reason of the first matching :data:`SUITE_RULES` entry, else the layer
        suite's :func:`~skip_rules.static_skip_reason` (tf.data, torch, sparse, ...).
    """
    source = None
    for reason, name_rx, source_rx in SUITE_RULES:
        if name_rx and re.search(name_rx, method_name.lower()):
            return reason
        if source_rx:
            source = _source(method) if source is None else source
            if re.search(source_rx, source):
                return reason
    return static_skip_reason(method_name, method)


def suite_folder(rel_path: str) -> str:
    """``"trainers"``, ``"callbacks"`` or ``"saving"``."""
    return rel_path.split("/", 1)[0]


def selected_suite_files() -> list[str]:
    """The trainer/callback/saving files this run covers (after THAWNET_CONFORMANCE_FILES)."""
    files = list(suite_test_files())
    prefixes = [p.strip() for p in os.environ.get("THAWNET_CONFORMANCE_FILES", "").split(",")
                if p.strip()]
    if prefixes:
        files = [f for f in files if any(f.startswith(p) for p in prefixes)]
    return files


def selected_suite_cases() -> list[Case]:
    """The cases of this run, in file order (every 8th per file in the sample)."""
    cases = []
    for rel_path in selected_suite_files():
        file_cases = cases_of_file(rel_path, SUITE_LOADER)
        if mode() == "sample":
            file_cases = file_cases[::SUITE_SAMPLE_EVERY]
        cases += file_cases
    return cases
