"""The cases of the Keras layer tests (one per test method, absl expansions included),
which of them a run selects, and how one case runs.

Selection (environment variable ``THAWNET_CONFORMANCE``):

* unset / ``sample`` (CI default): the target files of :mod:`families`; in each, every
  ``SAMPLE_EVERY``-th case by sorted case id, starting with the first (a deterministic
  sample: no case is chosen for its result);
* ``targets``: every case of the target files (what the pass-rate goal is about);
* ``full``: every case of every ``keras/src/layers/**/*_test.py``.

``THAWNET_CONFORMANCE_FILES=core/dense_test.py,pooling/`` narrows either to files whose
path starts with one of the given prefixes (for whoever fixes one family).
"""

from __future__ import annotations

import os
import unittest
from dataclasses import dataclass
from typing import Callable

import pytest

from .families import family_of, is_target
from .keras_source import layer_test_files
from .loader import TestFileLoader
from .skip_rules import case_skip_reason, static_skip_reason

SAMPLE_EVERY = 4
LOAD_CASE = "<file fails to load>"
PYTEST_FUNCTION = "<module function>"

LOADER = TestFileLoader()


@dataclass(frozen=True, order=True)
class Case:
    """One Keras test method: ``file::Class::method``."""

    file: str
    cls: str
    method: str

    @property
    def id(self) -> str:
        return f"{self.file}::{self.cls}::{self.method}"


def mode() -> str:
    """``"sample"``, ``"targets"`` or ``"full"`` (see the module docstring)."""
    value = os.environ.get("THAWNET_CONFORMANCE", "sample").strip().lower() or "sample"
    if value not in ("full", "targets", "sample"):
        raise ValueError("THAWNET_CONFORMANCE must be 'sample' (default), 'targets' or 'full'; "
                         f"got {value!r}")
    return value


def selected_files() -> list[str]:
    """The Keras test files this run covers."""
    files = [f for f in layer_test_files() if mode() == "full" or is_target(f)]
    prefixes = [p.strip() for p in os.environ.get("THAWNET_CONFORMANCE_FILES", "").split(",")
                if p.strip()]
    if prefixes:
        files = [f for f in files if any(f.startswith(p) for p in prefixes)]
    return files


def cases_of_file(rel_path: str, loader: TestFileLoader = LOADER) -> list[Case]:
    """Every test method of the file's TestCase classes, sorted by id.

    A file that cannot be executed gives one case, ``LOAD_CASE``, which fails with the
    error (so it is counted, not lost).

    Args:
        rel_path: the file, relative to the loader's folder.
        loader: :data:`LOADER` (layer tests) or the trainer/callback/saving suite's.
    """
    try:
        module = loader.load(rel_path)
    except Exception:  # noqa: BLE001 - reported by the LOAD_CASE case
        return [Case(rel_path, LOAD_CASE, "load")]
    return cases_of_module(module, rel_path)


def _parametrize_ids(function) -> list[str]:
    """``["0", "1", ...]`` for a pytest function's ``parametrize`` combinations, or ``[""]``."""
    counts = [len(mark.args[1]) for mark in getattr(function, "pytestmark", [])
              if mark.name == "parametrize"]
    total = 1
    for n in counts:
        total *= n
    return [str(i) for i in range(total)] if counts else [""]


def cases_of_module(module, rel_path: str) -> list[Case]:
    """The cases of an executed test module: unittest/absl ``TestCase`` methods (absl's
    expansions included) and pytest-style module-level ``test_*`` functions (one case per
    ``parametrize`` combination), sorted by id."""
    found = []
    loader = unittest.TestLoader()
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if isinstance(obj, type) and issubclass(obj, unittest.TestCase):
            found += [Case(rel_path, name, m) for m in loader.getTestCaseNames(obj)]
        elif callable(obj) and name.startswith("test") and not isinstance(obj, type):
            found += [Case(rel_path, PYTEST_FUNCTION, f"{name}[{i}]" if i else name)
                      for i in _parametrize_ids(obj)]
    return sorted(found)


