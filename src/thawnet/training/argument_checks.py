"""Checks of the plain arguments of ``fit``/``evaluate``, before any data is touched.

Python would accept most mistakes here and do something quiet: ``range(-1)`` runs no epoch,
``"5" > 0`` is a TypeError deep in the loop, and a string array only fails when JAX refuses to
put it on the device. Each check below names the argument, what it expects, what it received
(value and type) and the fix. They are cheap (no pass over the data except a dtype look-up).

Keras 3 (JAX backend) for comparison: ``epochs=-1`` trains nothing and returns an empty History,
``batch_size=0`` and ``validation_split=1.5`` are accepted, ``epochs="5"`` and string arrays
give raw errors (``'>' not supported between 'str' and 'int'``, ``Invalid dtype: str32``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from thawnet.training.class_weight_checks import check_class_weight

# NumPy dtype kinds JAX cannot hold: strings, bytes, Python objects, void, dates.
_NON_NUMERIC_KINDS = {"U": "string", "S": "bytes", "O": "object", "V": "void (raw bytes)",
                      "M": "datetime", "m": "timedelta"}


def _describe(value) -> str:
    return f"{value!r} (a {type(value).__name__})"


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _int_hint(name: str, value) -> str:
    """' Pass name=5.' when the value reads as an integer (a str "5" or a float 5.0)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isfinite(number) and number == int(number) and not isinstance(value, bool):
        return f" Pass {name}={int(number)}."
    return ""


def check_int(where: str, name: str, value, minimum: int, allow_none: bool = False) -> None:
    """Raise unless ``value`` is an int ``>= minimum`` (or None when ``allow_none``).

    Args:
        where: the call, for the message (``"fit()"``).
        name: the argument's name.
        value: what the user passed.
        minimum: the smallest value allowed (0 or 1).
        allow_none: whether None (meaning "the default") is accepted.

    Raises:
        TypeError: the value is not an integer (a str, a float, a bool).
        ValueError: the value is below ``minimum``.
    """
    if value is None and allow_none:
        return
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if allow_none:
        kind += " or None"
    if not _is_int(value):
        raise TypeError(f"{where}: {name} must be {kind}; received {name}="
                        f"{_describe(value)}.{_int_hint(name, value)}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be {kind}; received {name}={value}.")


