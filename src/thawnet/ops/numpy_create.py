"""Tensor creation ops of Keras 3's ``keras.ops.numpy``: zeros, ones, arange, eye, windows...

Default dtypes follow Keras: float32 for floats, int32 for integer ranges.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.ops.dispatch import op
from thawnet.backend.types import Array, Axis, DTypeLike, ShapeLike, TensorLike


def _float(dtype):
    return dtype or "float32"


@op
def zeros(shape: ShapeLike, dtype: DTypeLike | None = None) -> Array:
    """A tensor of zeros.

    Args:
        shape: int or tuple of ints.
        dtype: default float32.

    Returns:
        A tensor.
    """
    return jnp.zeros(shape, _float(dtype))


@op
def ones(shape: ShapeLike, dtype: DTypeLike | None = None) -> Array:
    """A tensor of ones.

    Args:
        shape: int or tuple of ints.
        dtype: default float32.

    Returns:
        A tensor.
    """
    return jnp.ones(shape, _float(dtype))


@op
def empty(shape: ShapeLike, dtype: DTypeLike | None = None) -> Array:
    """An uninitialised tensor (zeros in JAX, which has no uninitialised memory).

    Args:
        shape: int or tuple of ints.
        dtype: default float32.

    Returns:
        A tensor.
    """
    return jnp.empty(shape, _float(dtype))


@op
def full(shape: ShapeLike, fill_value: float, dtype: DTypeLike | None = None) -> Array:
    """A tensor filled with ``fill_value``.

    Args:
        shape: int or tuple of ints.
        fill_value: the value.
        dtype: default: the value's dtype (float32 for Python floats).

    Returns:
        A tensor.
    """
    return jnp.full(shape, fill_value, dtype=dtype)


def _like(jax_fn, name, doc):
    def fn(x: TensorLike, dtype: DTypeLike | None = None) -> Array:
        return jax_fn(x, dtype=dtype)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{doc}, shaped like ``x``.\n\n    Args:\n        x: a tensor.\n"
                  "        dtype: default x's dtype.\n\n    Returns:\n        A tensor.\n    ")
    return op(fn)


zeros_like = _like(jnp.zeros_like, "zeros_like", "Zeros")
ones_like = _like(jnp.ones_like, "ones_like", "Ones")
empty_like = _like(jnp.empty_like, "empty_like", "An uninitialised tensor")


@op
def full_like(x: TensorLike, fill_value: float, dtype: DTypeLike | None = None) -> Array:
    """A tensor shaped like ``x`` filled with ``fill_value``.

    Args:
        x: a tensor.
        fill_value: the value.
        dtype: default x's dtype.

    Returns:
        A tensor.
    """
    return jnp.full_like(x, fill_value, dtype=dtype)


@op
def array(x: TensorLike, dtype: DTypeLike | None = None) -> Array:
    """A tensor holding ``x``.

    Args:
        x: array-like.
        dtype: optional dtype.

    Returns:
        A tensor.
    """
    return jnp.array(x, dtype=dtype)


@op
def arange(start: TensorLike, stop: TensorLike | None = None, step: int | None = None,
           dtype: DTypeLike | None = None) -> Array:
    """Evenly spaced values in ``[start, stop)``.

    Args:
        start: first value (or the stop, when ``stop`` is None).
        stop: end (excluded).
        step: spacing (default 1).
        dtype: default int32 for int arguments, float32 otherwise.

    Returns:
        A 1-D tensor.
    """
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, stop, step) if v is not None)
        dtype = "int32" if ints else "float32"
    return jnp.arange(start, stop, step if step is not None else 1, dtype=dtype)


@op
def linspace(start: TensorLike, stop: TensorLike, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: DTypeLike | None = None, axis: Axis = 0) -> Array:
    """``num`` evenly spaced values from ``start`` to ``stop``.

    Args:
        start, stop: the ends.
        num: number of values.
        endpoint: include ``stop``.
        retstep: also return the spacing.
        dtype: default float32.
        axis: where to put the new axis for array ends.

    Returns:
        A tensor (and the step when ``retstep``).
    """
    return jnp.linspace(start, stop, num, endpoint=endpoint, retstep=retstep,
                        dtype=_float(dtype), axis=axis)


@op
def logspace(start: TensorLike, stop: TensorLike, num: int = 50, endpoint: bool = True,
             base: int = 10, dtype: DTypeLike | None = None, axis: Axis = 0) -> Array:
    """``base ** linspace(start, stop, num)``.

    Args:
        start, stop: exponents of the ends.
        num: number of values.
        endpoint: include ``base ** stop``.
        base: the base.
        dtype: default float32.
        axis: where to put the new axis for array ends.

    Returns:
        A tensor.
    """
    return jnp.logspace(start, stop, num, endpoint=endpoint, base=base, dtype=_float(dtype),
                        axis=axis)


@op
def geomspace(start: TensorLike, stop: TensorLike, num: int = 50, endpoint: bool = True,
              dtype: DTypeLike | None = None, axis: Axis = 0) -> Array:
    """``num`` values spaced evenly on a log scale from ``start`` to ``stop``.

    Args:
        start, stop: the ends (same sign, non-zero).
        num: number of values.
        endpoint: include ``stop``.
        dtype: default float32.
        axis: where to put the new axis for array ends.

    Returns:
        A tensor.
    """
    return jnp.geomspace(start, stop, num, endpoint=endpoint, dtype=_float(dtype), axis=axis)


@op
def eye(N: int, M: int | None = None, k: int = 0,  # noqa: N803 (Keras's names)
        dtype: DTypeLike | None = None) -> Array:
    """A 2-D tensor with ones on the ``k``-th diagonal.

    Args:
        N: rows.
        M: columns (default N).
        k: diagonal offset.
        dtype: default float32.

    Returns:
        A tensor.
    """
    return jnp.eye(N, M, k=k, dtype=_float(dtype))


@op
def identity(n: int, dtype: DTypeLike | None = None) -> Array:
    """The ``n`` x ``n`` identity matrix.

    Args:
        n: size.
        dtype: default float32.

    Returns:
        A tensor.
    """
    return jnp.identity(n, dtype=_float(dtype))


@op
def tri(N: int, M: int | None = None, k: int = 0,  # noqa: N803
        dtype: DTypeLike | None = None) -> Array:
    """Ones at and below the ``k``-th diagonal.

    Args:
        N: rows.
        M: columns (default N).
        k: diagonal offset.
        dtype: default float32.

    Returns:
        A tensor.
    """
    return jnp.tri(N, M, k=k, dtype=_float(dtype))


@op
def vander(x: TensorLike, N: int | None = None, increasing: bool = False) -> Array:  # noqa: N803
    """The Vandermonde matrix of ``x``.

    Args:
        x: a 1-D tensor.
        N: number of columns (default len(x)).
        increasing: powers increase left to right.

    Returns:
        A 2-D tensor.
    """
    return jnp.vander(x, N=N, increasing=increasing)


def _window(jax_fn, name):
    def fn(x: int) -> Array:
        return jax_fn(int(x)).astype("float32")

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The {name.capitalize()} window of ``x`` points.\n\n    Args:\n"
                  "        x: number of points (int).\n\n    Returns:\n"
                  "        A float32 1-D tensor.\n    ")
    return op(fn)


bartlett = _window(jnp.bartlett, "bartlett")
blackman = _window(jnp.blackman, "blackman")
hamming = _window(jnp.hamming, "hamming")
hanning = _window(jnp.hanning, "hanning")


@op
def kaiser(x: TensorLike, beta: float) -> Array:
    """The Kaiser window of ``x`` points.

    Args:
        x: number of points (int).
        beta: shape parameter.

    Returns:
        A float32 1-D tensor.
    """
    return jnp.kaiser(int(x), beta).astype("float32")


__all__ = [
    "arange", "array", "bartlett", "blackman", "empty", "empty_like", "eye", "full",
    "full_like", "geomspace", "hamming", "hanning", "identity", "kaiser", "linspace",
    "logspace", "ones", "ones_like", "tri", "vander", "zeros", "zeros_like",
]
