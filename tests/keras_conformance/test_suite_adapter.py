"""The trainer/callback/saving part of the instrument: files found, internals skip with
their names, public saving/trainer paths answered by thawnet, the sample deterministic."""

import sys
import unittest

import pytest

import thawnet
from thawnet.training.trainer import Trainer

from .keras_source import suite_test_files
from .missing import ThawnetMissing
from .report import Outcome, suite_tables
from .skip_rules import categorize_reason
from .suite_cases import (SUITE_LOADER, SUITE_SAMPLE_EVERY, cases_of_file, selected_suite_cases,
                          suite_skip_reason)


def test_suite_files_are_the_top_level_tests_of_the_three_folders():
    files = suite_test_files()
    assert "trainers/trainer_test.py" in files
    assert "callbacks/early_stopping_test.py" in files
    assert "saving/saving_api_test.py" in files
    # data_adapters/ is below the top level (Keras's adapter internals): not collected
    assert not any(f.count("/") > 1 for f in files)
    assert {f.split("/")[0] for f in files} == {"trainers", "callbacks", "saving"}


def test_suite_imports_resolve_to_thawnet_or_skip_naming_the_internal():
    root = SUITE_LOADER.root
    assert root.resolve("keras.src.backend.jax.trainer").JAXTrainer is Trainer
    assert root.resolve("keras.src.callbacks.callback").Callback is thawnet.callbacks.Callback
    assert (root.resolve("keras.src.saving.serialization_lib").deserialize_keras_object
            is thawnet.saving.deserialize_keras_object)
    assert (root.resolve("keras.src.trainers.data_adapters").py_dataset_adapter.PyDataset
            is thawnet.utils.PyDataset)
    with pytest.raises(unittest.SkipTest, match="keras.src.saving.saving_lib.H5IOStore"):
        root.resolve("keras.src.saving.saving_lib").H5IOStore("x.h5")
    with pytest.raises(unittest.SkipTest, match="keras.src.trainers.epoch_iterator"):
        root.resolve("keras.src.trainers.epoch_iterator").EpochIterator(x=1)
    # a public name thawnet lacks stays a failure
    with pytest.raises(ThawnetMissing, match="callbacks.SwapEMAWeights"):
        root.resolve("keras.src.callbacks").SwapEMAWeights()


def test_suite_module_is_not_registered():
    SUITE_LOADER.load("callbacks/callback_test.py")
    assert [n for n in sys.modules if n.startswith("keras_conformance_run")] == []


def test_suite_skip_rules_name_the_reason():
    def patches():
        mock.patch.object(saving_lib, "_MEMORY_UPPER_BOUND", 0)  # noqa: F821 - source only

    def plain():
        return 1

    assert "patches a Keras internal" in suite_skip_reason("test_x", patches)
    assert suite_skip_reason("test_export_model", plain).startswith("export")
    assert suite_skip_reason("test_fit_flow", plain) is None
    assert categorize_reason(suite_skip_reason("test_x", patches)) == (
        "Keras internals (no thawnet counterpart)")


def test_suite_sample_is_every_eighth_case_by_sorted_id(monkeypatch):
    cases = cases_of_file("saving/serialization_lib_test.py", SUITE_LOADER)
    assert cases == sorted(cases) and len(cases) > SUITE_SAMPLE_EVERY
    monkeypatch.setenv("THAWNET_CONFORMANCE_FILES", "saving/serialization_lib")
    monkeypatch.delenv("THAWNET_CONFORMANCE", raising=False)
    assert selected_suite_cases() == cases[::SUITE_SAMPLE_EVERY]
    monkeypatch.setenv("THAWNET_CONFORMANCE", "targets")
    assert selected_suite_cases() == cases
    monkeypatch.setenv("THAWNET_CONFORMANCE_FILES", "core/")  # a layer prefix: none of these
    assert selected_suite_cases() == []


def test_suite_tables_count_per_folder():
    outcomes = [Outcome("trainers/trainer_test.py::T::a", "trainers/trainer_test.py", "pass", ""),
                Outcome("trainers/trainer_test.py::T::b", "trainers/trainer_test.py", "fail", "x"),
                Outcome("saving/saving_api_test.py::S::c", "saving/saving_api_test.py", "skip",
                        "Skipped: torch: another backend, not installed")]
    text = suite_tables(outcomes)
    assert "| trainers | 1 | 1 | 0 | 2 | 50.0% |" in text
    assert "| saving | 0 | 0 | 1 | 0 | - |" in text
    assert "| torch | torch: another backend, not installed | 1 |" in text
