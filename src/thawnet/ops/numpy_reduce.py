"""Reductions, statistics, sorting and products of Keras 3's ``keras.ops.numpy``.

Keras's argument names and defaults; integer inputs to ``mean``/``std``/``var`` give float32,
as in Keras.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.ops.dispatch import _axis, op, reduction
from thawnet.backend.types import Array, Axis, DTypeLike, IntOrTuple, TensorLike

all = reduction(jnp.all, "all", doc="Whether every entry is true")  # noqa: A001
any = reduction(jnp.any, "any", doc="Whether some entry is true")  # noqa: A001
amax = reduction(jnp.max, "amax", doc="Maximum")
amin = reduction(jnp.min, "amin", doc="Minimum")
mean = reduction(jnp.mean, "mean", doc="Mean")
median = reduction(jnp.median, "median", doc="Median")
std = reduction(jnp.std, "std", doc="Standard deviation (population)")
var = reduction(jnp.var, "var", doc="Variance (population)")
ptp = reduction(jnp.ptp, "ptp", doc="Range (max - min)")
nanmax = reduction(jnp.nanmax, "nanmax", doc="Maximum ignoring NaN")
nanmin = reduction(jnp.nanmin, "nanmin", doc="Minimum ignoring NaN")
nanmean = reduction(jnp.nanmean, "nanmean", doc="Mean ignoring NaN")
nanmedian = reduction(jnp.nanmedian, "nanmedian", doc="Median ignoring NaN")
nanprod = reduction(jnp.nanprod, "nanprod", doc="Product ignoring NaN")
nanstd = reduction(jnp.nanstd, "nanstd", doc="Standard deviation ignoring NaN")
nansum = reduction(jnp.nansum, "nansum", doc="Sum ignoring NaN")
nanvar = reduction(jnp.nanvar, "nanvar", doc="Variance ignoring NaN")
argmax = reduction(jnp.argmax, "argmax", doc="Index of the maximum")
argmin = reduction(jnp.argmin, "argmin", doc="Index of the minimum")
nanargmax = reduction(jnp.nanargmax, "nanargmax", doc="Index of the maximum ignoring NaN")
nanargmin = reduction(jnp.nanargmin, "nanargmin", doc="Index of the minimum ignoring NaN")


@op
def sum(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Array:  # noqa: A001
    """Sum over ``axis`` (bool inputs count as int32, as in Keras).

    Args:
        x: a tensor.
        axis: int, tuple of ints or None (all axes).
        keepdims: keep reduced axes with size 1.

    Returns:
        A tensor.
    """
    x = jnp.asarray(x)
    return jnp.sum(x.astype("int32") if x.dtype == jnp.bool_ else x, axis=_axis(axis),
                   keepdims=keepdims)


@op
def max(x: TensorLike, axis: Axis = None, keepdims: bool = False,  # noqa: A001
        initial: float | None = None) -> Array:
    """Maximum over ``axis``.

    Args:
        x: a tensor.
        axis: int, tuple of ints or None (all axes).
        keepdims: keep reduced axes with size 1.
        initial: lower bound of the result (allows empty inputs).

    Returns:
        A tensor.
    """
    return jnp.max(x, axis=_axis(axis), keepdims=keepdims, initial=initial)


@op
def min(x: TensorLike, axis: Axis = None, keepdims: bool = False,  # noqa: A001
        initial: float | None = None) -> Array:
    """Minimum over ``axis``.

    Args:
        x: a tensor.
        axis: int, tuple of ints or None (all axes).
        keepdims: keep reduced axes with size 1.
        initial: upper bound of the result (allows empty inputs).

    Returns:
        A tensor.
    """
    return jnp.min(x, axis=_axis(axis), keepdims=keepdims, initial=initial)


@op
def prod(x: TensorLike, axis: Axis = None, keepdims: bool = False, dtype: DTypeLike | None = None
        ) -> Array:
    """Product over ``axis``.

    Args:
        x: a tensor.
        axis: int, tuple of ints or None (all axes).
        keepdims: keep reduced axes with size 1.
        dtype: dtype of the result.

    Returns:
        A tensor.
    """
    return jnp.prod(x, axis=_axis(axis), keepdims=keepdims, dtype=dtype)


@op
def average(x: TensorLike, axis: Axis = None, weights: TensorLike | None = None) -> Array:
    """Weighted mean over ``axis``.

    Args:
        x: a tensor.
        axis: int or None.
        weights: weights broadcastable along ``axis`` (None: plain mean).

    Returns:
        A tensor.
    """
    return jnp.average(x, axis=axis, weights=weights)


@op
def count_nonzero(x: TensorLike, axis: Axis = None) -> Array:
    """Number of non-zero entries over ``axis``.

    Args:
        x: a tensor.
        axis: int, tuple of ints or None.

    Returns:
        An int32 tensor.
    """
    return jnp.count_nonzero(x, axis=_axis(axis)).astype("int32")


def _cumulative(jax_fn, name):
    def fn(x: TensorLike, axis: int | None = None, dtype: DTypeLike | None = None) -> Array:
        return jax_fn(x, axis=axis, dtype=dtype)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{name.replace('_', ' ').capitalize()} along ``axis``.\n\n    Args:\n"
                  "        x: a tensor.\n        axis: int, or None to flatten first.\n"
                  "        dtype: dtype of the result.\n\n    Returns:\n        A tensor.\n    ")
    return op(fn)


cumsum = _cumulative(jnp.cumsum, "cumsum")
cumprod = _cumulative(jnp.cumprod, "cumprod")
nancumsum = _cumulative(jnp.nancumsum, "nancumsum")
nancumprod = _cumulative(jnp.nancumprod, "nancumprod")


def _quantile_op(jax_fn, name, scale):
    def fn(x: TensorLike, q: TensorLike, axis: Axis = None, method: str = "linear",
           keepdims: bool = False) -> Array:
        q = jnp.asarray(q) / scale if scale != 1 else q
        return jax_fn(x, q, axis=_axis(axis), method=method, keepdims=keepdims)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The ``q``-th {name} of ``x`` over ``axis``.\n\n    Args:\n"
                  "        x: a tensor.\n        q: scalar or 1-D tensor of "
                  f"{'percentages in [0, 100]' if scale == 100 else 'fractions in [0, 1]'}.\n"
                  "        axis: int, tuple or None.\n        method: interpolation "
                  "(``linear``, ``lower``, ``higher``, ``midpoint``, ``nearest``).\n"
                  "        keepdims: keep reduced axes.\n\n    Returns:\n        A tensor.\n    ")
    return op(fn)


quantile = _quantile_op(jnp.quantile, "quantile", 1)
nanquantile = _quantile_op(jnp.nanquantile, "nanquantile", 1)
percentile = _quantile_op(jnp.quantile, "percentile", 100)
nanpercentile = _quantile_op(jnp.nanquantile, "nanpercentile", 100)


@op
def sort(x: TensorLike, axis: Axis = -1) -> Array:
    """Sorted copy along ``axis``.

    Args:
        x: a tensor.
        axis: the axis to sort.

    Returns:
        A tensor.
    """
    return jnp.sort(x, axis=axis)


@op
def argsort(x: TensorLike, axis: Axis = -1) -> Array:
    """Indices that sort ``x`` along ``axis``.

    Args:
        x: a tensor.
        axis: the axis to sort.

    Returns:
        An int32 tensor.
    """
    return jnp.argsort(x, axis=axis).astype("int32")


@op
def argpartition(x: TensorLike, kth: int, axis: Axis = -1) -> Array:
    """Indices that put the ``kth`` smallest entry in place, smaller ones before it.

    Args:
        x: a tensor.
        kth: the element index to partition by.
        axis: the axis.

    Returns:
        An int32 tensor.
    """
    return jnp.argpartition(x, kth, axis=axis).astype("int32")


@op
def bincount(x: TensorLike, weights: TensorLike | None = None, minlength: int = 0,
             sparse: bool = False) -> Array:
    """Count the occurrences of each non-negative int in ``x`` (per row for 2-D ``x``).

    Args:
        x: a 1-D or 2-D int tensor.
        weights: optional weights shaped like x.
        minlength: minimum number of bins.
        sparse: unsupported (True raises).

    Returns:
        A tensor of counts.
    """
    if sparse:
        raise ValueError("ops.bincount: sparse=True is not supported by thawnet (JAX has no "
                         "sparse outputs here); received sparse=True. Use sparse=False.")
    x = jnp.asarray(x)
    length = int(jnp.max(x)) + 1 if x.size else 0
    length = length if length > minlength else minlength
    if x.ndim == 2:
        rows = [jnp.bincount(r, None if weights is None else w, length=length)
                for r, w in zip(x, x if weights is None else weights)]
        return jnp.stack(rows)
    return jnp.bincount(x, weights, length=length)


@op
def histogram(x: TensorLike, bins: int = 10, range: tuple[float, float] | None = None  # noqa: A002
              ) -> tuple[Array, Array]:
    """Counts of ``x`` in ``bins`` equal-width bins.

    Args:
        x: a 1-D tensor.
        bins: number of bins.
        range: ``(low, high)``; default ``(min(x), max(x))``.

    Returns:
        ``(counts, bin_edges)``.
    """
    return jnp.histogram(x, bins=bins, range=range)


@op
def digitize(x: TensorLike, bins: TensorLike) -> Array:
    """Index of the bin each entry falls into.

    Args:
        x: a tensor.
        bins: a 1-D increasing tensor of edges.

    Returns:
        An int32 tensor.
    """
    return jnp.digitize(x, bins).astype("int32")


@op
def searchsorted(sorted_sequence: TensorLike, values: TensorLike, side: str = "left") -> Array:
    """Indices where ``values`` would be inserted to keep ``sorted_sequence`` sorted.

    Args:
        sorted_sequence: a 1-D sorted tensor.
        values: values to insert.
        side: ``"left"`` or ``"right"``.

    Returns:
        An int32 tensor.
    """
    return jnp.searchsorted(sorted_sequence, values, side=side).astype("int32")


@op
def unique(x: TensorLike, sorted: bool = True,  # noqa: A002
           return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: Axis = None, size: int | None = None,
           fill_value: float | None = None) -> Array | tuple[Array, ...]:
    """The unique entries of ``x`` (needs ``size`` under ``jit``).

    Args:
        x: a tensor.
        sorted: ignored (results are always sorted).
        return_index, return_inverse, return_counts: also return those arrays.
        axis: unique slices along an axis.
        size: fixed output length (padded with ``fill_value``); required under jit.
        fill_value: padding value.

    Returns:
        A tensor, or a tuple with the requested extras.
    """
    return jnp.unique(x, return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, size=size, fill_value=fill_value)


@op
def trace(x: TensorLike, offset: float = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """Sum along a diagonal.

    Args:
        x: a tensor of rank >= 2.
        offset: diagonal offset.
        axis1, axis2: the two axes of the diagonal.

    Returns:
        A tensor.
    """
    return jnp.trace(x, offset=offset, axis1=axis1, axis2=axis2)


__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "argpartition", "argsort", "average",
    "bincount", "count_nonzero", "cumprod", "cumsum", "digitize", "histogram", "max", "mean",
    "median", "min", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean",
    "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd", "nansum",
    "nanvar", "percentile", "prod", "ptp", "quantile", "searchsorted", "sort", "std", "sum",
    "trace", "unique", "var",
]
