"""Automatic layer names, numbered per class from 1: dense_1, dense_2, batch_normalization_1."""

from __future__ import annotations

import re
from collections import defaultdict

_counters: dict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    # Keras's spelling for the numbered 1D/2D classes: conv2d, max_pooling2d.
    return re.sub(r"_(\d)_?d\b", r"\1d", re.sub(r"(\d)_d", r"\1d", name))


def unique_name(base: str) -> str:
    """The next free name for ``base`` in this session: ``base_1``, ``base_2``, ..."""
    _counters[base] += 1
    return f"{base}_{_counters[base]}"


def clear_session() -> None:
    """Reset automatic naming so the next Dense is ``dense_1`` again (Keras's clear_session)."""
    _counters.clear()
