"""Thresholded confusion counts, and the Precision and Recall metrics.

A prediction counts as positive at threshold ``t`` when ``y_pred > t``; a
label is positive when it is non-zero. Counts are weighted by
``sample_weight``. For evenly spaced thresholds (AUC) the counts are built in
O(N + T) with a bucketed cumulative sum, as Keras does, so the two agree at
the bucket edges too.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.losses.base import match_rank
from thawnet.metrics.base import Metric, divide_no_nan
from thawnet.backend.types import Array, Config, DTypeLike, PyTree, TensorLike

NEG_INF = -1e10


def evenly_distributed(thresholds):
    """Whether ``thresholds`` are ``[0, 1/(n-1), ..., 1]`` (n >= 3)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=1e-7))


def _keep_top_k(x, k):
    """Keeps the ``k`` largest entries of the last axis, others -> NEG_INF."""
    _, idx = jax.lax.top_k(x, k)
    keep = jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * keep + NEG_INF * (1 - keep)


def _prepare(y_true, y_pred, sample_weight, top_k, class_id, dtype):
    y_true = jnp.asarray(y_true).astype(dtype)
    y_pred = jnp.asarray(y_pred).astype(dtype)
    y_pred, y_true = match_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(jnp.asarray(sample_weight, dtype), -1)
        _, sample_weight = match_rank(y_true, sample_weight,
                                      expand_rank_1=False)
    if top_k is not None:
        y_pred = _keep_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                "With class_id, y_pred must have shape (samples, classes); "
                f"got {y_pred.shape}."
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    return y_true, y_pred, sample_weight


def _bucketed_counts(y_true, y_pred, weights, num_thresholds, with_epsilon,
                     multi_label):
    """TP/FP per threshold for evenly spaced thresholds, via bucket sums.

    A prediction ``p`` falls in bucket ``ceil(p * (T - 1)) - 1`` (clamped at 0
    when the end thresholds are widened by epsilon); the count at threshold
    ``i`` is the sum of buckets ``>= i`` (a reversed cumulative sum).
    """
    y_pred = jnp.clip(y_pred, 0.0, 1.0)
    y_true = (y_true != 0).astype(y_pred.dtype)
    weights = jnp.broadcast_to(weights, y_true.shape)
    if not multi_label:
        y_true, y_pred = jnp.ravel(y_true), jnp.ravel(y_pred)
        weights = jnp.ravel(weights)
    positives = y_true * weights
    negatives = (1.0 - y_true) * weights
    buckets = jnp.ceil(y_pred * (num_thresholds - 1)) - 1
    if with_epsilon:
        buckets = jnp.maximum(buckets, 0)
    buckets = buckets.astype(jnp.int32)

    def rev_cumsum(data, ids):
        sums = jax.ops.segment_sum(data, ids, num_segments=num_thresholds)
        return jnp.flip(jnp.cumsum(jnp.flip(sums)))

    if multi_label:  # one column per label: (T, L)
        per_label = jax.vmap(rev_cumsum, in_axes=(1, 1), out_axes=1)
        tp, fp = per_label(positives, buckets), per_label(negatives, buckets)
        total_pos, total_neg = positives.sum(0), negatives.sum(0)
    else:
        tp, fp = rev_cumsum(positives, buckets), rev_cumsum(negatives, buckets)
        total_pos, total_neg = positives.sum(), negatives.sum()
    return tp, fp, total_pos - tp, total_neg - fp


