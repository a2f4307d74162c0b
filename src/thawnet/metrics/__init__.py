"""Metrics with a functional, jit-friendly state and the Keras object API.

Functional use (e.g. inside a jitted train step)::

    state = metric.init_state()                      # pytree of jnp arrays
    state = metric.update(state, y_true, y_pred, sample_weight)
    value = metric.compute(state)

Eager use, as in Keras: ``metric.update_state(y_true, y_pred)``,
``metric.result()``, ``metric.reset_state()``. :class:`Mean` and
:class:`Sum` take ``(values, sample_weight=None)`` instead of
``(y_true, y_pred, sample_weight=None)``.
"""

from __future__ import annotations

from typing import Any

from thawnet import losses as _losses
# Keras 3 exposes the per-sample functions under keras.metrics too (the same objects).
from thawnet.losses import hinge, kl_divergence, mean_absolute_error, mean_squared_error
from thawnet.backend.identifiers import IdentifierKind
from thawnet.metrics.accuracy import (
    Accuracy,
    AutoAccuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from thawnet.metrics.auc import AUC
from thawnet.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from thawnet.metrics.compile_metrics import CompileMetrics
from thawnet.metrics.confusion import Precision, Recall, confusion_counts
from thawnet.metrics.f_score import F1Score, FBetaScore
from thawnet.metrics.relative_errors import (
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
)
from thawnet.metrics.regression import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
)
from thawnet.backend.types import Identifier

_CLASSES = (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, Precision, Recall,
    AUC, MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError, Mean, Sum,
    BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Hinge, CosineSimilarity,
    F1Score, FBetaScore, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
)
_SNAKE = {
    "Accuracy": "accuracy",
    "BinaryAccuracy": "binary_accuracy",
    "CategoricalAccuracy": "categorical_accuracy",
    "SparseCategoricalAccuracy": "sparse_categorical_accuracy",
    "TopKCategoricalAccuracy": "top_k_categorical_accuracy",
    "SparseTopKCategoricalAccuracy": "sparse_top_k_categorical_accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "AUC": "auc",
    "MeanAbsoluteError": "mean_absolute_error",
    "MeanSquaredError": "mean_squared_error",
    "RootMeanSquaredError": "root_mean_squared_error",
    "Mean": "mean",
    "Sum": "sum",
    "BinaryCrossentropy": "binary_crossentropy",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "KLDivergence": "kl_divergence",
    "Hinge": "hinge",
    "CosineSimilarity": "cosine_similarity",
    "F1Score": "f1_score",
    "FBetaScore": "fbeta_score",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error",
}
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({_SNAKE[cls.__name__]: cls for cls in _CLASSES})
_BY_NAME.update({
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "rmse": RootMeanSquaredError,
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "kld": KLDivergence, "KLD": KLDivergence,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
})


def valid_names() -> list[str]:
    """Returns the sorted list of metric names accepted by :func:`get`."""
    return sorted(set(_BY_NAME) | {"acc"})


def _accuracy_for_loss(loss):
    """The accuracy class implied by a loss identifier, or ``None``."""
    if loss is None:
        return None
    try:
        loss = _losses.get(loss)
    except ValueError:
        return None
    fn = getattr(loss, "fn", None)
    if isinstance(loss, _losses.SparseCategoricalCrossentropy) or (
        fn is _losses.sparse_categorical_crossentropy
    ):
        return SparseCategoricalAccuracy
    if isinstance(loss, _losses.CategoricalCrossentropy) or (
        fn is _losses.categorical_crossentropy
    ):
        return CategoricalAccuracy
    if isinstance(loss, _losses.BinaryCrossentropy) or (
        fn is _losses.binary_crossentropy
    ):
        return BinaryAccuracy
    return None


def _metric_named(identifier):
    cls = _BY_NAME.get(identifier)
    return cls(name=identifier) if cls is not None else None  # logged under the name given


_KIND = IdentifierKind("metric", by_name=_metric_named, class_named=_BY_NAME.get,
                       known=valid_names, base=(Metric,), wrap=MeanMetricWrapper)


def get(identifier: Identifier, loss: Identifier = None) -> Metric | None:
    """Resolves a metric identifier to a :class:`Metric` object.

    Args:
        identifier: one of

            * a name: a class name (``"AUC"``), its snake-case form
              (``"auc"``, ``"top_k_categorical_accuracy"``) or an alias
              (``"mse"``, ``"mae"``, ``"rmse"``, ``"bce"``, ``"kld"``). The
              metric is named after the identifier, as in Keras's
              ``compile`` (``"mse"`` is logged as ``"mse"``).
            * ``"accuracy"``/``"acc"`` (any case): resolved from ``loss``
              -- sparse categorical crossentropy -> SparseCategoricalAccuracy,
              categorical crossentropy -> CategoricalAccuracy, binary
              crossentropy -> BinaryAccuracy; for other or no losses,
              :class:`AutoAccuracy`, which picks per batch from the shapes
              like Keras 3. The name stays the identifier.
            * a dict ``{"class_name": ..., "config": {...}}``;
            * a :class:`Metric` instance (returned as is) or subclass
              (instantiated with defaults);
            * any other callable ``fn(y_true, y_pred)`` -> per-sample values,
              wrapped in :class:`MeanMetricWrapper`.
        loss: the model's loss (name, Loss object or function), used only
            for ``"accuracy"``/``"acc"``.

    Returns:
        A :class:`Metric`.

    Raises:
        ValueError: for an unknown name (the message lists valid names) or
            an uninterpretable identifier.
    """
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        cls = _accuracy_for_loss(loss) or AutoAccuracy
        return cls(name=identifier)
    return _KIND.get(identifier)


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Metric:
    """The metric a config dict ``{"class_name": ..., "config": {...}}`` describes, resolved
    as :func:`get` resolves one (``custom_objects`` first)."""
    return _KIND.deserialize(config, custom_objects=custom_objects)


__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "CompileMetrics",
    "Accuracy", "AutoAccuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "Precision", "Recall", "AUC",
    "MeanAbsoluteError", "MeanSquaredError", "RootMeanSquaredError",
    "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Hinge",
    "CosineSimilarity", "accuracy", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "confusion_counts", "get", "deserialize",
    "valid_names", "F1Score", "FBetaScore", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "kl_divergence", "mean_squared_error",
    "mean_absolute_error", "hinge",
]
