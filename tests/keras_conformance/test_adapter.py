"""The instrument itself: imports re-pointed, nothing leaked, skips and failures honest."""

import sys
import types
import unittest

import numpy as np
import pytest

import thawnet
from thawnet import layers

from .cases import LOADER, PYTEST_FUNCTION, Case, cases_of_file, cases_of_module, run_case
from .missing import Missing, ThawnetMissing
from .named_product import named_product
from .report import signature
from .skip_rules import categorize_reason, static_skip_reason
from .testing_shim import TestCase


def test_keras_imports_resolve_to_thawnet_objects():
    module = LOADER.load("reshaping/repeat_vector_test.py")
    assert module.layers.RepeatVector is layers.RepeatVector
    assert module.testing.TestCase is TestCase
    root = LOADER.root
    assert root.resolve("keras.src.layers.activations.relu").ReLU is layers.ReLU
    assert root.resolve("keras.src.models").Sequential is thawnet.Sequential
    assert root.resolve("keras.src.backend").backend() == "jax"


def test_no_fake_keras_module_is_registered():
    LOADER.load("reshaping/flatten_test.py")
    names = [n for n in sys.modules if n.startswith("keras_conformance_run")]
    assert names == []
    keras = sys.modules.get("keras")
    assert keras is None or "site-packages" in keras.__file__


def test_cases_are_one_per_expanded_method():
    cases = cases_of_file("reshaping/up_sampling2d_test.py")
    names = [c.method for c in cases]
    # absl expands test_upsampling_2d into numbered cases: each is its own case
    assert "test_upsampling_2d0" in names and "test_upsampling_2d1" in names
    assert names == sorted(names) and len(names) == len(set(names))


def test_missing_name_fails_and_says_what_is_missing():
    with pytest.raises(ThawnetMissing, match="thawnet has no ops.take_along_axis"):
        Missing("ops.take_along_axis")(np.ones(2))
    with pytest.raises(unittest.SkipTest, match="quantization"):
        Missing("quantizers.X", skip_reason="quantization (int8)")()

    class Sub(Missing("layers.Wrapper")):
        pass

    with pytest.raises(ThawnetMissing, match="layers.Wrapper"):
        Sub()


def test_skip_rules_only_cover_the_documented_categories():
    def plain():
        return 1

    assert static_skip_reason("test_dense_sparse", plain).startswith("sparse")
    assert static_skip_reason("test_quantize_int8", plain).startswith("quantization")
    assert static_skip_reason("test_tf_data_compatibility", plain).startswith("tf.data")
    assert static_skip_reason("test_dense_basics", plain) is None
    assert categorize_reason("Backend does not support sparse tensors") == "sparse / ragged"


def test_run_layer_test_reports_a_wrong_output_shape():
    # Defined here, not at module level, so that pytest does not collect it as a test.
    class _WrongShape(TestCase):
        def test_wrong_expected_shape(self):
            self.run_layer_test(layers.Dense, {"units": 3}, input_shape=(2, 4),
                                expected_output_shape=(2, 5), run_training_check=False,
                                run_mixed_precision_check=False)

    result = unittest.TestResult()
    _WrongShape("test_wrong_expected_shape").run(result)
    assert len(result.failures) + len(result.errors) == 1
    text = (result.failures + result.errors)[0][1]
    assert "Expected output shapes (2, 5)" in text
    assert "run_layer_test stage [symbolic call] failed first" in text
    assert "also [eager call]" in text


def test_quantization_case_is_skipped_with_its_reason():
    case = Case("core/dense_test.py", "DenseTest", "test_quantize_int_int8")
    with pytest.raises(pytest.skip.Exception, match="quantization"):
        run_case(case)


def test_a_missing_thawnet_name_reaches_pytest_as_a_failure():
    # Keras's Dense LoRA test uses enable_lora; a failure must reach pytest as an exception,
    # never as a pass or a skip.
    class _UsesMissing(TestCase):
        def test_it(self):
            Missing("ops.no_such_op")(1)

    result = unittest.TestResult()
    _UsesMissing("test_it").run(result)
    assert len(result.errors) == 1 and "thawnet has no ops.no_such_op" in result.errors[0][1]
    assert result.skipped == []


def test_named_product_names_and_merges():
    cases = named_product([{"testcase_name": "a", "x": 1}], y=[float, int])
    assert [c["testcase_name"] for c in cases] == ["a_float", "a_int"]
    assert cases[1] == {"x": 1, "y": int, "testcase_name": "a_int"}


def test_failure_signature_blanks_numbers_not_layer_classes():
    sig = signature('ValueError: Layer "dense_12" got shape (3, 4); ZeroPadding3D axis 2')
    assert sig == 'ValueError: Layer "dense_N" got shape (N, N); ZeroPadding3D axis N'


def test_pytest_style_functions_are_cases_too():
    module = types.ModuleType("keras_conformance_run.synthetic_test")
    exec("import pytest\n"
         "@pytest.mark.parametrize('x', [1, 2, 3])\n"
         "def test_p(x):\n    assert x < 3\n"
         "def test_plain():\n    pass\n", module.__dict__)
    cases = cases_of_module(module, "synthetic_test.py")
    assert [c.method for c in cases] == ["test_p[0]", "test_p[1]", "test_p[2]", "test_plain"]
    assert {c.cls for c in cases} == {PYTEST_FUNCTION}


def test_cases_skipped_by_id_exist_and_name_their_readme_line():
    """A case-id skip must point at a real Keras test, and say which README line (or which
    Keras internal) makes it inapplicable."""
    from .keras_source import read_test_source
    from .skip_rules import BY_CASE, DELIBERATE

    for case_id, reason in BY_CASE.items():
        file, cls, method = case_id.split("::")
        source = read_test_source(file)
        assert f"class {cls}" in source and f"def {method}" in source, case_id
        assert categorize_reason(reason) in (DELIBERATE,
                                             "Keras internals (no thawnet counterpart)"), reason
        assert "README" in reason or reason.startswith("Keras internal"), reason
