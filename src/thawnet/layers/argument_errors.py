"""The exception raised for a layer argument of the wrong type.

Keras raises ``TypeError`` for some wrongly typed arguments (``RepeatVector(n="3")``,
``LayerNormalization(axis={...})``) and ``ValueError`` for most others, and code written
against either catches one of the two. :class:`ArgumentTypeError` is both, so an ``except``
clause written for Keras and one written for thawnet's earlier ValueError both catch it.
"""

from __future__ import annotations


class ArgumentTypeError(TypeError, ValueError):
    """A layer argument of the wrong type (both a TypeError and a ValueError).

    >>> issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, ValueError)
    True
    """


__all__ = ["ArgumentTypeError"]
