"""Activation functions by Keras name: every function of Keras 3.15's ``keras.activations``.

Each takes the same arguments, with the same defaults, as its Keras namesake; ``get`` resolves
names (and the aliases ``swish`` and ``hard_swish``), ``serialize`` writes the canonical name.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from thawnet.backend import registry
from thawnet.backend.identifiers import IdentifierKind
from thawnet.backend.types import Array, Axis, Identifier, TensorLike


def linear(x: TensorLike) -> Array:
    return x


def relu(x: TensorLike, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Array:
    """Keras's relu: ``x`` where ``x > threshold`` (else 0), clipped to ``[0, max_value]``,
    minus ``negative_slope * relu(threshold - x)``."""
    if threshold:
        out = jnp.where(x > threshold, x, jnp.zeros_like(x))
    else:
        out = jax.nn.relu(x)
    if max_value is not None:
        out = jnp.clip(out, 0.0, max_value)
    if negative_slope:
        out = out - negative_slope * jax.nn.relu(threshold - x)
    return out


def relu6(x: TensorLike) -> Array:
    return jnp.clip(x, 0.0, 6.0)


def sigmoid(x: TensorLike) -> Array:
    return jax.nn.sigmoid(x)


def tanh(x: TensorLike) -> Array:
    return jnp.tanh(x)


def softmax(x: TensorLike, axis: Axis = -1) -> Array:
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x: TensorLike, axis: Axis = -1) -> Array:
    return jax.nn.log_softmax(x, axis=axis)


def gelu(x: TensorLike, approximate: bool = False) -> Array:
    return jax.nn.gelu(x, approximate=approximate)


def silu(x: TensorLike) -> Array:
    return jax.nn.silu(x)


swish = silu


def elu(x: TensorLike, alpha: float = 1.0) -> Array:
    return jax.nn.elu(x, alpha)


def selu(x: TensorLike) -> Array:
    return jax.nn.selu(x)


def softplus(x: TensorLike) -> Array:
    return jax.nn.softplus(x)


def softsign(x: TensorLike) -> Array:
    return jax.nn.soft_sign(x)


def leaky_relu(x: TensorLike, negative_slope: float = 0.2) -> Array:
    return jax.nn.leaky_relu(x, negative_slope)


def hard_sigmoid(x: TensorLike) -> Array:
    return jax.nn.hard_sigmoid(x)


def exponential(x: TensorLike) -> Array:
    return jnp.exp(x)


def celu(x: TensorLike, alpha: float = 1.0) -> Array:
    """Continuously differentiable ELU: ``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return jax.nn.celu(x, alpha)


def glu(x: TensorLike, axis: Axis = -1) -> Array:
    """Gated linear unit: split ``x`` in halves ``a, b`` along ``axis``; ``a * sigmoid(b)``."""
    if x.shape[axis] is not None and x.shape[axis] % 2:
        raise ValueError(f"glu: the size of axis {axis} must be even (it is split into a value "
                         f"half and a gate half); received shape {tuple(x.shape)}.")
    a, b = jnp.split(x, 2, axis=axis)
    return a * jax.nn.sigmoid(b)


def hard_silu(x: TensorLike) -> Array:
    """``x * relu6(x + 3) / 6`` (MobileNetV3's hard swish)."""
    return x * jax.nn.hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x: TensorLike) -> Array:
    """``clip(x, -1, 1)``."""
    return jnp.clip(x, -1.0, 1.0)


def hard_shrink(x: TensorLike, threshold: float = 0.5) -> Array:
    """``x`` where ``|x| > threshold``, else 0."""
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


def soft_shrink(x: TensorLike, threshold: float = 0.5) -> Array:
    """``x`` moved towards 0 by ``threshold``; 0 inside ``[-threshold, threshold]``."""
    return jnp.sign(x) * jnp.maximum(jnp.abs(x) - threshold, 0.0)


def tanh_shrink(x: TensorLike) -> Array:
    """``x - tanh(x)``."""
    return x - jnp.tanh(x)


def threshold(x: TensorLike, threshold: float, default_value: Any) -> Array:
    """``x`` where ``x > threshold``, else ``default_value`` (both required, as in Keras)."""
    return jnp.where(x > threshold, x, jnp.asarray(default_value, x.dtype))


