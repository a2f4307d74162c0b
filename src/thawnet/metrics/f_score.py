"""F-beta and F1 scores (Keras 3's ``FBetaScore``, ``F1Score``) over one-hot or multi-label
targets of shape ``(batch, classes)``.

Per class ``c``: ``F_beta = (1 + beta^2) * P * R / (beta^2 * P + R)`` with precision ``P`` and
recall ``R`` from the counts accumulated over all batches (true positives, false positives,
false negatives, each weighted by ``sample_weight``). A prediction counts as positive above
``threshold``; with ``threshold=None`` the highest (non-zero) score of each row is the one
positive. ``average`` reduces the per-class scores: None keeps them, ``"micro"`` pools the
counts of all classes first, ``"macro"`` averages, ``"weighted"`` averages by class support.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.backend.global_config import epsilon
from thawnet.metrics.base import Metric
from thawnet.backend.types import Array, Config, DTypeLike, PyTree, TensorLike

AVERAGES = (None, "micro", "macro", "weighted")
_COUNTS = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


class FBetaScore(Metric):
    """F-beta score.

    Args:
        average: None (one score per class), ``"micro"``, ``"macro"`` or ``"weighted"``.
        beta: weight of recall against precision, a Python float > 0.
        threshold: a Python float in (0, 1]: predictions above it are positive; None: the
            row's highest prediction is the positive one.
        name: defaults to ``"fbeta_score"``.
        dtype: defaults to float32.

    The counts need the number of classes: it is taken from the first batch seen
    (``update_state``, ``stateless_update_state`` after ``build_from``), or from
    ``num_classes`` (a thawnet extension, needed when ``compile(metrics=[...])`` must size
    the state before training).
    """

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str = "fbeta_score",
                 dtype: DTypeLike | None = None, num_classes: int | None = None) -> None:
        super().__init__(name=name, dtype=dtype)
        cls = type(self).__name__
        if average not in AVERAGES:
            raise ValueError(f"{cls}: average must be one of {AVERAGES}; received "
                             f"average={average!r}.")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{cls}: beta must be a Python float > 0; received beta={beta!r} "
                             f"({type(beta).__name__}). Write it as a float, e.g. beta=2.0.")
        if threshold is not None and (not isinstance(threshold, float)
                                      or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{cls}: threshold must be None or a Python float with "
                             f"0 < threshold <= 1; received threshold={threshold!r}.")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.num_classes = None if num_classes is None else int(num_classes)
        self._given_classes = self.num_classes  # in the config only when given (Keras has none)

    def build_from(self, y_true: TensorLike, y_pred: TensorLike) -> None:
        shape_true, shape_pred = jnp.shape(y_true), jnp.shape(y_pred)
        if len(shape_pred) != 2 or len(shape_true) != 2:
            raise ValueError(f"{type(self).__name__} expects 2D inputs (batch_size, classes); "
                             f"received y_true.shape={shape_true}, y_pred.shape={shape_pred}.")
        self.num_classes = int(shape_pred[-1])

    def init_state(self) -> PyTree:
        if self.num_classes is None:
            raise ValueError(
                f'{type(self).__name__} "{self.name}": the number of classes is not known yet, '
                "so its counts cannot be created. Update it once (update_state) or pass "
                f"num_classes=<number of classes>, e.g. {type(self).__name__}(num_classes=10).")
        shape = () if self.average == "micro" else (self.num_classes,)
        return {k: jnp.zeros(shape, self.dtype) for k in _COUNTS}

    def update(self, state: PyTree, y_true: TensorLike, y_pred: TensorLike,
               sample_weight: TensorLike | None = None) -> PyTree:
        y_true = jnp.asarray(y_true, self.dtype)
        y_pred = jnp.asarray(y_pred, self.dtype)
        if self.threshold is None:
            top = jnp.max(y_pred, axis=-1, keepdims=True)
            positive = (y_pred >= top) & (jnp.abs(y_pred) > 1e-9)
        else:
            positive = y_pred > self.threshold
        positive = positive.astype(self.dtype)
        weight = None if sample_weight is None else jnp.asarray(sample_weight, self.dtype)
        axis = None if self.average == "micro" else 0

        def total(values):
            if weight is not None:
                values = values * jnp.reshape(weight, (-1, 1))
            return jnp.sum(values, axis=axis)

        added = {"true_positives": total(positive * y_true),
                 "false_positives": total(positive * (1.0 - y_true)),
                 "false_negatives": total((1.0 - positive) * y_true),
                 "intermediate_weights": total(y_true)}
        return {k: state[k] + added[k] for k in _COUNTS}

    def compute(self, state: PyTree) -> Array:
        eps = epsilon()
        tp = state["true_positives"]
        precision = tp / (tp + state["false_positives"] + eps)
        recall = tp / (tp + state["false_negatives"] + eps)
        b2 = self.beta ** 2
        score = (1.0 + b2) * precision * recall / (b2 * precision + recall + eps)
        if self.average == "weighted":
            support = state["intermediate_weights"]
            return jnp.sum(score * support / (jnp.sum(support) + eps))
        if self.average is not None:
            return jnp.mean(score)
        return score

    def get_config(self) -> Config:
        config = {**super().get_config(), "average": self.average, "beta": self.beta,
                  "threshold": self.threshold}
        if self._given_classes is not None:
            config["num_classes"] = self._given_classes
        return config


class F1Score(FBetaScore):
    """F1 score: :class:`FBetaScore` with ``beta=1.0``.

    Args:
        average, threshold, name, dtype, num_classes: as :class:`FBetaScore`
            (name defaults to ``"f1_score"``).
    """

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str = "f1_score", dtype: DTypeLike | None = None,
                 num_classes: int | None = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype, num_classes=num_classes)

    def get_config(self) -> Config:
        config = super().get_config()
        del config["beta"]
        return config


__all__ = ["FBetaScore", "F1Score"]
