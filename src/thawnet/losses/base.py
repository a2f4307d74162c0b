"""Loss base class, reductions and shape helpers.

Everything here is pure ``jax.numpy``: a loss object holds only static
configuration, so calling it inside ``jax.jit`` or ``jax.grad`` is safe.
"""

from __future__ import annotations

import re
from typing import Callable

import jax.numpy as jnp

from thawnet.backend.types import Array, Config, DTypeLike, TensorLike, TensorTree

REDUCTIONS = (
    "sum_over_batch_size",
    "sum",
    "mean",
    "mean_with_sample_weight",
    "none",
    None,
)


def to_snake_case(name):
    """Converts ``"CamelCase"`` to ``"camel_case"``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def standardize_reduction(reduction: str | None) -> Array:
    """Validates a reduction name and returns it unchanged.

    Raises:
        ValueError: if ``reduction`` is not one of ``REDUCTIONS``.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid reduction {reduction!r}. Expected one of {REDUCTIONS}."
        )
    return reduction


def match_rank(x1, x2, expand_rank_1=True):
    """Aligns the ranks of two arrays that differ by a trailing unit axis.

    If one array has exactly one more axis than the other and that axis has
    size 1, it is squeezed away; except that when the other array is rank 1
    (and ``expand_rank_1``), the rank-1 array gets a trailing axis instead.

    Args:
        x1: first array.
        x2: second array.
        expand_rank_1: whether to expand a rank-1 partner instead of
            squeezing.

    Returns:
        The pair ``(x1, x2)`` with ranks aligned where possible.
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def _broadcastable_weight(values, sample_weight):
    """Aligns ``sample_weight`` so that it broadcasts against ``values``."""
    values, sample_weight = match_rank(values, sample_weight)
    extra = values.ndim - sample_weight.ndim
    if extra > 0 and sample_weight.ndim > 0:
        # Per-sample weights for per-timestep losses: weight every trailing
        # position with its sample's weight.
        sample_weight = jnp.reshape(
            sample_weight, sample_weight.shape + (1,) * extra
        )
    return values, sample_weight


def reduce_weighted_values(values: TensorLike, sample_weight: TensorLike | None = None,
                           mask: TensorTree | None = None, reduction: str = "sum_over_batch_size"
        ) -> Array:
    """Weights per-sample losses and reduces them.

    ``loss_i' = loss_i * sample_weight_i`` (and zero where ``mask`` is False),
    then

    * ``"sum"``: ``sum(loss')``
    * ``"sum_over_batch_size"`` / ``"mean"``: ``sum(loss') / N`` where ``N``
      is the number of loss entries (the number of unmasked entries when a
      mask is present),
    * ``"mean_with_sample_weight"``: ``sum(loss') / sum(sample_weight)``,
    * ``"none"`` / ``None``: ``loss'`` unreduced.

    Divisions by zero give 0.

    Args:
        values: per-sample (or per-element) loss values.
        sample_weight: optional weights broadcastable to ``values``.
        mask: optional boolean array of the shape of ``values``.
        reduction: one of ``REDUCTIONS``.

    Returns:
        The reduced loss (a scalar unless ``reduction`` is ``"none"``).
    """
    reduction = standardize_reduction(reduction)
    dtype = values.dtype
    if mask is not None:
        mask = mask.astype(dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            # Valid entries weigh total/valid so that dividing by the full
            # size below yields an average over valid entries only.
            valid = jnp.sum(mask)
            scale = jnp.where(valid > 0, mask.size / jnp.maximum(valid, 1), 0)
            mask = mask * scale
        if sample_weight is None:
            sample_weight = mask
        else:
            sample_weight = jnp.asarray(sample_weight, dtype)
            mask, sample_weight = _broadcastable_weight(mask, sample_weight)
            sample_weight = sample_weight * mask
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight, dtype)
        values, sample_weight = _broadcastable_weight(values, sample_weight)
        values = values * sample_weight
    if reduction in (None, "none") or values.ndim == 0 or values.size == 0:
        return values
    total = jnp.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = jnp.sum(sample_weight)
    else:
        divisor = jnp.asarray(values.size, dtype)
    return jnp.where(divisor != 0, total / jnp.where(divisor != 0, divisor, 1), 0)


class Loss:
    """Base class of losses.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample loss
    values; ``__call__`` weights and reduces them.

    Args:
        name: name of the loss (used in logs and configs).
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"``,
            ``"mean"``, ``"mean_with_sample_weight"`` or ``"none"``/``None``;
            see :func:`reduce_weighted_values`.
        dtype: dtype the inputs are cast to; defaults to ``"float32"``.
    """

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size",
                 dtype: DTypeLike | None = None) -> None:
        self.name = name or to_snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = dtype or "float32"

    def __call__(self, y_true: TensorLike, y_pred: TensorLike,
                 sample_weight: TensorLike | None = None) -> Array:
        """Computes the reduced loss.

        Args:
            y_true: targets.
            y_pred: predictions.
            sample_weight: optional per-sample weights.

        Returns:
            A scalar (or unreduced values for reduction ``"none"``).
        """
        y_true = jnp.asarray(y_true, self.dtype)
        y_pred = jnp.asarray(y_pred, self.dtype)
        values = self.call(y_true, y_pred)
        mask = self.loss_mask(y_true, y_pred)
        return reduce_weighted_values(
            values, sample_weight, mask=mask, reduction=self.reduction
        )

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> TensorTree:
        """Returns the per-sample loss values; implemented by subclasses."""
        raise NotImplementedError

    def loss_mask(self, y_true: TensorLike, y_pred: TensorLike) -> Array | None:
        """Boolean mask of the loss entries to keep, or ``None`` (all)."""
        return None

    def get_config(self) -> Config:
        """Returns the constructor arguments as a dict."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: Config) -> Loss:
        """Builds a loss from the output of ``get_config``."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class LossFunctionWrapper(Loss):
    """Turns a per-sample loss function into a :class:`Loss`.

    Before ``fn`` is called, ``y_true`` and ``y_pred`` ranks are aligned with
    :func:`match_rank`.

    Args:
        fn: callable ``fn(y_true, y_pred, **kwargs)`` returning per-sample
            losses.
        reduction: see :class:`Loss`.
        name: name of the loss; defaults to ``fn.__name__``.
        dtype: see :class:`Loss`.
        **kwargs: extra keyword arguments passed on to ``fn``.
    """

    def __init__(self, fn: Callable, reduction: str = "sum_over_batch_size",
                 name: str | None = None, dtype: DTypeLike | None = None, **kwargs) -> None:
        name = name or getattr(fn, "__name__", None) or "loss"
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true: TensorLike, y_pred: TensorLike) -> TensorTree:
        y_true, y_pred = match_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> Config:
        return {**super().get_config(), **self.fn_kwargs}

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn!r}, kwargs={self.fn_kwargs})>"
