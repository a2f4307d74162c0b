"""Placeholders for names thawnet lacks, which fail (or skip) only when a test uses them.

A Keras test file imports many names at module level (``from keras.src import quantizers``).
If such an import failed at load time, every case of the file would be lost, including the
ones that never touch the missing name. A placeholder lets the file load; the first real use
(a call, an instance, a subclass being instantiated, iteration) raises:

* :class:`ThawnetMissing` (a failure, counted under "thawnet has no X"), or
* ``unittest.SkipTest`` for things that cannot apply to thawnet by design (tf.data,
  torch, quantization), with the reason.
"""

from __future__ import annotations

import unittest


class ThawnetMissing(NotImplementedError):
    """A Keras name a test uses has no thawnet counterpart (a real failure, never a skip)."""


class Missing:
    """Stands for ``what`` (e.g. ``"thawnet.ops.take_along_axis"``) that does not exist.

    Args:
        what: the dotted thawnet (or Keras) name that is absent.
        skip_reason: when set, using the placeholder skips the test with this reason instead
            of failing it (only for the skip categories of README.md).
    """

    def __init__(self, what: str, skip_reason: str | None = None):
        object.__setattr__(self, "_what", what)
        object.__setattr__(self, "_skip_reason", skip_reason)

    def _fail(self, how: str = "used"):
        if self._skip_reason:
            raise unittest.SkipTest(self._skip_reason)
        raise ThawnetMissing(f"thawnet has no {self._what} ({how} by the Keras test)")

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Missing(f"{self._what}.{name}", self._skip_reason)

    def __call__(self, *args, **kwargs):
        self._fail("called")

    def __iter__(self):
        self._fail("iterated")

    def __getitem__(self, key):
        self._fail("indexed")

    def __setitem__(self, key, value):
        self._fail("assigned to")

    def __contains__(self, item):
        self._fail("searched")

    def __mro_entries__(self, bases):
        # ``class X(layers.Wrapper)`` where thawnet has no Wrapper: the class can be defined,
        # but making an instance fails with the missing name.
        placeholder = self

        class _MissingBase:
            def __init__(self, *args, **kwargs):
                placeholder._fail("subclassed")

        _MissingBase.__name__ = "Missing_" + self._what.rsplit(".", 1)[-1]
        return (_MissingBase,)

    def __instancecheck__(self, instance):
        self._fail("used in isinstance")

    def __repr__(self) -> str:
        return f"<Missing {self._what}>"


def skipped_module(name: str, reason: str) -> Missing:
    """A placeholder module whose every use skips the test (``import tensorflow as tf``)."""
    return Missing(name, skip_reason=reason)
