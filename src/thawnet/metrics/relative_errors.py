"""Relative regression metrics: mean absolute percentage error and mean squared logarithmic
error (Keras 3's ``MeanAbsolutePercentageError``, ``MeanSquaredLogarithmicError``).

Both compare values on a relative scale, so a target near zero is guarded by the backend's
epsilon (``thawnet.config.epsilon()``, 1e-7 by default) as in Keras.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.backend.global_config import epsilon
from thawnet.losses.base import match_rank
from thawnet.metrics.base import MeanMetricWrapper
from thawnet.backend.types import Array, DTypeLike, TensorLike


def _pair(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.float32)
    return match_rank(jnp.asarray(y_true).astype(y_pred.dtype), y_pred)


def mean_absolute_percentage_error(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """``100 * mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)``, one value per sample.

    >>> float(mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 5.0]])[0])
    37.5
    """
    y_true, y_pred = _pair(y_true, y_pred)
    scale = jnp.maximum(jnp.abs(y_true), epsilon())
    return 100.0 * jnp.mean(jnp.abs((y_true - y_pred) / scale), axis=-1)


def mean_squared_logarithmic_error(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """``mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps))) ** 2, axis=-1)``."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = jnp.log1p(jnp.maximum(y_pred, epsilon()))
    second = jnp.log1p(jnp.maximum(y_true, epsilon()))
    return jnp.mean(jnp.square(first - second), axis=-1)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean over samples of :func:`mean_absolute_percentage_error`.

    Args:
        name: defaults to ``"mean_absolute_percentage_error"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: DTypeLike | None = None
            ) -> None:
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean over samples of :func:`mean_squared_logarithmic_error`.

    Args:
        name: defaults to ``"mean_squared_logarithmic_error"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: DTypeLike | None = None
            ) -> None:
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


__all__ = ["MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
           "mean_absolute_percentage_error", "mean_squared_logarithmic_error"]
