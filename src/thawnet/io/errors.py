"""Errors raised by thawnet's file readers."""

from __future__ import annotations


class FileFormatError(ValueError):
    """A model or weight file that cannot be loaded as it is.

    Raised for truncated or corrupted files, checksum mismatches, unsafe archive members,
    absurd declared sizes, unknown layer classes, and weights that do not fit the model
    (missing, extra, wrong shape or dtype). Loading never half-succeeds: when this is raised,
    the model in memory is exactly as it was before the call.
    """


class MissingFileError(FileNotFoundError, ValueError):
    """No file at the path given to a loader.

    Both a ``FileNotFoundError`` (what Python raises for a missing file) and a ``ValueError``
    (what Keras 3's ``load_model`` raises for a missing ``.keras`` file), so code written for
    either catches it.
    """


class KerasConfigError(FileFormatError):
    """A Keras config that thawnet refuses or cannot rebuild (a FileFormatError)."""


__all__ = ["FileFormatError", "KerasConfigError", "MissingFileError"]
