"""Loss classes: configurable, reducing wrappers of the loss functions.

Every class takes Keras 3's constructor arguments and defaults, and calling an
instance, ``loss(y_true, y_pred, sample_weight=None)``, returns the
``reduction`` of the per-sample losses (default ``"sum_over_batch_size"``:
weighted sum divided by the number of loss entries). The formula of each loss
is documented on its function in :mod:`thawnet.losses.functions`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from thawnet.losses import functions as F
from thawnet.losses.base import LossFunctionWrapper
from thawnet.backend.types import Axis, DTypeLike, TensorLike

_DEFAULT = "sum_over_batch_size"


class _ConfiguredLoss(LossFunctionWrapper):
    """A wrapper whose ``get_config`` lists only constructor arguments."""

    fn = None

    def __init__(self, reduction: str | None, name: str | None, dtype: DTypeLike | None, **kwargs
            ) -> None:
        super().__init__(
            type(self).fn, reduction=reduction, name=name, dtype=dtype,
            **kwargs,
        )

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} {self.fn_kwargs}>"


class MeanSquaredError(_ConfiguredLoss):
    """Mean of squared errors: ``mean((y_true - y_pred) ** 2)``.

    Args:
        reduction: see :class:`thawnet.losses.Loss`.
        name: defaults to ``"mean_squared_error"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.mean_squared_error)

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "mean_squared_error",
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(reduction, name, dtype)


class MeanAbsoluteError(_ConfiguredLoss):
    """Mean of absolute errors: ``mean(abs(y_true - y_pred))``.

    Args:
        reduction: see :class:`thawnet.losses.Loss`.
        name: defaults to ``"mean_absolute_error"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.mean_absolute_error)

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "mean_absolute_error",
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(reduction, name, dtype)


class Huber(_ConfiguredLoss):
    """Huber loss: ``0.5 x^2`` for ``|x| <= delta``, else
    ``delta |x| - 0.5 delta^2``, with ``x = y_pred - y_true``.

    Args:
        delta: the switch point between the two regimes (default 1.0).
        reduction: see :class:`thawnet.losses.Loss`.
        name: defaults to ``"huber_loss"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.huber)

    def __init__(self, delta: float = 1.0, reduction: str | None = _DEFAULT,
                 name: str = "huber_loss", dtype: DTypeLike | None = None) -> None:
        super().__init__(reduction, name, dtype, delta=delta)


class Hinge(_ConfiguredLoss):
    """Hinge loss: ``mean(maximum(1 - y_true * y_pred, 0))``; 0/1 targets
    are mapped to -1/1.

    Args:
        reduction: see :class:`thawnet.losses.Loss`.
        name: defaults to ``"hinge"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.hinge)

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "hinge",
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(reduction, name, dtype)


class KLDivergence(_ConfiguredLoss):
    """Kullback-Leibler divergence: ``sum(y_true * log(y_true / y_pred))``,
    inputs clipped to ``[1e-7, 1]``.

    Args:
        reduction: see :class:`thawnet.losses.Loss`.
        name: defaults to ``"kl_divergence"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.kl_divergence)

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "kl_divergence",
                 dtype: DTypeLike | None = None) -> None:
        super().__init__(reduction, name, dtype)


class CosineSimilarity(_ConfiguredLoss):
    """Negative cosine similarity: ``-sum(l2norm(y_true) * l2norm(y_pred))``
    along ``axis``.

    Args:
        axis: the axis along which similarity is measured (default -1).
        reduction: see :class:`thawnet.losses.Loss`.
        name: defaults to ``"cosine_similarity"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.cosine_similarity)

    def __init__(self, axis: Axis = -1, reduction: str | None = _DEFAULT,
                 name: str = "cosine_similarity", dtype: DTypeLike | None = None) -> None:
        super().__init__(reduction, name, dtype, axis=axis)


class BinaryCrossentropy(_ConfiguredLoss):
    """Binary crossentropy: ``-(t log p + (1 - t) log(1 - p))`` averaged over
    the last axis; smoothing gives ``t = t (1 - s) + s / 2``.

    Args:
        from_logits: whether predictions are logits (default False).
        label_smoothing: float in [0, 1] (default 0).
        axis: the axis the mean is taken over (default -1).
        reduction: see :class:`thawnet.losses.Loss`.
        name: defaults to ``"binary_crossentropy"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.binary_crossentropy)

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: Axis = -1,
        reduction: str | None = _DEFAULT,
        name: str = "binary_crossentropy",
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__(
            reduction, name, dtype, from_logits=from_logits,
            label_smoothing=label_smoothing, axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(_ConfiguredLoss):
    """Categorical crossentropy for one-hot targets: ``-sum(t log p)``;
    smoothing over ``K`` classes gives ``t = t (1 - s) + s / K``.

    Args:
        from_logits: whether predictions are logits (default False).
        label_smoothing: float in [0, 1] (default 0).
        axis: the class axis (default -1).
        reduction: see :class:`thawnet.losses.Loss`.
        name: defaults to ``"categorical_crossentropy"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.categorical_crossentropy)

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: Axis = -1,
        reduction: str | None = _DEFAULT,
        name: str = "categorical_crossentropy",
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__(
            reduction, name, dtype, from_logits=from_logits,
            label_smoothing=label_smoothing, axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(_ConfiguredLoss):
    """Crossentropy for integer targets: ``-log p[y_true]``.

    Entries whose target equals ``ignore_class`` are masked out: they add 0
    and, for the ``"sum_over_batch_size"``/``"mean"`` reductions, are not
    counted in the divisor.

    Args:
        from_logits: whether predictions are logits (default False).
        ignore_class: optional class id to ignore (default None).
        reduction: see :class:`thawnet.losses.Loss`.
        axis: the class axis of ``y_pred`` (default -1).
        name: defaults to ``"sparse_categorical_crossentropy"``.
        dtype: input dtype, defaults to float32.
    """

    fn = staticmethod(F.sparse_categorical_crossentropy)

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: Any = None,
        reduction: str | None = _DEFAULT,
        axis: Axis = -1,
        name: str = "sparse_categorical_crossentropy",
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__(
            reduction, name, dtype, from_logits=from_logits,
            ignore_class=ignore_class, axis=axis,
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def loss_mask(self, y_true: TensorLike, y_pred: TensorLike) -> bool | None:
        if self.ignore_class is None:
            return None
        if y_true.ndim == y_pred.ndim and y_true.shape[self.axis] == 1:
            y_true = jnp.squeeze(y_true, axis=self.axis)
        return y_true.astype(jnp.int32) != self.ignore_class
