"""Shared plumbing for Keras HDF5 weight files: checking, reading, committing.

Every loader here works in three phases. It first matches each of the model's variables to a
dataset and checks the dataset's *declared* shape and dtype (:func:`check_pairs`, which reads
no data); then it reads the matched datasets (:func:`read_pairs`, each read bounded by the
model's own weight shape); only when everything was read does :func:`commit` assign. A file
that does not fit raises :class:`FileFormatError` before anything is written, so the model
keeps its old weights.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from thawnet.io.errors import FileFormatError
from thawnet.io.h5_guard import H5Reader


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


class Declared:
    """What a dataset's header declares: its path, shape and dtype (no data read).

    Args:
        path: the dataset's path in the file.
        dataset: the ``h5py.Dataset``.
        reader: the :class:`H5Reader` it came from (checks storage, reads the shape).
    """

    def __init__(self, path, dataset, reader: H5Reader):
        reader.check_storage(dataset, path)
        self.path = path
        self.dataset = dataset
        self.shape = reader.shape(dataset, path)
        self.dtype = reader.dtype(dataset, path)


def _is_float(dtype) -> bool:
    return np.dtype(dtype).kind in "fc" or np.dtype(dtype).name == "bfloat16"


def check_pairs(layer_name, variables, arrays, source, skip_mismatch):
    """Check that the declared ``arrays`` fit ``variables`` one to one; return the pairs.

    Args:
        layer_name: the thawnet layer, for messages.
        variables: the layer's variables, in the file's order.
        arrays: :class:`Declared` datasets (or arrays): anything with ``shape`` and ``dtype``.
        source: where the arrays come from in the file, for messages.
        skip_mismatch: warn and raise ``_Skip`` instead of ``FileFormatError``.

    Returns:
        A list of ``(variable, declared)``.
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
            floating = a.dtype.kind in "fciub" or a.dtype.name == "bfloat16"
            if _is_float(v.dtype) and not floating:
                problem = (f'weight "{v.path}" is {np.dtype(v.dtype).name} but the file holds '
                           f"{a.dtype} data")
                break
    if problem is None:
        return list(zip(variables, arrays))
    message = f'layer "{layer_name}" (file entry {source!r}): {problem}.'
    if skip_mismatch:
        warnings.warn(f"Skipping loading weights of {message}", stacklevel=4)
        raise _Skip(message)
    raise FileFormatError(message)


def read_pairs(reader: H5Reader, pairs):
    """Read the data of checked ``(variable, Declared)`` pairs.

    Returns:
        A list of ``(variable, array)``; each array has exactly the variable's shape.
    """
    return [(v, reader.read(d.dataset, d.path, tuple(v.shape))) for v, d in pairs]


def commit(pairs):
    """Assign every checked ``(variable, array)`` pair, cast to the variable's dtype."""
    import jax.numpy as jnp

    # Convert everything first: a failing conversion then leaves every variable untouched.
    values = [(variable, jnp.asarray(array, dtype=variable.dtype)) for variable, array in pairs]
    for variable, value in values:
        variable.assign(value)


def require_weights(model, source, what):
    """Raise a clear error when ``model`` has no weights yet (not built).

    This is a ValueError about the model, not a FileFormatError: the file may be fine.
    """
    if not model.weights and not getattr(model, "built", False):
        raise ValueError(f"{what}: model \"{model.name}\" has no weights yet, so nothing in "
                         f"{source} can be loaded into it. Build the model first "
                         "(call it on data, or give its first layer an input shape).")
