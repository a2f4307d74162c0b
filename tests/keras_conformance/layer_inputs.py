"""Inputs for ``run_layer_test``: eager arrays and thawnet symbolic tensors from shapes.

Shapes come as Keras's tests write them: one shape tuple, a list/tuple of shape tuples, or a
dict ``{"x_shape": (...)}`` whose keys lose their ``_shape`` suffix.
"""

from __future__ import annotations

import unittest
import zlib

import jax
import jax.numpy as jnp
import numpy as np

from . import backend_shim

STANDARD_DTYPES = {"float16", "float32", "float64", "int8", "uint8", "int16", "uint16",
                   "int32", "uint32", "int64", "uint64"}


def is_shape_tuple(x) -> bool:
    """``(2, None, 3)`` is a shape; ``[(2, 3), (2, 3)]`` is a structure of shapes."""
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shapes(fn, shape, dtype):
    """Apply ``fn(shape_tuple, dtype)`` over a structure of shapes with a matching dtype tree."""
    if is_shape_tuple(shape):
        return fn(tuple(shape), dtype)
    if isinstance(shape, dict):
        return {k: map_shapes(fn, v, dtype[k]) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return type(shape)(map_shapes(fn, s, d) for s, d in zip(shape, dtype))
    raise ValueError(f"run_layer_test: cannot read the input shape {shape!r}")


def default_dtypes(shape):
    """``"float32"`` for every shape of the structure."""
    if is_shape_tuple(shape):
        return "float32"
    if isinstance(shape, dict):
        return {k: default_dtypes(v) for k, v in shape.items()}
    return type(shape)(default_dtypes(s) for s in shape)


def _strip_shape_suffix(key: str) -> str:
    return key[: -len("_shape")] if key.endswith("_shape") else key


def eager_inputs(input_shape, input_dtype, sparse: bool = False, ragged: bool = False):
    """Arrays of ``input_shape`` with values uniform in [0, 3), cast to ``input_dtype``.

    The values are drawn by NumPy from a seed derived from the shape, so a case sees the
    same data every run.
    """
    if sparse or ragged:
        raise unittest.SkipTest("sparse/ragged tensors: thawnet has none")
    flat_dtypes = set(jax.tree_util.tree_leaves(input_dtype))
    if flat_dtypes - STANDARD_DTYPES:
        raise ValueError(f"dtype must be a standard float or int dtype. Received: {input_dtype}")

    def make(shape, dtype):
        rng = np.random.default_rng(zlib.crc32(repr(shape).encode()))
        return jnp.asarray((rng.random(shape, dtype="float32") * 3).astype(dtype))

    if isinstance(input_shape, dict):
        return {_strip_shape_suffix(k): map_shapes(make, v, input_dtype[k])
                for k, v in input_shape.items()}
    return map_shapes(make, input_shape, input_dtype)


def symbolic_inputs(input_shape, input_dtype, sparse: bool = False, ragged: bool = False):
    """thawnet symbolic tensors (``KerasTensor`` of the backend shim) for ``input_shape``."""
    def make(shape, dtype):
        return backend_shim.KerasTensor(shape, dtype=dtype, sparse=sparse, ragged=ragged)

    if isinstance(input_shape, dict):
        return {_strip_shape_suffix(k): map_shapes(make, v, input_dtype[k])
                for k, v in input_shape.items()}
    return map_shapes(make, input_shape, input_dtype)


def map_leaves(fn, structure):
    """Apply ``fn`` to every non-container leaf of nested lists/tuples/dicts."""
    if isinstance(structure, dict):
        return {k: map_leaves(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_leaves(fn, v) for v in structure)
    return fn(structure)


def leaves(structure) -> list:
    """The leaves of nested lists/tuples/dicts, in order (dict keys sorted, as Keras's tree)."""
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in leaves(structure[k])]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in leaves(v)]
    return [structure]


def shapes_match(expected, output) -> bool:
    """Whether ``output``'s shapes match ``expected`` (``None`` in expected matches any size)."""
    if is_shape_tuple(expected) and not isinstance(output, (list, tuple, dict)):
        shape = tuple(output.shape)
        return len(shape) == len(expected) and all(
            e is None or e == d for e, d in zip(expected, shape))
    if isinstance(expected, dict) and isinstance(output, dict):
        return set(expected) == set(output) and all(
            shapes_match(expected[k], output[k]) for k in expected)
    if isinstance(expected, (list, tuple)) and isinstance(output, (list, tuple)):
        return len(expected) == len(output) and all(
            shapes_match(e, o) for e, o in zip(expected, output))
    return False


def dtypes_match(expected, output) -> bool:
    """Whether every output leaf has the expected dtype (one name, or a matching structure)."""
    if isinstance(expected, str):
        return all(backend_shim.standardize_dtype(x.dtype) == expected for x in leaves(output))
    exp, out = leaves(expected), leaves(output)
    return len(exp) == len(out) and all(
        backend_shim.standardize_dtype(x.dtype) == e for e, x in zip(exp, out))