def check_fraction(where: str, name: str, value) -> None:
    """Raise unless ``value`` is a real number in ``[0, 1)``."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be a float in [0, 1) (the fraction of the "
                        f"samples held out); received {name}={_describe(value)}.")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{where}: {name} must be a float in [0, 1) (the fraction of the "
                         f"samples held out, e.g. 0.2); received {name}={value}.")


def _leaves(structure, what):
    if isinstance(structure, dict):
        for key, value in structure.items():
            yield from _leaves(value, f"{what}[{key!r}]")
    elif isinstance(structure, (list, tuple)) and structure and all(
            hasattr(s, "shape") for s in structure):  # several inputs, as to_arrays reads it
        for i, value in enumerate(structure):
            yield from _leaves(value, f"{what}[{i}]")
    else:
        yield what, structure


def _dtype_of(value):
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        try:
            return np.dtype(dtype)
        except TypeError:  # a framework dtype NumPy does not know (torch): not ours to judge
            return None
    if isinstance(value, (list, tuple, str, bytes)):
        try:
            return np.asarray(value).dtype
        except ValueError:  # ragged nested lists: NumPy refuses them outright
            return np.dtype(object)
    return None


def _first_element(value):
    """The first entry of an array-like, or None (empty, or ragged nested lists)."""
    try:
        array = np.asarray(value)
    except ValueError:
        return None
    return array.flat[0] if array.size else None


def check_numeric(where: str, structure, what: str) -> None:
    """Raise if an array of ``structure`` holds strings, bytes or Python objects.

    Args:
        where: the call, for the message.
        structure: an array, a list/tuple/dict of arrays, or None.
        what: the argument's name (``"x"``, ``"y"``, ``"validation_data[0]"``).

    Raises:
        TypeError: naming the array, its dtype and how to make it numeric.
    """
    if structure is None:
        return
    for name, value in _leaves(structure, what):
        dtype = _dtype_of(value)
        if dtype is None or dtype.kind not in _NON_NUMERIC_KINDS:
            continue
        label = _NON_NUMERIC_KINDS[dtype.kind]
        first = _first_element(value)
        if dtype.kind == "O" and isinstance(first, (str, bytes)):
            label = "string"  # e.g. a pandas column of text: object dtype holding str
        if dtype.kind in "US" or label == "string":
            sample = first.item() if isinstance(first, np.generic) else first
            if name == "y" or name.startswith(("y[", "validation_data[1]")):
                fix = ("Encode the class names as integer ids first, e.g. `class_names, y = "
                       "np.unique(y, return_inverse=True)`.")
            else:
                fix = ("Encode them as numbers first: text as token ids (a vocabulary "
                       "lookup), categories as integer ids, e.g. `names, ids = np.unique(..., "
                       "return_inverse=True)`.")
            shown = "object" if dtype.kind == "O" else dtype.str
            got = f"{label} values (dtype {shown}, e.g. {sample!r})"
        elif dtype.kind == "O":
            fix = ("If it holds numbers, convert it with `np.asarray(..., dtype='float32')` "
                   "(or 'int32' for indices); if it holds sequences of different lengths, pad "
                   "them to one length first.")
            got = "an array of Python objects (dtype object)"
        else:
            fix = "Convert it to a numeric array (for dates, e.g. seconds as float32)."
            got = f"{label} values (dtype {dtype.str})"
        raise TypeError(f"{where}: {name} must be numeric (float, int or bool); received "
                        f"{got}. {fix}")


def check_validation_data(where: str, validation_data) -> None:
    """``validation_data`` is a ``(x, y)`` or ``(x, y, sample_weight)`` tuple of numeric data."""
    if validation_data is None:
        return
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        size = f" of length {len(validation_data)}" if hasattr(validation_data, "__len__") else ""
        raise ValueError(f"{where}: validation_data must be a tuple (x_val, y_val) or (x_val, "
                         f"y_val, sample_weight_val); received a "
                         f"{type(validation_data).__name__}{size}.")
    for i, part in enumerate(validation_data):
        check_numeric(where, part, f"validation_data[{i}]")


def _num_classes(model):
    """Classes of a single-output model: its last dimension (2 for one sigmoid unit)."""
    graph = getattr(model, "_graph", None)
    if graph is None or len(graph.output_tensors) != 1:
        return None
    units = graph.output_tensors[0].shape[-1] if graph.output_tensors[0].shape else None
    if units is None:
        return None
    return 2 if units == 1 else int(units)


def check_fit_arguments(model, x, y, sample_weight, *, epochs, batch_size, validation_split,
                        validation_data, class_weight, initial_epoch, steps_per_epoch,
                        validation_steps, validation_batch_size, validation_freq) -> None:
    """The arguments of :meth:`Model.fit`, checked before any data is converted.

    ``epochs=0`` is allowed (no training, as in Keras); negative or non-integer values are
    refused, as are ``batch_size <= 0``, a ``validation_split`` outside ``[0, 1)``, data of
    strings or Python objects, and ``class_weight`` keys that are not class indices (see
    :func:`~thawnet.training.class_weight_checks.check_class_weight`).

    Args:
        model: the model being fitted (its output gives the number of classes).
        x, y, sample_weight, ...: the arguments of ``fit`` of the same names.

    Raises:
        TypeError: an argument of the wrong type (``epochs="5"``, a string array).
        ValueError: an argument out of range (``epochs=-1``, ``batch_size=0``).
    """
    where = "fit()"
    check_int(where, "epochs", epochs, 0)
    check_int(where, "initial_epoch", initial_epoch, 0)
    check_int(where, "batch_size", batch_size, 1, allow_none=True)
    check_int(where, "validation_batch_size", validation_batch_size, 1, allow_none=True)
    check_int(where, "steps_per_epoch", steps_per_epoch, 1, allow_none=True)
    check_int(where, "validation_steps", validation_steps, 1, allow_none=True)
    check_int(where, "validation_freq", validation_freq, 1)
    check_fraction(where, "validation_split", validation_split)
    check_numeric(where, x, "x")
    check_numeric(where, y, "y")
    check_numeric(where, sample_weight, "sample_weight")
    check_validation_data(where, validation_data)
    # stacklevel 4: the warning points at the user's fit() call.
    check_class_weight(class_weight, y, _num_classes(model), stacklevel=4)


def check_evaluate_arguments(x, y, sample_weight, *, batch_size, steps) -> None:
    """The arguments of :meth:`Model.evaluate`; see :func:`check_fit_arguments`."""
    where = "evaluate()"
    check_int(where, "batch_size", batch_size, 1, allow_none=True)
    check_int(where, "steps", steps, 1, allow_none=True)
    check_numeric(where, x, "x")
    check_numeric(where, y, "y")
    check_numeric(where, sample_weight, "sample_weight")
