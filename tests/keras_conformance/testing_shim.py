"""``keras.src.testing`` for thawnet: a ``TestCase`` with Keras's assertion helpers.

The helpers compare NumPy copies of the values (as Keras's do); none of them catches an
assertion. ``run_layer_test`` and ``run_class_serialization_test`` live in
:mod:`layer_checks` and exercise thawnet layers the way Keras's do.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import tempfile
import warnings
import types
import unittest
from pathlib import Path

import numpy as np
from absl.testing import parameterized

import thawnet

from . import backend_shim, layer_checks
from .named_product import named_product
from .synthetic_data import get_test_data


# Cases where Keras's test asserted its own error wording: (case id, Keras's pattern, thawnet's
# message). thawnet writes its own messages (they name the layer, what was expected and
# received, and the fix; the project copies no text from Keras), so the wording is recorded
# and reported, while the exception or warning *type* is checked exactly as Keras's test does.
WORDING_DIFFERENCES: list[tuple[str, str, str]] = []


class TestCase(parameterized.TestCase):
    """Keras's ``testing.TestCase`` as seen by thawnet: fresh session per case."""

    maxDiff = None

    def setUp(self):
        super().setUp()
        # Layer names and seeds must not leak from one case to the next.
        thawnet.clear_session()

    def get_temp_dir(self) -> str:
        temp_dir = tempfile.mkdtemp()
        self.addCleanup(lambda: shutil.rmtree(temp_dir, ignore_errors=True))
        return temp_dir

    def convert_to_numpy(self, x) -> np.ndarray:
        if isinstance(x, np.ndarray):
            return x
        if backend_shim.is_tensor(x) or isinstance(x, thawnet.Variable):
            return backend_shim.convert_to_numpy(x)
        return np.array(x)

    def assertAllClose(self, actual, desired, atol=1e-6, rtol=1e-6, tpu_atol=None,
                       tpu_rtol=None, msg=None):
        np.testing.assert_allclose(self.convert_to_numpy(actual), self.convert_to_numpy(desired),
                                   atol=atol, rtol=rtol, err_msg=msg or "")

    def assertNotAllClose(self, x1, x2, atol=1e-6, rtol=1e-6, msg=None):
        # Arrays of different shapes are not close (Keras's assertAllClose fails on them).
        a, b = self.convert_to_numpy(x1), self.convert_to_numpy(x2)
        if np.shape(a) == np.shape(b) and np.allclose(a, b, atol=atol, rtol=rtol):
            raise AssertionError(f"The two values are close at all elements. {msg or ''}")

    def assertAlmostEqual(self, actual, desired, decimal=3, tpu_decimal=None, msg=None):
        np.testing.assert_almost_equal(self.convert_to_numpy(actual),
                                       self.convert_to_numpy(desired), decimal=decimal,
                                       err_msg=msg or "")

    def assertAllEqual(self, actual, desired, msg=None):
        np.testing.assert_array_equal(self.convert_to_numpy(actual),
                                      self.convert_to_numpy(desired), err_msg=msg or "")

    def assertLen(self, iterable, expected_len, msg=None):
        self.assertEqual(len(iterable), expected_len, msg=msg)

    def assertSparse(self, x, sparse=True):
        if sparse:
            raise unittest.SkipTest("sparse tensors: thawnet has none")
        self.assertNotIsInstance(x, type(None))

    def assertRagged(self, x, ragged=True):
        if ragged:
            raise unittest.SkipTest("ragged tensors: thawnet has none (tensorflow only)")

    def assertDType(self, x, dtype, msg=None):
        got = backend_shim.standardize_dtype(x.dtype if hasattr(x, "dtype") else type(x))
        want = backend_shim.standardize_dtype(dtype)
        self.assertEqual(got, want, msg=msg or f"dtype mismatch: got {got}, expected {want}")

    def assertFileExists(self, path):
        if not Path(path).is_file():
            raise AssertionError(f"File {path} does not exist")

    # -- Keras's message assertions: the type is checked, the wording recorded ------------
    @contextlib.contextmanager
    def _raises_type(self, expected, pattern):
        try:
            yield
        except expected as error:
            if not re.search(pattern, str(error)):
                WORDING_DIFFERENCES.append((self.id(), str(pattern), str(error)))
            return
        self.fail(f"{getattr(expected, '__name__', expected)} not raised")

    def assertRaisesRegex(self, expected_exception, expected_regex, *args, **kwargs):
        context = self._raises_type(expected_exception, expected_regex)
        if not args:
            return context
        with context:
            args[0](*args[1:], **kwargs)
        return None

    @contextlib.contextmanager
    def _warns_type(self, expected, pattern):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        matching = [w for w in caught if issubclass(w.category, expected)]
        if not matching:
            self.fail(f"{getattr(expected, '__name__', expected)} not triggered")
        if not any(re.search(pattern, str(w.message)) for w in matching):
            WORDING_DIFFERENCES.append((self.id(), str(pattern), str(matching[0].message)))

    def assertWarnsRegex(self, expected_warning, expected_regex, *args, **kwargs):
        context = self._warns_type(expected_warning, expected_regex)
        if not args:
            return context
        with context:
            args[0](*args[1:], **kwargs)
        return None

    run_class_serialization_test = layer_checks.run_class_serialization_test
    run_layer_test = layer_checks.run_layer_test


def uses_gpu() -> bool:
    return False


def uses_tpu() -> bool:
    return False


def jax_uses_gpu() -> bool:
    return False


def jax_uses_tpu() -> bool:
    return False


def tensorflow_uses_gpu() -> bool:
    return False


def tensorflow_uses_tpu() -> bool:
    return False


def torch_uses_gpu() -> bool:
    return False


assert_allclose = np.testing.assert_allclose
assert_array_equal = np.testing.assert_array_equal

# ``from keras.src.testing import test_case`` / ``test_utils``: both are this module.
test_case = sys.modules[__name__]
test_utils = types.SimpleNamespace(named_product=named_product, get_test_data=get_test_data)
