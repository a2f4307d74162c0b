"""Shared plumbing for Keras HDF5 weight files: safe opening, reading, checking, committing.

Every loader here works in two phases: it first reads every array it needs and checks it
against the variable it is meant for (shape, dtype kind), collecting ``(variable, array)``
pairs; only when everything fits does :func:`commit` assign them. A file that does not fit
raises before anything is written, so the model keeps its old weights.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings

import numpy as np


class _Skip(Exception):
    """A layer to leave alone (``skip_mismatch=True``)."""


def keras_snake_case(name):
    """Keras's snake case of a class name (``Conv2D`` -> ``conv2d``, ``ReLU`` -> ``re_lu``).

    Args:
        name: a class name.

    Returns:
        The key Keras 3 gives an object of that class in a ``.weights.h5`` file.
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


@contextlib.contextmanager
def open_h5(path, what):
    """Open an HDF5 file for reading; turn h5py's low-level errors into ones naming the file.

    Args:
        path: the file.
        what: a short description of the expected content, for messages.

    Yields:
        The open ``h5py.File``.
    """
    import h5py

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no such file {path!r}.")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise OSError(f"{what}: {path!r} is not a readable HDF5 file (truncated or corrupted?): "
                      f"{err}") from err
    try:
        yield handle
    except (KeyError, OSError, RuntimeError, TypeError) as err:
        raise ValueError(f"{what}: could not read {path!r} (corrupted or not written by Keras?): "
                         f"{type(err).__name__}: {err}") from err
    finally:
        handle.close()


def read_dataset(dataset):
    """The dataset's value as a NumPy array (scalars included)."""
    return np.asarray(dataset[()])


def check_pairs(layer_name, variables, arrays, source, skip_mismatch):
    """Check that ``arrays`` fit ``variables`` one to one; return the pairs.

    Args:
        layer_name: the thawnet layer, for messages.
        variables: the layer's variables, in the file's order.
        arrays: the arrays read from the file.
        source: where the arrays come from in the file, for messages.
        skip_mismatch: warn and raise ``_Skip`` instead of ``ValueError``.

    Returns:
        A list of ``(variable, array)``.
    """
    expected = [tuple(v.shape) for v in variables]
    found = [tuple(a.shape) for a in arrays]
    problem = None
    if len(variables) != len(arrays):
        problem = (f"the model's layer has {len(variables)} weight(s) {expected} but the file has "
                   f"{len(arrays)} {found}")
    elif expected != found:
        problem = f"expected weight shapes {expected} but the file has {found}"
    else:
        for v, a in zip(variables, arrays):
            if np.dtype(v.dtype).kind in "fc" and a.dtype.kind not in "fciub":
                problem = (f'weight "{v.path}" is {np.dtype(v.dtype).name} but the file holds '
                           f"{a.dtype} data")
                break
    if problem is None:
        return list(zip(variables, arrays))
    message = f'layer "{layer_name}" (file entry {source!r}): {problem}.'
    if skip_mismatch:
        warnings.warn(f"Skipping loading weights of {message}", stacklevel=4)
        raise _Skip(message)
    raise ValueError(message)


def commit(pairs):
    """Assign every checked ``(variable, array)`` pair, cast to the variable's dtype."""
    import jax.numpy as jnp

    for variable, array in pairs:
        variable.assign(jnp.asarray(array, dtype=variable.dtype))


def require_weights(model, path, what):
    """Raise a clear error when ``model`` has no weights yet (not built)."""
    if not model.weights:
        raise ValueError(f"{what}: model \"{model.name}\" has no weights yet, so nothing in "
                         f"{os.fspath(path)!r} can be loaded into it. Build the model first "
                         "(call it on data, or give its first layer an input shape).")


def decode(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def chunked_attr(group, name):
    """Read a string-list attribute Keras may have split into ``name0``, ``name1``, ..."""
    if name in group.attrs:
        return [decode(v) for v in np.atleast_1d(group.attrs[name])]
    values, index = [], 0
    while f"{name}{index}" in group.attrs:
        values.extend(decode(v) for v in np.atleast_1d(group.attrs[f"{name}{index}"]))
        index += 1
    return values
