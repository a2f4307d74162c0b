"""Packing and unpacking the ``(x, y, sample_weight)`` tuples that ``fit`` and custom
``train_step`` functions receive (``keras.utils`` names)."""

from __future__ import annotations

from thawnet.backend.types import TensorLike

from typing import Any


def pack_x_y_sample_weight(x: TensorLike, y: TensorLike | None = None,
                           sample_weight: TensorLike | None = None) -> tuple:
    """The shortest tuple holding the given parts: ``(x,)``, ``(x, y)`` or ``(x, y, sw)``.

    Args:
        x: the inputs.
        y: optional targets.
        sample_weight: optional sample weights.

    Returns:
        A tuple (``x`` is wrapped in a tuple when it is the only part and a list or tuple).

    >>> pack_x_y_sample_weight(1, 2)
    (1, 2)
    """
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple:
    """``(x, y, sample_weight)`` from ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sw)``.

    Args:
        data: a batch as a data set yields it.

    Returns:
        A 3-tuple, with None for missing parts.

    >>> unpack_x_y_sample_weight((1, 2))
    (1, 2, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return data
    raise ValueError("unpack_x_y_sample_weight: data must be x, (x,), (x, y) or (x, y, "
                     f"sample_weight); received a tuple of {len(data)} elements.")
