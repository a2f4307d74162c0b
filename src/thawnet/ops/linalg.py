"""Linear algebra ops of Keras 3 (``keras.ops.linalg``) over ``jax.numpy.linalg`` /
``jax.scipy.linalg``."""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp

from thawnet.ops.dispatch import elementwise, op
from thawnet.backend.types import Array, Axis, PyTree, TensorLike

det = elementwise(jnp.linalg.det, "det", doc="Determinant of each square matrix")
eig = elementwise(jnp.linalg.eig, "eig", doc="Eigenvalues and eigenvectors (CPU only)")
eigh = elementwise(jnp.linalg.eigh, "eigh",
                   doc="Eigenvalues and eigenvectors of each symmetric matrix")
inv = elementwise(jnp.linalg.inv, "inv", doc="Inverse of each square matrix")
slogdet = elementwise(jnp.linalg.slogdet, "slogdet",
                      doc="``(sign, log|det|)`` of each square matrix")


@op
def cholesky(x: TensorLike, upper: bool = False) -> Array:
    """Cholesky factor of symmetric positive-definite matrices.

    Args:
        x: ``(..., n, n)``.
        upper: return the upper factor ``U`` (``x = U^T U``) instead of ``L``.

    Returns:
        A tensor.
    """
    lower = jnp.linalg.cholesky(x)
    return jnp.swapaxes(lower, -1, -2).conj() if upper else lower


@op
def cholesky_inverse(x: TensorLike, upper: bool = False) -> Array:
    """Inverse of ``A`` given its Cholesky factor ``x``.

    Args:
        x: the factor ``L`` (or ``U`` when ``upper``).
        upper: whether ``x`` is the upper factor.

    Returns:
        ``A^{-1}``.
    """
    x = jnp.asarray(x)
    eye = jnp.broadcast_to(jnp.eye(x.shape[-1], dtype=x.dtype), x.shape)
    lower = jnp.swapaxes(x, -1, -2) if upper else x
    inv_lower = jax.scipy.linalg.solve_triangular(lower, eye, lower=True)
    return jnp.swapaxes(inv_lower, -1, -2) @ inv_lower


@op
def lstsq(a: TensorLike, b: TensorLike, rcond: float | None = None) -> Array:
    """Least-squares solution of ``a @ x = b``.

    Args:
        a: ``(m, n)``.
        b: ``(m,)`` or ``(m, k)``.
        rcond: cut-off for small singular values.

    Returns:
        ``x``.
    """
    return jnp.linalg.lstsq(a, b, rcond=rcond)[0]


@op
def lu_factor(x: TensorLike) -> Array:
    """LU factorisation with partial pivoting.

    Args:
        x: ``(..., n, n)``.

    Returns:
        ``(lu, pivots)``.
    """
    return jax.scipy.linalg.lu_factor(x)


@op
def matrix_rank(x: TensorLike, tol: float | None = None) -> Array:
    """Numerical rank of each matrix.

    Args:
        x: ``(..., m, n)``.
        tol: singular values below it count as zero.

    Returns:
        An int tensor.
    """
    return jnp.linalg.matrix_rank(x, rtol=tol)


@op
def norm(x: TensorLike, ord: int | str | None = None,  # noqa: A002
         axis: Axis = None, keepdims: bool = False) -> Array:
    """Vector or matrix norm.

    Args:
        x: a tensor.
        ord: norm order (``None``: 2-norm / Frobenius, ``"fro"``, ``"nuc"``, ints, inf).
        axis: int (vector norm) or pair (matrix norm); None: all of x as a vector (1-D/2-D).
        keepdims: keep reduced axes.

    Returns:
        A tensor.
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype("float32")
    return jnp.linalg.norm(x, ord=ord, axis=tuple(axis) if isinstance(axis, list) else axis,
                           keepdims=keepdims)


@op
def pinv(x: TensorLike, rcond: float | None = None) -> Array:
    """Moore-Penrose pseudo-inverse.

    Args:
        x: ``(..., m, n)``.
        rcond: cut-off for small singular values.

    Returns:
        ``(..., n, m)``.
    """
    return jnp.linalg.pinv(x, rtol=rcond)


@op
def qr(x: TensorLike, mode: str = "reduced") -> Array:
    """QR decomposition.

    Args:
        x: ``(..., m, n)``.
        mode: ``"reduced"`` or ``"complete"``.

    Returns:
        ``(q, r)``.
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"ops.qr: mode must be 'reduced' or 'complete'; received mode={mode!r}.")
    return jnp.linalg.qr(x, mode=mode)


@op
def solve(a: TensorLike, b: TensorLike) -> Array:
    """Solve ``a @ x = b``.

    Args:
        a: ``(..., n, n)``.
        b: ``(..., n)`` or ``(..., n, k)``.

    Returns:
        ``x``.
    """
    return jnp.linalg.solve(a, b)


@op
def solve_triangular(a: TensorLike, b: TensorLike, lower: bool = False) -> Array:
    """Solve ``a @ x = b`` for triangular ``a``.

    Args:
        a: ``(..., n, n)`` triangular matrices.
        b: right-hand sides.
        lower: whether ``a`` is lower triangular.

    Returns:
        ``x``.
    """
    return jax.scipy.linalg.solve_triangular(a, b, lower=lower)


@op
def svd(x: TensorLike, full_matrices: bool = True, compute_uv: bool = True) -> Array:
    """Singular value decomposition ``x = u @ diag(s) @ v``.

    Args:
        x: ``(..., m, n)``.
        full_matrices: full-size ``u`` and ``v``.
        compute_uv: also return ``u`` and ``v``.

    Returns:
        ``(u, s, v)``, or ``s``.
    """
    return jnp.linalg.svd(x, full_matrices=full_matrices, compute_uv=compute_uv)


def jvp(fun: Callable, primals: Sequence[PyTree], tangents: Sequence[PyTree],
        has_aux: bool = False) -> tuple[PyTree, ...]:
    """Forward-mode derivative: ``fun(*primals)`` and its directional derivative along
    ``tangents``.

    Args:
        fun: the function.
        primals: a tuple/list of arguments.
        tangents: matching tangents.
        has_aux: ``fun`` returns ``(output, aux)``.

    Returns:
        ``(output, tangent_out)``, plus ``aux`` when ``has_aux``.
    """
    return jax.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)


__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor",
    "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd",
]
