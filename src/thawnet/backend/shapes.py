"""Abstract shape inference: output shapes without computing anything.

Unknown dimensions (``None``, e.g. the batch) are replaced by two different concrete sizes and
the function is traced twice with ``jax.eval_shape``; an output dimension that differs between
the two traces is unknown (``None``) too. Tracing never allocates arrays, so a 100M-parameter
model's shapes cost the same as a tiny one's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# Two primes, large enough for stacks of valid convolutions and strided pooling.
_PROBE_SIZES = ((83, 89), (331, 337))


def _concretize(spec_tree, size):
    return jax.tree_util.tree_map(
        lambda s: jax.ShapeDtypeStruct(tuple(size if d is None else d for d in s.shape), s.dtype),
        spec_tree, is_leaf=lambda s: isinstance(s, TensorSpec))


class TensorSpec:
    """Shape (with ``None`` for unknown dimensions) and dtype of a tensor."""

    def __init__(self, shape, dtype="float32"):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = jnp.dtype(dtype)

    def __repr__(self):
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype.name})"


def infer(fn, input_specs, weights=()):
    """Trace ``fn(weights, inputs)`` abstractly; return the output TensorSpecs.

    ``input_specs`` is a pytree of TensorSpec (``None`` for unknown dimensions); ``weights`` a
    pytree of ``jax.ShapeDtypeStruct``; ``fn`` may return any pytree of arrays.
    """
    has_unknown = any(d is None for s in jax.tree_util.tree_leaves(
        input_specs, is_leaf=lambda s: isinstance(s, TensorSpec)) for d in s.shape)
    last_error = None
    for a, b in _PROBE_SIZES:
        try:
            out_a = jax.eval_shape(fn, weights, _concretize(input_specs, a))
            if not has_unknown:
                return jax.tree_util.tree_map(lambda o: TensorSpec(o.shape, o.dtype), out_a)
            out_b = jax.eval_shape(fn, weights, _concretize(input_specs, b))
        except (TypeError, ValueError) as err:  # e.g. a valid conv on a too-small probe size
            last_error = err
            if not has_unknown:
                raise
            continue
        return jax.tree_util.tree_map(
            lambda oa, ob: TensorSpec(
                tuple(da if da == db else None for da, db in zip(oa.shape, ob.shape)), oa.dtype),
            out_a, out_b)
    raise last_error


def is_shape(value) -> bool:
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) for d in value)


def specs_from_shapes(shape_tree, dtype="float32"):
    """A shape (``(None, 3)``) or a list/dict of shapes -> the matching TensorSpec tree."""
    if is_shape(shape_tree):
        return TensorSpec(shape_tree, dtype)
    if isinstance(shape_tree, dict):
        return {k: specs_from_shapes(v, dtype) for k, v in shape_tree.items()}
    if isinstance(shape_tree, tuple):  # a tuple of shapes stays a tuple (Keras)
        return tuple(specs_from_shapes(s, dtype) for s in shape_tree)
    return [specs_from_shapes(s, dtype) for s in shape_tree]
