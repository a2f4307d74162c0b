"""Elementwise numpy-like ops (Keras 3's ``keras.ops.numpy``): one output entry per input entry.

Each is ``jax.numpy``'s function under Keras's name and argument names (``x``, or ``x1, x2``),
wrapped by :func:`~thawnet.ops.dispatch.op` so it also builds graph nodes on symbolic tensors.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from thawnet.ops.dispatch import elementwise, op
from thawnet.backend.types import Array, TensorLike

# -- unary ---------------------------------------------------------------------------------
abs = elementwise(jnp.abs, "abs", doc="Elementwise absolute value")  # noqa: A001
absolute = elementwise(jnp.abs, "absolute", doc="Elementwise absolute value")
angle = elementwise(jnp.angle, "angle")
arccos = elementwise(jnp.arccos, "arccos")
arccosh = elementwise(jnp.arccosh, "arccosh")
arcsin = elementwise(jnp.arcsin, "arcsin")
arcsinh = elementwise(jnp.arcsinh, "arcsinh")
arctan = elementwise(jnp.arctan, "arctan")
arctanh = elementwise(jnp.arctanh, "arctanh")
bitwise_invert = elementwise(jnp.invert, "bitwise_invert")
bitwise_not = elementwise(jnp.invert, "bitwise_not")
cbrt = elementwise(jnp.cbrt, "cbrt")
ceil = elementwise(jnp.ceil, "ceil")
conj = elementwise(jnp.conjugate, "conj")
conjugate = elementwise(jnp.conjugate, "conjugate")
copy = elementwise(jnp.array, "copy", doc="A copy of x")
cos = elementwise(jnp.cos, "cos")
cosh = elementwise(jnp.cosh, "cosh")
deg2rad = elementwise(jnp.deg2rad, "deg2rad")
exp = elementwise(jnp.exp, "exp")
exp2 = elementwise(jnp.exp2, "exp2")
expm1 = elementwise(jnp.expm1, "expm1")
fabs = elementwise(jnp.fabs, "fabs")
floor = elementwise(jnp.floor, "floor")
i0 = elementwise(jnp.i0, "i0")
imag = elementwise(jnp.imag, "imag")
isfinite = elementwise(jnp.isfinite, "isfinite")
isinf = elementwise(jnp.isinf, "isinf")
isnan = elementwise(jnp.isnan, "isnan")
isneginf = elementwise(jnp.isneginf, "isneginf")
isposinf = elementwise(jnp.isposinf, "isposinf")
isreal = elementwise(jnp.isreal, "isreal")
log = elementwise(jnp.log, "log")
log10 = elementwise(jnp.log10, "log10")
log1p = elementwise(jnp.log1p, "log1p")
log2 = elementwise(jnp.log2, "log2")
logical_not = elementwise(jnp.logical_not, "logical_not")
negative = elementwise(jnp.negative, "negative")
rad2deg = elementwise(jnp.rad2deg, "rad2deg")
real = elementwise(jnp.real, "real")
reciprocal = elementwise(jnp.reciprocal, "reciprocal")
sign = elementwise(jnp.sign, "sign")
signbit = elementwise(jnp.signbit, "signbit")
sin = elementwise(jnp.sin, "sin")
sinc = elementwise(jnp.sinc, "sinc")
sinh = elementwise(jnp.sinh, "sinh")
sqrt = elementwise(jnp.sqrt, "sqrt")
square = elementwise(jnp.square, "square")
tan = elementwise(jnp.tan, "tan")
tanh = elementwise(jnp.tanh, "tanh")
trunc = elementwise(jnp.trunc, "trunc")

# -- binary --------------------------------------------------------------------------------
add = elementwise(jnp.add, "add", 2)
arctan2 = elementwise(jnp.arctan2, "arctan2", 2)
divide = elementwise(jnp.true_divide, "divide", 2)
equal = elementwise(jnp.equal, "equal", 2)
floor_divide = elementwise(jnp.floor_divide, "floor_divide", 2)
fmax = elementwise(jnp.fmax, "fmax", 2)
fmin = elementwise(jnp.fmin, "fmin", 2)
fmod = elementwise(jnp.fmod, "fmod", 2)
gcd = elementwise(jnp.gcd, "gcd", 2)
greater = elementwise(jnp.greater, "greater", 2)
greater_equal = elementwise(jnp.greater_equal, "greater_equal", 2)
heaviside = elementwise(jnp.heaviside, "heaviside", 2)
hypot = elementwise(jnp.hypot, "hypot", 2)
lcm = elementwise(jnp.lcm, "lcm", 2)
ldexp = elementwise(jnp.ldexp, "ldexp", 2)
less = elementwise(jnp.less, "less", 2)
less_equal = elementwise(jnp.less_equal, "less_equal", 2)
logaddexp = elementwise(jnp.logaddexp, "logaddexp", 2)
logaddexp2 = elementwise(jnp.logaddexp2, "logaddexp2", 2)
logical_and = elementwise(jnp.logical_and, "logical_and", 2)
logical_or = elementwise(jnp.logical_or, "logical_or", 2)
logical_xor = elementwise(jnp.logical_xor, "logical_xor", 2)
maximum = elementwise(jnp.maximum, "maximum", 2)
minimum = elementwise(jnp.minimum, "minimum", 2)
mod = elementwise(jnp.mod, "mod", 2)
multiply = elementwise(jnp.multiply, "multiply", 2)
nextafter = elementwise(jnp.nextafter, "nextafter", 2)
not_equal = elementwise(jnp.not_equal, "not_equal", 2)
power = elementwise(jnp.power, "power", 2)
subtract = elementwise(jnp.subtract, "subtract", 2)
true_divide = elementwise(jnp.true_divide, "true_divide", 2)


@op
def bitwise_and(x: TensorLike, y: TensorLike) -> Array:
    """Bitwise AND of integer or bool tensors.

    Args:
        x: a tensor.
        y: a tensor.

    Returns:
        A tensor.
    """
    return jnp.bitwise_and(x, y)


@op
def bitwise_or(x: TensorLike, y: TensorLike) -> Array:
    """Bitwise OR of integer or bool tensors.

    Args:
        x: a tensor.
        y: a tensor.

    Returns:
        A tensor.
    """
    return jnp.bitwise_or(x, y)


@op
def bitwise_xor(x: TensorLike, y: TensorLike) -> Array:
    """Bitwise XOR of integer or bool tensors.

    Args:
        x: a tensor.
        y: a tensor.

    Returns:
        A tensor.
    """
    return jnp.bitwise_xor(x, y)


@op
def bitwise_left_shift(x: TensorLike, y: TensorLike) -> Array:
    """Shift the bits of integer ``x`` left by ``y``.

    Args:
        x: an integer tensor.
        y: an integer tensor, the shift.

    Returns:
        A tensor.
    """
    return jnp.left_shift(x, y)


@op
def bitwise_right_shift(x: TensorLike, y: TensorLike) -> Array:
    """Shift the bits of integer ``x`` right by ``y``.

    Args:
        x: an integer tensor.
        y: an integer tensor, the shift.

    Returns:
        A tensor.
    """
    return jnp.right_shift(x, y)


left_shift = op(bitwise_left_shift.raw)
right_shift = op(bitwise_right_shift.raw)
left_shift.__name__, right_shift.__name__ = "left_shift", "right_shift"


@op
def divide_no_nan(x1: TensorLike, x2: TensorLike) -> Array:
    """``x1 / x2``, with 0 where ``x2`` is 0.

    Args:
        x1: numerator.
        x2: denominator.

    Returns:
        A tensor.
    """
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    safe = jnp.where(x2 == 0, 1, x2)
    return jnp.where(x2 == 0, 0, jnp.true_divide(x1, safe))


@op
def clip(x: TensorLike, x_min: Any, x_max: Any) -> Array:
    """Limit the values of ``x`` to ``[x_min, x_max]``.

    Args:
        x: a tensor.
        x_min: lower bound.
        x_max: upper bound.

    Returns:
        A tensor of x's dtype (bool inputs become int32, as in Keras).
    """
    x = jnp.asarray(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.clip(x, x_min, x_max)


@op
def round(x: TensorLike, decimals: int = 0) -> Array:  # noqa: A001
    """Round to ``decimals`` decimal places (halves to even).

    Args:
        x: a tensor.
        decimals: number of decimal places.

    Returns:
        A tensor.
    """
    return jnp.round(x, decimals)


@op
def nan_to_num(x: TensorLike, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Array:
    """Replace NaN and infinities by finite numbers.

    Args:
        x: a tensor.
        nan: value for NaN.
        posinf: value for +inf (default: the largest finite value).
        neginf: value for -inf (default: the most negative finite value).

    Returns:
        A tensor.
    """
    return jnp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


@op
def isclose(x1: TensorLike, x2: TensorLike, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Array:
    """Elementwise ``|x1 - x2| <= atol + rtol * |x2|``.

    Args:
        x1: a tensor.
        x2: a tensor.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: count NaN == NaN as close.

    Returns:
        A bool tensor.
    """
    return jnp.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


@op
def allclose(x1: TensorLike, x2: TensorLike, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> Array:
    """Whether every entry is close (see :func:`isclose`).

    Args:
        x1: a tensor.
        x2: a tensor.
        rtol: relative tolerance.
        atol: absolute tolerance.
        equal_nan: count NaN == NaN as close.

    Returns:
        A scalar bool tensor.
    """
    return jnp.allclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


@op
def where(condition: TensorLike, x1: TensorLike | None = None, x2: TensorLike | None = None
        ) -> Array:
    """``x1`` where ``condition`` holds, else ``x2``; with only ``condition``, its nonzero
    indices.

    Args:
        condition: a bool tensor.
        x1: values where true.
        x2: values where false.

    Returns:
        A tensor, or a tuple of index tensors.
    """
    if x1 is None and x2 is None:
        return jnp.nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("ops.where: pass both x1 and x2, or neither; received "
                         f"x1={'None' if x1 is None else 'a tensor'}, "
                         f"x2={'None' if x2 is None else 'a tensor'}.")
    return jnp.where(condition, x1, x2)


@op
def isin(x1: TensorLike, x2: TensorLike, assume_unique: bool = False, invert: bool = False
        ) -> Array:
    """Whether each entry of ``x1`` occurs in ``x2``.

    Args:
        x1: a tensor.
        x2: the values to look for.
        assume_unique: ignored (kept for Keras's signature).
        invert: return the negation.

    Returns:
        A bool tensor shaped like x1.
    """
    return jnp.isin(x1, x2, invert=invert)


@op
def erf(x: TensorLike) -> Array:
    """The error function.

    Args:
        x: a float tensor.

    Returns:
        A tensor.
    """
    return jax.scipy.special.erf(x)


@op
def erfc(x: TensorLike) -> Array:
    """The complementary error function ``1 - erf(x)``.

    Args:
        x: a float tensor.

    Returns:
        A tensor.
    """
    return jax.scipy.special.erfc(x)


@op
def erfinv(x: TensorLike) -> Array:
    """The inverse of :func:`erf`.

    Args:
        x: a float tensor in (-1, 1).

    Returns:
        A tensor.
    """
    return jax.scipy.special.erfinv(x)


@op
def rsqrt(x: TensorLike) -> Array:
    """``1 / sqrt(x)``.

    Args:
        x: a float tensor.

    Returns:
        A tensor.
    """
    return jax.lax.rsqrt(jnp.asarray(x, dtype=jnp.result_type(x, jnp.float32)))


__all__ = [
    "abs", "absolute", "add", "allclose", "angle", "arccos", "arccosh", "arcsin", "arcsinh",
    "arctan", "arctan2", "arctanh", "bitwise_and", "bitwise_invert", "bitwise_left_shift",
    "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "cbrt", "ceil", "clip",
    "conj", "conjugate", "copy", "cos", "cosh", "deg2rad", "divide", "divide_no_nan", "equal",
    "erf", "erfc", "erfinv", "exp", "exp2", "expm1", "fabs", "floor", "floor_divide", "fmax",
    "fmin", "fmod", "gcd", "greater", "greater_equal", "heaviside", "hypot", "i0", "imag",
    "isclose", "isfinite", "isin", "isinf", "isnan", "isneginf", "isposinf", "isreal", "lcm",
    "ldexp", "left_shift", "less", "less_equal", "log", "log10", "log1p", "log2", "logaddexp",
    "logaddexp2", "logical_and", "logical_not", "logical_or", "logical_xor", "maximum",
    "minimum", "mod", "multiply", "nan_to_num", "negative", "nextafter", "not_equal", "power",
    "rad2deg", "real", "reciprocal", "right_shift", "round", "rsqrt", "sign", "signbit", "sin",
    "sinc", "sinh", "sqrt", "square", "subtract", "tan", "tanh", "true_divide", "trunc",
    "where",
]
