"""What BatchNormalization and LayerNormalization share: their argument checks and the dtype
their statistics are computed in (at least float32, so half-precision inputs are upcast)."""

from __future__ import annotations

import numbers

import jax.numpy as jnp
import numpy as np

from thawnet import constraints, initializers, regularizers
from thawnet.backend.types import Config, TensorLike


def is_int(value: object) -> bool:
    """An int that is not a bool (axes, group counts)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_epsilon(who: str, epsilon: float) -> float:
    """``epsilon`` as a float if it is a number >= 0, else a ValueError naming ``who``."""
    if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or epsilon < 0:
        raise ValueError(f"{who}: epsilon must be a non-negative number; received "
                         f"epsilon={epsilon!r}.")
    return float(epsilon)


def compute_dtype_of(x: TensorLike) -> np.dtype:
    """The dtype statistics are computed in: at least float32."""
    return jnp.result_type(x.dtype, jnp.float32)


__all__ = ["check_epsilon", "compute_dtype_of", "is_int"]


def gamma_beta_config(layer: object) -> Config:
    """The config entries of a normalization's gamma and beta (initializer, regularizer and
    constraint of each), in Keras's order."""
    return {"beta_initializer": initializers.serialize(layer.beta_initializer),
            "gamma_initializer": initializers.serialize(layer.gamma_initializer),
            "beta_regularizer": regularizers.serialize(layer.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(layer.gamma_regularizer),
            "beta_constraint": constraints.serialize(layer.beta_constraint),
            "gamma_constraint": constraints.serialize(layer.gamma_constraint)}
