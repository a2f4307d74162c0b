"""``keras.src.testing.test_utils.named_product``, written for this adapter."""

from __future__ import annotations

import itertools


def _value_name(value) -> str:
    return value.__name__.lower() if hasattr(value, "__name__") else str(value).lower()


def named_product(*dict_lists, **choices) -> list[dict]:
    """The cartesian product of parameter choices, each with a ``testcase_name``.

    Args:
        *dict_lists: sequences of dicts, each with a ``"testcase_name"``; every case takes
            one dict from each sequence.
        **choices: ``name=[value, ...]``; a value's lower-cased ``__name__`` or ``str`` joins
            the case name.

    Returns:
        A list of dicts for ``parameterized.named_parameters`` (names joined with ``_``).

    >>> [c["testcase_name"] for c in named_product(x=[1, 2], y=["a"])]
    ['1_a', '2_a']
    """
    groups = [list(group) for group in dict_lists]
    for key, values in choices.items():
        groups.append([{"testcase_name": _value_name(v), key: v} for v in values])
    cases = []
    for combo in itertools.product(*groups):
        merged: dict = {}
        names = []
        for part in combo:
            names.append(str(part["testcase_name"]))
            merged.update({k: v for k, v in part.items() if k != "testcase_name"})
        merged["testcase_name"] = "_".join(names)
        cases.append(merged)
    return cases