def confusion_counts(
    y_true: TensorLike,
    y_pred: TensorLike,
    thresholds: float | Sequence[float] | None,
    sample_weight: TensorLike | None = None,
    top_k: int | None = None,
    class_id: int | None = None,
    multi_label: bool = False,
    label_weights: TensorLike | None = None,
    thresholds_distributed_evenly: bool = False,
    dtype: DTypeLike | None = "float32",
) -> dict[str, Any]:
    """Weighted true/false positive/negative counts at each threshold.

    Args:
        y_true: labels (non-zero means positive), shape of ``y_pred``.
        y_pred: scores, expected in [0, 1].
        thresholds: sequence of ``T`` thresholds.
        sample_weight: optional weights broadcastable to ``y_true``.
        top_k: keep only the ``k`` highest scores of the last axis positive.
        class_id: restrict to this column of the last axis.
        multi_label: keep the last axis separate (counts of shape ``(T, L)``)
            instead of flattening everything.
        label_weights: optional per-label weights (not with multi_label).
        thresholds_distributed_evenly: use the bucketed O(N + T) method; the
            thresholds must then be evenly spaced over [0, 1], possibly with
            the end points pushed out by an epsilon.
        dtype: dtype of the counts.

    Returns:
        dict with ``"tp"``, ``"fp"``, ``"tn"``, ``"fn"``, each ``(T,)`` (or
        ``(T, L)`` if ``multi_label``).
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    y_true, y_pred, sample_weight = _prepare(
        y_true, y_pred, sample_weight, top_k, class_id, dtype
    )
    weights = jnp.ones((), dtype)
    if sample_weight is not None:
        weights = jnp.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None:
        weights = weights * jnp.broadcast_to(
            jnp.asarray(label_weights, dtype), y_pred.shape
        )
    if thresholds_distributed_evenly:
        with_epsilon = bool(thresholds[0] < 0.0 or thresholds[-1] > 1.0)
        tp, fp, fn, tn = _bucketed_counts(
            y_true, y_pred, weights, len(thresholds), with_epsilon,
            multi_label,
        )
        return {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    t = jnp.asarray(thresholds, dtype)
    if multi_label:  # (T, N, L)
        pred_pos = y_pred[None] > t[:, None, None]
        label_pos = jnp.broadcast_to((y_true != 0)[None], pred_pos.shape)
        weights = jnp.broadcast_to(weights, y_pred.shape)[None]
    else:  # (T, N * L)
        pred_pos = jnp.ravel(y_pred)[None, :] > t[:, None]
        label_pos = jnp.broadcast_to(jnp.ravel(y_true != 0)[None, :],
                                     pred_pos.shape)
        weights = jnp.ravel(jnp.broadcast_to(weights, y_pred.shape))[None, :]

    def count(label, pred):
        return jnp.sum(jnp.where(label & pred, weights, 0).astype(dtype),
                       axis=1)

    return {
        "tp": count(label_pos, pred_pos),
        "fp": count(~label_pos, pred_pos),
        "tn": count(~label_pos, ~pred_pos),
        "fn": count(label_pos, ~pred_pos),
    }


def _parse_thresholds(thresholds, top_k):
    default = 0.5 if top_k is None else NEG_INF
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) \
        else [thresholds]
    bad = [v for v in values if v is None or v < 0 or v > 1]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Got {bad}.")
    return [float(v) for v in values]


class _ThresholdMetric(Metric):
    """Shared code of Precision and Recall."""

    _counts = ()

    def __init__(self, thresholds: float | Sequence[float] | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, top_k)
        self._evenly = evenly_distributed(self.thresholds)

    def init_state(self) -> PyTree:
        shape = (len(self.thresholds),)
        return {k: jnp.zeros(shape, self.dtype) for k in self._counts}

    def update(self, state: PyTree, y_true: TensorLike, y_pred: TensorLike,
               sample_weight: TensorLike | None = None) -> PyTree:
        counts = confusion_counts(
            y_true, y_pred, self.thresholds, sample_weight=sample_weight,
            top_k=self.top_k, class_id=self.class_id,
            thresholds_distributed_evenly=self._evenly, dtype=self.dtype,
        )
        return {k: state[k] + counts[k] for k in self._counts}

    def _ratio(self, num, other):
        value = divide_no_nan(num, num + other)
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> Config:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_ThresholdMetric):
    """Precision ``tp / (tp + fp)`` at each threshold.

    Args:
        thresholds: float or list of floats in [0, 1]; a prediction is
            positive when ``y_pred > threshold``. Default 0.5 (or "any score"
            when ``top_k`` is set).
        top_k: only the ``k`` highest scores per sample count as positive.
        class_id: compute the metric for this class (column) only.
        name: defaults to ``"precision"``.
        dtype: defaults to float32.

    ``compute`` returns a scalar for one threshold, else one value per
    threshold.
    """

    _counts = ("tp", "fp")

    def compute(self, state: PyTree) -> Array:
        return self._ratio(state["tp"], state["fp"])


class Recall(_ThresholdMetric):
    """Recall ``tp / (tp + fn)`` at each threshold.

    Args:
        thresholds: float or list of floats in [0, 1]; a prediction is
            positive when ``y_pred > threshold``. Default 0.5 (or "any score"
            when ``top_k`` is set).
        top_k: only the ``k`` highest scores per sample count as positive.
        class_id: compute the metric for this class (column) only.
        name: defaults to ``"recall"``.
        dtype: defaults to float32.

    ``compute`` returns a scalar for one threshold, else one value per
    threshold.
    """

    _counts = ("tp", "fn")

    def compute(self, state: PyTree) -> Array:
        return self._ratio(state["tp"], state["fn"])


__all__ = ["confusion_counts", "evenly_distributed", "Precision", "Recall"]
