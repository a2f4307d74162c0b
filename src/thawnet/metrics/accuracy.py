"""Accuracy metrics: per-sample 0/1 matches averaged with :class:`Mean`.

Each ``*_accuracy`` function returns 1.0 where a sample is right, else 0.0;
the classes average it over all samples seen (weighted by
``sample_weight``). Shape handling follows Keras.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.losses.base import match_rank
from thawnet.metrics.base import MeanMetricWrapper
from thawnet.backend.types import Array, DTypeLike, TensorLike


def accuracy(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """Exact equality: ``y_true == y_pred``.

    Args:
        y_true: targets.
        y_pred: predictions.

    Returns:
        float32 array of 1.0 (right) / 0.0 (wrong), one value per sample.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    y_true, y_pred = match_rank(y_true, y_pred)
    return (y_true == y_pred).astype(jnp.float32)


def binary_accuracy(y_true: TensorLike, y_pred: TensorLike, threshold: float = 0.5) -> Array:
    """Thresholded match: ``y_true == (y_pred > threshold)``.

    Args:
        y_true: targets.
        y_pred: predictions.
        threshold: decision threshold on ``y_pred``.

    Returns:
        float32 array of 1.0 (right) / 0.0 (wrong), one value per sample.
    """
    y_true, y_pred = match_rank(jnp.asarray(y_true), jnp.asarray(y_pred))
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == y_pred).astype(jnp.float32)


def categorical_accuracy(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """Arg-max match for one-hot targets: ``argmax(y_true) == argmax(y_pred)``.

    ``y_true`` may also hold class indices with a trailing axis of size 1
    (``y_true.ndim == y_pred.ndim``), as Keras allows.

    Args:
        y_true: targets.
        y_pred: predictions.

    Returns:
        float32 array of 1.0 (right) / 0.0 (wrong), one value per sample.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.argmax(jnp.asarray(y_true), axis=-1)
    if y_true.ndim == y_pred.ndim:
        y_true = jnp.squeeze(y_true, -1)
    return (y_true == jnp.argmax(y_pred, axis=-1)).astype(jnp.float32)


def sparse_categorical_accuracy(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """Arg-max match for integer targets: ``y_true == argmax(y_pred)``.

    Args:
        y_true: targets.
        y_pred: predictions.

    Returns:
        float32 array of 1.0 (right) / 0.0 (wrong), one value per sample.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true)
    original_shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if reshape:
        y_true = jnp.squeeze(y_true, -1)
    predicted = jnp.argmax(y_pred, axis=-1)
    matches = (y_true.astype(y_pred.dtype) == predicted.astype(y_pred.dtype))
    matches = matches.astype(jnp.float32)
    if reshape:
        matches = jnp.reshape(matches, original_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def _in_top_k(targets, predictions, k):
    """Whether ``predictions[i, targets[i]]`` ranks among the top ``k``.

    The rank is ``1 + #(entries strictly greater)``, so ties count in the
    target's favour; a NaN prediction never counts as large.
    """
    at_label = jnp.take_along_axis(
        predictions, targets[:, None].astype(jnp.int32), axis=-1
    )
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def sparse_top_k_categorical_accuracy(y_true: TensorLike, y_pred: TensorLike, k: int = 5) -> Array:
    """Whether the integer target is among the ``k`` largest predictions.

    Args:
        y_true: targets.
        y_pred: predictions.
        k: number of top predictions considered.

    Returns:
        float32 array of 1.0 (right) / 0.0 (wrong), one value per sample.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(jnp.int32)
    original_shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = jnp.reshape(y_pred, (-1, y_pred.shape[-1]))
    flat_true = jnp.reshape(y_true, (-1,))
    matches = _in_top_k(flat_true, y_pred, k).astype(jnp.float32)
    if y_true.ndim > 1:
        matches = jnp.reshape(matches, original_shape)
    return matches


def top_k_categorical_accuracy(y_true: TensorLike, y_pred: TensorLike, k: int = 5) -> Array:
    """Whether ``argmax(y_true)`` is among the ``k`` largest predictions.

    Args:
        y_true: targets.
        y_pred: predictions.
        k: number of top predictions considered.

    Returns:
        float32 array of 1.0 (right) / 0.0 (wrong), one value per sample.
    """
    labels = jnp.argmax(jnp.asarray(y_true), axis=-1)
    return sparse_top_k_categorical_accuracy(labels, y_pred, k=k)


class Accuracy(MeanMetricWrapper):
    """Fraction of predictions exactly equal to the targets.

    Args:
        name: defaults to ``"accuracy"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "accuracy", dtype: DTypeLike | None = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """Fraction of samples with ``(y_pred > threshold) == y_true``.

    Args:
        name: defaults to ``"binary_accuracy"``.
        dtype: defaults to float32.
        threshold: decision threshold on ``y_pred`` (default 0.5).
    """

    def __init__(self, name: str = "binary_accuracy", dtype: DTypeLike | None = None,
                 threshold: float = 0.5) -> None:
        super().__init__(
            binary_accuracy, name=name, dtype=dtype, threshold=threshold
        )
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples with ``argmax(y_pred) == argmax(y_true)``.

    Args:
        name: defaults to ``"categorical_accuracy"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: DTypeLike | None = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples with ``argmax(y_pred) == y_true`` (integer ids).

    Args:
        name: defaults to ``"sparse_categorical_accuracy"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: DTypeLike | None = None
            ) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose one-hot target is in the top ``k``.

    Args:
        k: number of top predictions considered (default 5).
        name: defaults to ``"top_k_categorical_accuracy"``.
        dtype: defaults to float32.
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype,
                         k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose integer target is in the top ``k``.

    Args:
        k: number of top predictions considered (default 5).
        name: defaults to ``"sparse_top_k_categorical_accuracy"``.
        dtype: defaults to float32.
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name,
                         dtype=dtype, k=k)
        self.k = k


def _auto_accuracy(y_true, y_pred):
    # Keras 3's choice for "accuracy", made from the (static) shapes.
    y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
    if y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


class AutoAccuracy(MeanMetricWrapper):
    """``"accuracy"`` when the loss does not tell which one is meant.

    Picks, per batch from the static shapes (as Keras 3's ``compile`` does):
    binary accuracy if ``y_pred.shape[-1] == 1``; sparse categorical if
    ``y_true`` has fewer axes than ``y_pred`` or a last axis of 1;
    categorical otherwise. All three share the same state.

    Args:
        name: defaults to ``"accuracy"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "accuracy", dtype: DTypeLike | None = None) -> None:
        super().__init__(_auto_accuracy, name=name, dtype=dtype)
