"""Errors raised by thawnet's file readers."""

from __future__ import annotations


class FileFormatError(ValueError):
    """A model or weight file that cannot be loaded as it is.

    Raised for truncated or corrupted files, checksum mismatches, unsafe archive members,
    absurd declared sizes, unknown layer classes, and weights that do not fit the model
    (missing, extra, wrong shape or dtype). Loading never half-succeeds: when this is raised,
    the model in memory is exactly as it was before the call.
    """


__all__ = ["FileFormatError"]
