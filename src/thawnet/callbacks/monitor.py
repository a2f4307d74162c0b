"""MonitorCallback: the "did the monitored quantity improve?" logic shared by EarlyStopping,
ReduceLROnPlateau and ModelCheckpoint (Keras 3's semantics)."""

from __future__ import annotations

import warnings
from typing import Any

from thawnet import ops
from thawnet.callbacks.base import Callback

# Metrics that improve upwards / downwards, by their default log names. Used by mode="auto" when
# the model's metric objects do not carry a direction themselves.
_UP = frozenset({
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision",
    "recall", "precision_at_recall", "recall_at_precision", "sensitivity_at_specificity",
    "specificity_at_sensitivity", "f1_score", "fbeta_score", "r2_score", "cosine_similarity",
    "iou", "mean_iou", "binary_iou", "one_hot_iou", "one_hot_mean_iou",
    "pearson_correlation", "concordance_correlation",
})
_DOWN = frozenset({
    "loss", "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "mean_absolute_percentage_error", "mape", "mean_squared_logarithmic_error", "msle",
    "root_mean_squared_error", "log_cosh_error", "logcosh", "hinge", "squared_hinge",
    "categorical_hinge", "kl_divergence", "kullback_leibler_divergence", "poisson",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "binary_focal_crossentropy", "categorical_focal_crossentropy",
})


def _iter_metrics(model):
    try:
        metrics = list(getattr(model, "metrics", None) or [])
    except Exception:  # noqa: BLE001 - e.g. a model not compiled yet
        return
    stack = metrics[::-1]
    while stack:
        metric = stack.pop()
        yield metric
        inner = getattr(metric, "metrics", None)
        if isinstance(inner, (list, tuple)):
            stack.extend(list(inner)[::-1])


def _direction_from_model(model, name):
    for metric in _iter_metrics(model):
        if getattr(metric, "name", None) != name:
            continue
        direction = getattr(metric, "direction", None) or getattr(metric, "_direction", None)
        if direction in ("up", "down"):
            return direction
    return None


class MonitorCallback(Callback):
    """Base class of callbacks that watch ``monitor`` in the epoch logs for improvements.

    Args:
        monitor: the logs key to watch (default "val_loss").
        mode: "min", "max" or "auto" (losses decrease; for other metrics the direction comes
            from the model's metric object, or else from the metric's name).
        baseline: initial value of ``best`` (None: the first value seen is the best).
        min_delta: an improvement must beat the reference by more than ``abs(min_delta)``.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self._direction = None  # "up" or "down", resolved at the first epoch end

    def _resolve_direction(self):
        if self.mode == "min":
            return "down"
        if self.mode == "max":
            return "up"
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        if name == "loss":
            return "down"
        direction = _direction_from_model(self.model, name)
        if direction is None:
            if name in _UP:
                direction = "up"
            elif name in _DOWN or name.endswith("_loss"):
                direction = "down"
        if direction is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but thawnet "
                "isn't able to automatically determine whether that metric should be maximized "
                "or minimized. Pass `mode='max'` in order to monitor based on the highest metric "
                "value, or pass `mode='min'` in order to use the lowest value.")
        return direction

    @property
    def monitor_op(self) -> Any:
        """The comparison used, as in Keras: ``thawnet.ops.less`` (minimised) or
        ``thawnet.ops.greater`` (maximised); None until the direction is resolved."""
        if self._direction is None:
            return None
        return ops.less if self._direction == "down" else ops.greater

    def _ensure_direction(self):
        if self._direction is None:
            self._direction = self._resolve_direction()

    def _set_monitor_op(self):
        """Resolve the direction now (Keras's name for it; ``fit`` does it at the first epoch
        end). Raises ValueError when ``mode="auto"`` cannot tell it from the metric."""
        self._ensure_direction()

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        self._ensure_direction()
        if self._direction == "down":
            return monitor_value + self.min_delta < reference_value
        return monitor_value - self.min_delta > reference_value
