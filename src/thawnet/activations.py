"""Activation functions by Keras name."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.backend import registry
from thawnet.backend.identifiers import IdentifierKind


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
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


def relu6(x):
    return jnp.clip(x, 0.0, 6.0)


def sigmoid(x):
    return jax.nn.sigmoid(x)


def tanh(x):
    return jnp.tanh(x)


def softmax(x, axis=-1):
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(x, axis=axis)


def gelu(x, approximate=False):
    return jax.nn.gelu(x, approximate=approximate)


def silu(x):
    return jax.nn.silu(x)


def elu(x, alpha=1.0):
    return jax.nn.elu(x, alpha)


def selu(x):
    return jax.nn.selu(x)


def softplus(x):
    return jax.nn.softplus(x)


def softsign(x):
    return jax.nn.soft_sign(x)


def leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(x, negative_slope)


def hard_sigmoid(x):
    return jax.nn.hard_sigmoid(x)


def exponential(x):
    return jnp.exp(x)


_BY_NAME = {
    "linear": linear, "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "tanh": tanh,
    "softmax": softmax, "log_softmax": log_softmax, "gelu": gelu, "silu": silu, "swish": silu,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign,
    "leaky_relu": leaky_relu, "hard_sigmoid": hard_sigmoid, "exponential": exponential,
}


_KIND = IdentifierKind("activation", by_name=lambda name: _BY_NAME.get(name),
                       class_named=lambda name: None, known=lambda: _BY_NAME, none=linear)


def get(identifier, who: str = "activation"):
    """Resolve ``None`` (linear), a name or a callable; ``who`` names the caller in errors."""
    return _KIND.get(identifier, f"{who}: ")


def serialize(fn):
    for name, f in _BY_NAME.items():
        if f is fn and name != "swish":
            return name
    name = getattr(fn, "__name__", None)
    if name in _BY_NAME:
        return name
    if registry.registered_name(fn) in registry.CUSTOM_OBJECTS:
        return registry.registered_name(fn)
    raise ValueError(f"Cannot serialize activation {fn!r}: only thawnet's named activations and "
                     "functions registered with @thawnet.saving.register_keras_serializable() "
                     "are serializable.")
