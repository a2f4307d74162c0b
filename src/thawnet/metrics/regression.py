"""Regression and loss-valued metrics: per-sample values averaged by Mean.

Each class averages the corresponding loss function of
:mod:`thawnet.losses.functions` over all samples seen (weighted by
``sample_weight``).
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.losses import functions as F
from thawnet.losses.base import match_rank
from thawnet.metrics.base import Mean, MeanMetricWrapper
from thawnet.backend.types import Array, Axis, DTypeLike, PyTree, TensorLike


class MeanSquaredError(MeanMetricWrapper):
    """Mean of ``mean((y_true - y_pred) ** 2, axis=-1)`` over samples.

    Args:
        name: defaults to ``"mean_squared_error"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "mean_squared_error", dtype: DTypeLike | None = None) -> None:
        super().__init__(F.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of ``mean(abs(y_true - y_pred), axis=-1)`` over samples.

    Args:
        name: defaults to ``"mean_absolute_error"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: DTypeLike | None = None) -> None:
        super().__init__(F.mean_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """``sqrt(sum(w * (y_true - y_pred) ** 2) / sum(w))`` over all entries.

    Args:
        name: defaults to ``"root_mean_squared_error"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: DTypeLike | None = None
            ) -> None:
        super().__init__(name=name, dtype=dtype)

    def update(self, state: PyTree, y_true: TensorLike, y_pred: TensorLike,
               sample_weight: TensorLike | None = None) -> PyTree:
        y_true = jnp.asarray(y_true, self.dtype)
        y_pred = jnp.asarray(y_pred, self.dtype)
        y_true, y_pred = match_rank(y_true, y_pred)
        squared = jnp.square(y_pred - y_true)
        return super().update(state, squared, sample_weight=sample_weight)

    def compute(self, state: PyTree) -> Array:
        return jnp.sqrt(super().compute(state))


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy over samples (see
    :func:`thawnet.losses.binary_crossentropy`).

    Args:
        name: defaults to ``"binary_crossentropy"``.
        dtype: defaults to float32.
        from_logits: whether predictions are logits.
        label_smoothing: float in [0, 1].
    """

    def __init__(self, name: str = "binary_crossentropy", dtype: DTypeLike | None = None,
                 from_logits: bool = False, label_smoothing: float = 0.0) -> None:
        super().__init__(F.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy over samples (see
    :func:`thawnet.losses.categorical_crossentropy`).

    Args:
        name: defaults to ``"categorical_crossentropy"``.
        dtype: defaults to float32.
        from_logits: whether predictions are logits.
        label_smoothing: float in [0, 1].
        axis: the class axis.
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype: DTypeLike | None = None,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: Axis = -1) -> None:
        super().__init__(F.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical crossentropy over samples (see
    :func:`thawnet.losses.sparse_categorical_crossentropy`).

    Args:
        name: defaults to ``"sparse_categorical_crossentropy"``.
        dtype: defaults to float32.
        from_logits: whether predictions are logits.
        axis: the class axis.
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy",
                 dtype: DTypeLike | None = None, from_logits: bool = False, axis: Axis = -1
            ) -> None:
        super().__init__(F.sparse_categorical_crossentropy, name=name,
                         dtype=dtype, from_logits=from_logits, axis=axis)


class KLDivergence(MeanMetricWrapper):
    """Mean KL divergence over samples (see
    :func:`thawnet.losses.kl_divergence`).

    Args:
        name: defaults to ``"kl_divergence"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "kl_divergence", dtype: DTypeLike | None = None) -> None:
        super().__init__(F.kl_divergence, name=name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    """Mean hinge loss over samples (see :func:`thawnet.losses.hinge`).

    Args:
        name: defaults to ``"hinge"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "hinge", dtype: DTypeLike | None = None) -> None:
        super().__init__(F.hinge, name=name, dtype=dtype)


def _cosine(y_true, y_pred, axis=-1):
    return -F.cosine_similarity(y_true, y_pred, axis=axis)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity ``sum(l2norm(y_true) * l2norm(y_pred))``.

    Unlike the loss of the same name, the value is positive for aligned
    vectors (1 = identical direction).

    Args:
        name: defaults to ``"cosine_similarity"``.
        dtype: defaults to float32.
        axis: the axis along which similarity is measured.
    """

    def __init__(self, name: str = "cosine_similarity", dtype: DTypeLike | None = None,
                 axis: Axis = -1) -> None:
        super().__init__(_cosine, name=name, dtype=dtype, axis=axis)