def selected_cases() -> list[Case]:
    """The cases of this run, in file order (sampled per file unless the run is full)."""
    cases = []
    for rel_path in selected_files():
        file_cases = cases_of_file(rel_path)
        if mode() == "sample":
            file_cases = file_cases[::SAMPLE_EVERY]
        cases += file_cases
    return cases


def _mark_skip_reason(marks) -> str | None:
    """Honour Keras's ``pytest.mark.skip`` / ``skipif`` marks on a method or class."""
    for mark in marks:
        if mark.name == "skip":
            return mark.kwargs.get("reason") or (mark.args[0] if mark.args else "skip mark")
        if mark.name == "skipif":
            condition = mark.args[0] if mark.args else mark.kwargs.get("condition")
            if condition:
                return mark.kwargs.get("reason", "skipif mark")
    return None


class _KeepExceptions(unittest.TestResult):
    """A unittest result that keeps exceptions themselves (re-raised into pytest)."""

    def __init__(self):
        super().__init__()
        self.outcomes: list[tuple[str, object]] = []

    def addError(self, test, err):
        self.outcomes.append(("error", err))

    def addFailure(self, test, err):
        self.outcomes.append(("failure", err))

    def addSkip(self, test, reason):
        self.outcomes.append(("skip", reason))

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self.outcomes.append(("failure", err))

    def addUnexpectedSuccess(self, test):
        self.outcomes.append(("failure", (AssertionError, AssertionError(
            "unexpected success of a test Keras expects to fail"), None)))


def run_case(case: Case, loader: TestFileLoader = LOADER,
             skip_reason: Callable[[str, object], str | None] = static_skip_reason) -> None:
    """Run one case; raises its failure, or ``pytest.skip`` with the reason.

    Args:
        case: the case.
        loader: the loader of its file (:data:`LOADER` for layer tests).
        skip_reason: the static skip rules, ``(method name, function) -> reason or None``.
    """
    if case.cls == LOAD_CASE:
        raise loader.load_errors[case.file]
    module = loader.load(case.file)
    if case.cls == PYTEST_FUNCTION:
        _run_pytest_function(module, case, skip_reason)
        return
    test_class = getattr(module, case.cls)
    method = getattr(test_class, case.method)
    reason = (case_skip_reason(case.id)
              or _mark_skip_reason(getattr(method, "pytestmark", []))
              or _mark_skip_reason(getattr(test_class, "pytestmark", []))
              or skip_reason(case.method, method))
    if reason:
        pytest.skip(reason)
    result = _KeepExceptions()
    test_class(case.method).run(result)
    for kind, detail in result.outcomes:
        if kind in ("error", "failure"):
            raise detail[1].with_traceback(detail[2])
    for kind, detail in result.outcomes:
        if kind == "skip":
            pytest.skip(str(detail))


def _run_pytest_function(module, case: Case, skip_reason=static_skip_reason) -> None:
    """A module-level pytest test: its marks honoured, its parametrize combination applied."""
    name, _, index = case.method.partition("[")
    function = getattr(module, name)
    marks = getattr(function, "pytestmark", [])
    reason = _mark_skip_reason(marks) or skip_reason(name, function)
    if reason:
        pytest.skip(reason)
    combos = [{}]
    for mark in reversed([m for m in marks if m.name == "parametrize"]):
        names = [n.strip() for n in (mark.args[0].split(",") if isinstance(mark.args[0], str)
                                     else mark.args[0])]
        values = [v if len(names) > 1 else (v,) for v in mark.args[1]]
        combos = [dict(c, **dict(zip(names, v))) for c in combos for v in values]
    function(**combos[int(index.rstrip("]")) if index else 0])


def family(case: Case) -> str:
    return family_of(case.file)
