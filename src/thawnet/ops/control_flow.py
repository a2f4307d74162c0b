"""The control-flow ops of Keras 3's ``keras.ops.core``: cond, switch, while_loop, fori_loop,
scan, associative_scan, map and vectorized_map.

They map onto ``jax.lax`` (so they compile), with Keras's argument conventions: loop variables
may be a tuple/list (unpacked into the body's arguments) or a single tensor.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp

from thawnet.backend.types import Array, PyTree, TensorLike
from thawnet.ops.dispatch import op


@op
def cond(pred: TensorLike, true_fn: Callable[[], PyTree], false_fn: Callable[[], PyTree]
         ) -> PyTree:
    """``true_fn()`` if ``pred`` else ``false_fn()``, compiled as one branch (``lax.cond``).

    Args:
        pred: a scalar bool.
        true_fn: function of no arguments.
        false_fn: function of no arguments, with the same output structure.

    Returns:
        The chosen branch's outputs.
    """
    return jax.lax.cond(pred, true_fn, false_fn)


@op
def switch(index: TensorLike, branches: Sequence[Callable[..., PyTree]], *operands: PyTree
           ) -> PyTree:
    """``branches[index](*operands)`` (index clamped to the range).

    Args:
        index: a scalar int.
        branches: a list of functions.
        *operands: their arguments.

    Returns:
        The chosen branch's outputs.
    """
    return jax.lax.switch(index, list(branches), *operands)


def while_loop(cond: Callable, body: Callable, loop_vars: PyTree,
               maximum_iterations: int | None = None) -> PyTree:
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` (``lax.while_loop``).

    Args:
        cond: function of the loop variables returning a scalar bool.
        body: function of the loop variables returning new ones (same structure).
        loop_vars: a tuple/list of tensors (unpacked into the arguments) or one tensor.
        maximum_iterations: optional bound on the number of iterations.

    Returns:
        The final loop variables (a tuple when a tuple/list was given).
    """
    as_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if as_tuple else (loop_vars,)
    limit = maximum_iterations

    def wrapped_cond(carry):
        values, count = carry
        keep = cond(*values)
        return keep if limit is None else jnp.logical_and(keep, count < limit)

    def wrapped_body(carry):
        values, count = carry
        out = body(*values)
        return (tuple(out) if as_tuple else (out,)), count + 1

    final, _ = jax.lax.while_loop(wrapped_cond, wrapped_body, (state, jnp.asarray(0)))
    return final if as_tuple else final[0]


def fori_loop(lower: int | TensorLike, upper: int | TensorLike, body_fun: Callable,
              init_val: PyTree) -> PyTree:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)`` (``lax.fori_loop``).

    Args:
        lower: first index.
        upper: end index (excluded).
        body_fun: ``(i, val) -> val``.
        init_val: initial value (any pytree).

    Returns:
        The final value.
    """
    return jax.lax.fori_loop(lower, upper, body_fun, init_val)


def scan(f: Callable, init: PyTree, xs: PyTree = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1) -> tuple[PyTree, PyTree]:
    """``carry, y = f(carry, x)`` over the leading axis of ``xs``, stacking the ``y``
    (``lax.scan``).

    Args:
        f: ``(carry, x) -> (carry, y)``.
        init: initial carry.
        xs: scanned inputs (or None with ``length``).
        length: number of steps when ``xs`` is None.
        reverse: scan from the end.
        unroll: loop unrolling factor (int or bool).

    Returns:
        ``(final_carry, stacked_ys)``.
    """
    return jax.lax.scan(f, init, xs=xs, length=length, reverse=reverse, unroll=unroll)


def associative_scan(f: Callable, elems: PyTree, reverse: bool = False, axis: int = 0) -> PyTree:
    """Prefix reduction with an associative ``f`` in parallel (``lax.associative_scan``).

    Args:
        f: associative binary function.
        elems: tensor or pytree of tensors.
        reverse: scan from the end.
        axis: the scanned axis.

    Returns:
        Tensors shaped like ``elems``.
    """
    return jax.lax.associative_scan(f, elems, reverse=reverse, axis=axis)


def map(f: Callable, xs: Sequence[TensorLike]) -> Array:  # noqa: A001
    """``f`` applied to each slice of ``xs`` along the leading axis, sequentially
    (``lax.map``).

    Args:
        f: the function.
        xs: tensor or pytree of tensors.

    Returns:
        The stacked results.
    """
    return jax.lax.map(f, xs)


def vectorized_map(function: Callable, elements: PyTree) -> PyTree:
    """``function`` applied to each slice of ``elements`` along the leading axis, vectorised
    (``jax.vmap``).

    Args:
        function: the per-slice function.
        elements: tensor or pytree of tensors.

    Returns:
        The stacked results.
    """
    return jax.vmap(function)(elements)


__all__ = [
    "associative_scan", "cond", "fori_loop", "map", "scan", "switch", "vectorized_map",
    "while_loop",
]
