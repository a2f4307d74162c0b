"""Losses: Keras-compatible loss classes, functions and lookup by name.

All losses are pure ``jax.numpy`` and can be used inside ``jax.jit`` and
``jax.grad``. A loss object, called as ``loss(y_true, y_pred,
sample_weight=None)``, returns a scalar (reduction
``"sum_over_batch_size"`` by default). Function forms such as
:func:`mean_squared_error` return one value per sample.
"""

from __future__ import annotations

from typing import Any

from thawnet.backend.identifiers import IdentifierKind
from thawnet.losses.base import (
    REDUCTIONS,
    Loss,
    LossFunctionWrapper,
    reduce_weighted_values,
    standardize_reduction,
)
from thawnet.losses.classes import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
)
from thawnet.losses.functions import (
    binary_crossentropy,
    categorical_crossentropy,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_crossentropy,
)
from thawnet.backend.types import Identifier

# Function names (and Keras's aliases) -> the class that wraps the function.
_FUNCTION_NAMES = {
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "huber": Huber,
    "huber_loss": Huber,
    "hinge": Hinge,
    "kl_divergence": KLDivergence,
    "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "cosine_similarity": CosineSimilarity,
}
_CLASSES = {
    cls.__name__: cls
    for cls in (
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        Hinge,
        KLDivergence,
        CosineSimilarity,
    )
}
# Keras accepts the upper-case aliases too ("MSE", "MAE", "BCE", "KLD").
_UPPER_ALIASES = {"MSE": "mse", "MAE": "mae", "BCE": "bce", "KLD": "kld"}


def valid_names() -> list[str]:
    """Returns the sorted list of loss names accepted by :func:`get`."""
    names = set(_FUNCTION_NAMES) | set(_CLASSES) | set(_UPPER_ALIASES)
    return sorted(names)


def _loss_named(identifier):
    key = _UPPER_ALIASES.get(identifier, identifier)
    if key in _CLASSES:
        return _CLASSES[key]()
    if key in _FUNCTION_NAMES:
        return _FUNCTION_NAMES[key](name=identifier)  # logged under the name given
    return None


_KIND = IdentifierKind("loss", by_name=_loss_named, class_named=_CLASSES.get,
                       known=valid_names, base=(Loss,), wrap=LossFunctionWrapper)


def get(identifier: Identifier) -> Loss | None:
    """Resolves a loss identifier to a :class:`Loss` object.

    Args:
        identifier: one of

            * a name: a function name or alias (``"mse"``,
              ``"mean_squared_error"``, ``"categorical_crossentropy"``,
              ``"kld"``, ...) or a class name (``"MeanSquaredError"``). The
              returned loss is named after the identifier, as Keras's
              ``compile`` does (e.g. ``"mse"``);
            * a dict ``{"class_name": ..., "config": {...}}``;
            * a :class:`Loss` instance (returned as is) or a ``Loss`` subclass
              (instantiated with defaults);
            * any other callable ``fn(y_true, y_pred)`` returning per-sample
              losses: wrapped in :class:`LossFunctionWrapper` so the result
              always reduces to a scalar;
            * ``None`` (returned as is).

    Returns:
        A :class:`Loss` (or ``None``).

    Raises:
        ValueError: for an unknown name (the message lists valid names) or
            an identifier that is none of the above.
    """
    return _KIND.get(identifier)


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Loss:
    """The loss a config dict ``{"class_name": ..., "config": {...}}`` describes, resolved
    as :func:`get` resolves one (``custom_objects`` first)."""
    return _KIND.deserialize(config, custom_objects=custom_objects)


__all__ = [
    "REDUCTIONS",
    "Loss",
    "LossFunctionWrapper",
    "reduce_weighted_values",
    "standardize_reduction",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "Hinge",
    "KLDivergence",
    "CosineSimilarity",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "hinge",
    "kl_divergence",
    "cosine_similarity",
    "get",
    "deserialize",
    "valid_names",
]
