"""Argument checks shared by the reshaping layers (padding, cropping, sizes, data format)."""

from __future__ import annotations

from thawnet.layers.argument_errors import ArgumentTypeError

from thawnet.backend import global_config


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _data_format(who, value):
    value = global_config.image_data_format() if value is None else str(value).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f'{who}: data_format must be "channels_last" or "channels_first"; '
                         f"received data_format={value!r}.")
    return value


def _int_pair(who, name, value, allow_zero=True):
    """``n`` -> ``(n, n)``; ``(a, b)`` -> ``(a, b)``; every entry a non-negative (positive) int."""
    pair = (value, value) if _is_int(value) else value
    low = 0 if allow_zero else 1
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(
            _is_int(v) and v >= low for v in pair):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{who}: {name} must be a {kind} int or a pair of {kind} ints; "
                         f"received {name}={value!r}.")
    return tuple(pair)


def _pairs_2d(who, name, value):
    """``n`` / ``(h, w)`` / ``((top, bottom), (left, right))`` -> the last form."""
    if _is_int(value):
        value = (value, value)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{who}: {name} must be an int, a pair of ints (height, width) or a "
                         f"pair of pairs ((top, bottom), (left, right)); received "
                         f"{name}={value!r}.")
    return (_int_pair(who, f"{name}[0]", value[0]), _int_pair(who, f"{name}[1]", value[1]))


def _pairs_3d(who, name, value):
    """``n`` / ``(d, h, w)`` / ``((d0, d1), (h0, h1), (w0, w1))`` -> the last form."""
    if _is_int(value):
        value = (value, value, value)
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"{who}: {name} must be an int, a tuple of 3 ints (depth, height, "
                         f"width) or a tuple of 3 pairs ((front, back), (top, bottom), (left, "
                         f"right)); received {name}={value!r}.")
    return tuple(_int_pair(who, f"{name}[{i}]", v) for i, v in enumerate(value))


def _int_tuple(who, name, value, rank):
    """``n`` -> ``(n,) * rank``; a sequence of ``rank`` positive ints as a tuple."""
    values = (value,) * rank if _is_int(value) else value
    if not isinstance(values, (list, tuple)) or len(values) != rank or not all(
            _is_int(v) for v in values):
        raise ArgumentTypeError(f"{who}: {name} must be a positive int or a tuple of {rank} "
                                f"positive ints; received {name}={value!r}.")
    if any(v <= 0 for v in values):
        raise ValueError(f"{who}: {name} must be a positive int or a tuple of {rank} positive "
                         f"ints; received {name}={value!r}.")
    return tuple(values)
