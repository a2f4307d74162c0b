"""Area under the ROC or precision-recall curve (Keras's approximation).

Confusion counts are accumulated at ``num_thresholds`` evenly spaced
thresholds ``[0 - eps, 1/(T-1), ..., (T-2)/(T-1), 1 + eps]`` (eps = 1e-7) and
the curve is integrated with a Riemann sum:

* ROC: ``x = fp / (fp + tn)``, ``y = tp / (tp + fn)``;
* PR:  ``x = recall``, ``y = precision``.

``summation_method="interpolation"`` (default) uses trapezoids for ROC and,
for PR, the Davis & Goadrich interpolation of precision between thresholds:
``sum(slope * (dtp + intercept * log(p_i / p_{i+1})) / (tp + fn))`` with
``p = tp + fp``, ``slope = dtp / dp``, ``intercept = tp_{i+1} - slope *
p_{i+1}``. ``"minoring"``/``"majoring"`` use the min/max of the two heights.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.metrics.base import Metric, divide_no_nan
from thawnet.metrics.confusion import confusion_counts, evenly_distributed
from thawnet.backend.types import Array, Config, DTypeLike, PyTree, TensorLike

EPSILON = 1e-7
_CURVES = ("ROC", "PR")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Approximate AUC of the ROC or PR curve.

    Args:
        num_thresholds: number of thresholds (default 200), > 1.
        curve: ``"ROC"`` (default) or ``"PR"``.
        summation_method: ``"interpolation"`` (default), ``"minoring"`` or
            ``"majoring"``.
        name: defaults to ``"auc"``.
        dtype: defaults to float32.
        thresholds: optional explicit thresholds in [0, 1]; then
            ``num_thresholds = len(thresholds) + 2``.
        multi_label: treat each column of ``y_pred`` as its own binary
            problem and average the per-label AUCs; for the functional API
            ``num_labels`` must then be given.
        num_labels: number of labels when ``multi_label``.
        label_weights: optional per-label weights (of the average when
            ``multi_label``, of the counts otherwise).
        from_logits: apply a sigmoid to ``y_pred`` first.
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: DTypeLike | None = None,
        thresholds: float | Sequence[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: TensorLike | None = None,
        from_logits: bool = False,
    ) -> None:
        super().__init__(name=name or "auc", dtype=dtype)
        curve = curve.upper()
        summation_method = summation_method.lower()
        if curve not in _CURVES:
            raise ValueError(f"Invalid curve {curve!r}; expected {_CURVES}.")
        if summation_method not in _SUMMATIONS:
            raise ValueError(
                f"Invalid summation_method {summation_method!r}; "
                f"expected {_SUMMATIONS}."
            )
        if multi_label is False and num_labels:
            raise ValueError("num_labels is only used with multi_label=True.")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_distributed([0.0] + inner + [1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(
                    f"num_thresholds must be > 1, got {num_thresholds}."
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1)
                     for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = label_weights
        self.from_logits = from_logits

    @property
    def thresholds(self) -> list:
        """The thresholds used, including the two end points."""
        return list(self._thresholds)

    def build_from(self, y_true: TensorLike, y_pred: TensorLike) -> None:
        if self.multi_label and self.num_labels is None:
            self.num_labels = int(jnp.shape(y_pred)[1])

    def init_state(self) -> PyTree:
        if self.multi_label:
            if self.num_labels is None:
                raise ValueError(
                    "AUC(multi_label=True) needs num_labels to build its "
                    "state before seeing data."
                )
            shape = (self.num_thresholds, self.num_labels)
        else:
            shape = (self.num_thresholds,)
        return {k: jnp.zeros(shape, self.dtype) for k in ("tp", "fp", "tn",
                                                           "fn")}

    def update(self, state: PyTree, y_true: TensorLike, y_pred: TensorLike,
               sample_weight: TensorLike | None = None) -> PyTree:
        y_pred = jnp.asarray(y_pred)
        if self.from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        counts = confusion_counts(
            y_true, y_pred, self._thresholds, sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
            thresholds_distributed_evenly=self._evenly, dtype=self.dtype,
        )
        return {k: state[k] + counts[k] for k in state}

    def _average_labels(self, per_threshold):
        if not self.multi_label:
            return jnp.sum(per_threshold)
        by_label = jnp.sum(per_threshold, axis=0)
        if self.label_weights is None:
            return jnp.mean(by_label)
        weights = jnp.asarray(self.label_weights, self.dtype)
        return divide_no_nan(jnp.sum(by_label * weights), jnp.sum(weights))

    def _interpolated_pr_auc(self, state):
        tp, fp, fn = state["tp"], state["fp"], state["fn"]
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = jnp.where(
            both_positive, divide_no_nan(p[:-1], jnp.maximum(p[1:], 0)), 1.0
        )
        ratio = jnp.where(ratio > 0, ratio, 1.0)  # log-safe; unused if 0
        increments = divide_no_nan(
            slope * (dtp + intercept * jnp.log(ratio)),
            jnp.maximum(tp[1:] + fn[1:], 0),
        )
        return self._average_labels(increments)

    def compute(self, state: PyTree) -> Array:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_auc(state)
        tp, fp, tn, fn = state["tp"], state["fp"], state["tn"], state["fn"]
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:-1], y[1:])
        else:
            heights = jnp.maximum(y[:-1], y[1:])
        return self._average_labels((x[:-1] - x[1:]) * heights)

    def get_config(self) -> Config:
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": self.label_weights,
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config