def log_sigmoid(x: TensorLike) -> Array:
    """``log(sigmoid(x))``, computed stably as ``-softplus(-x)``."""
    return jax.nn.log_sigmoid(x)


def mish(x: TensorLike) -> Array:
    """``x * tanh(softplus(x))``."""
    return x * jnp.tanh(jax.nn.softplus(x))


def squareplus(x: TensorLike, b: TensorLike = 4) -> Array:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth relu."""
    return (x + jnp.sqrt(jnp.square(x) + b)) / 2


def sparse_plus(x: TensorLike) -> Array:
    """0 below -1, ``x`` above 1, ``(x + 1)**2 / 4`` in between."""
    return jnp.where(x <= -1.0, jnp.zeros_like(x),
                     jnp.where(x >= 1.0, x, jnp.square(x + 1.0) / 4.0))


def sparse_sigmoid(x: TensorLike) -> Array:
    """0 below -1, 1 above 1, ``(x + 1) / 2`` in between."""
    return jnp.clip((x + 1.0) / 2.0, 0.0, 1.0)


def sparsemax(x: TensorLike, axis: Axis = -1) -> Array:
    """Euclidean projection of ``x`` onto the probability simplex along ``axis``.

    The output is ``max(x - tau, 0)``, where ``tau`` is chosen so the entries sum to 1; unlike
    softmax, small entries become exactly 0.
    """
    z = -jnp.sort(-x, axis=axis)  # descending along axis
    shape = [1] * x.ndim
    shape[axis] = -1
    k = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    cumulative = jnp.cumsum(z, axis=axis)
    # z_k belongs to the support while 1 + k * z_k exceeds the sum of the k largest entries.
    support = 1.0 + k * z > cumulative
    size = jnp.sum(support, axis=axis, keepdims=True)
    tau = (jnp.sum(jnp.where(support, z, 0.0), axis=axis, keepdims=True) - 1.0) / size
    return jnp.maximum(x - tau, 0.0)


_BY_NAME = {
    "linear": linear, "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "tanh": tanh,
    "softmax": softmax, "log_softmax": log_softmax, "gelu": gelu, "silu": silu, "swish": silu,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign,
    "leaky_relu": leaky_relu, "hard_sigmoid": hard_sigmoid, "exponential": exponential,
    "celu": celu, "glu": glu, "hard_silu": hard_silu, "hard_swish": hard_silu,
    "hard_tanh": hard_tanh, "hard_shrink": hard_shrink, "soft_shrink": soft_shrink,
    "tanh_shrink": tanh_shrink, "threshold": threshold, "log_sigmoid": log_sigmoid,
    "mish": mish, "squareplus": squareplus, "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid, "sparsemax": sparsemax,
}

# Names that resolve to the same function as another name; serialisation writes the canonical
# one, as Keras does ("swish" -> "silu", "hard_swish" -> "hard_silu").
_ALIASES = {"swish", "hard_swish"}


_KIND = IdentifierKind("activation", by_name=lambda name: _BY_NAME.get(name),
                       class_named=lambda name: None, known=lambda: _BY_NAME, none=linear)


def get(identifier: Identifier, who: str = "activation") -> Callable:
    """Resolve ``None`` (linear), a name or a callable; ``who`` names the caller in errors."""
    return _KIND.get(identifier, f"{who}: ")


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Callable:
    """The activation function a config dict ``{"class_name": ..., "config": {...}}`` describes, resolved
    as :func:`get` resolves one (``custom_objects`` first)."""
    return _KIND.deserialize(config, custom_objects=custom_objects)


def serialize(fn: Callable) -> Array:
    for name, f in _BY_NAME.items():
        if f is fn and name not in _ALIASES:
            return name
    name = getattr(fn, "__name__", None)
    if name in _BY_NAME:
        return name
    if registry.registered_name(fn) in registry.CUSTOM_OBJECTS:
        return registry.registered_name(fn)
    raise ValueError(f"Cannot serialize activation {fn!r}: only thawnet's named activations and "
                     "functions registered with @thawnet.saving.register_keras_serializable() "
                     "are serializable.")
