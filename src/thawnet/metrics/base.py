"""Metric base class (functional state + Keras object API), Mean and Sum.

A metric object holds only configuration. Its state is a pytree of
``jnp`` arrays that the caller owns::

    state = metric.init_state()
    state = metric.update(state, y_true, y_pred, sample_weight)   # pure
    value = metric.compute(state)                                # pure

so ``update``/``compute`` can run inside ``jax.jit`` (the trainer keeps the
state on the device). The Keras object API (``update_state``, ``result``,
``reset_state``) is a thin eager layer that stores one state on the object.

Keras 3's stateless API works on the state as a flat list (``metric.variables``
in Keras), which is what a custom ``train_step`` holds in its
``metrics_variables``::

    values = metric.stateless_reset_state()
    values = metric.stateless_update_state(values, y_true, y_pred)
    value = metric.stateless_result(values)
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from thawnet.backend.masking import fold_mask, get_keras_mask
from thawnet.losses.base import match_rank, to_snake_case
from thawnet.backend.types import Array, Config, DTypeLike, PyTree, TensorLike


def divide_no_nan(x, y):
    """``x / y`` where ``y != 0``, else 0 (safe under ``jax.grad``)."""
    nonzero = y != 0
    return jnp.where(nonzero, x / jnp.where(nonzero, y, 1), 0)


class Metric:
    """Base class of metrics.

    Subclasses implement ``init_state``, ``update`` and ``compute``.

    Args:
        name: name shown in logs; defaults to the snake-cased class name.
        dtype: dtype of the state and result; defaults to ``"float32"``.
    """

    def __init__(self, name: str | None = None, dtype: DTypeLike | None = None) -> None:
        self.name = name or to_snake_case(type(self).__name__)
        self.dtype = dtype or "float32"
        self._state = None

    # -- functional API ---------------------------------------------------
    def init_state(self) -> PyTree:
        """Returns the initial state: a pytree (dict) of ``jnp`` arrays."""
        raise NotImplementedError

    def update(self, state: PyTree, y_true: TensorLike, y_pred: TensorLike,
               sample_weight: TensorLike | None = None) -> PyTree:
        """Returns the state after accumulating one batch (pure).

        Args:
            state: the current state, as returned by ``init_state``/``update``.
            y_true: targets of the batch.
            y_pred: predictions of the batch.
            sample_weight: optional per-sample weights.

        Returns:
            The new state (same structure, shapes and dtypes).
        """
        raise NotImplementedError

    def compute(self, state: PyTree) -> Array:
        """Returns the metric value for ``state`` (pure)."""
        raise NotImplementedError

    # -- Keras object API (eager) ------------------------------------------
    def build_from(self, y_true: TensorLike, y_pred: TensorLike) -> None:
        """Hook to fix shape-dependent configuration before the first eager
        update (used by multi-label AUC); a no-op by default."""

    @property
    def state(self) -> Any:
        """The state held by the object for the eager API."""
        if self._state is None:
            self._state = self.init_state()
        return self._state

    @state.setter
    def state(self, value: Any) -> None:
        self._state = value

    def update_state(self, *args, **kwargs) -> None:
        """Accumulates a batch into the object's own state."""
        if self._state is None and len(args) >= 2:
            self.build_from(args[0], args[1])
        self._state = self.update(self.state, *args, **kwargs)

    def result(self) -> Array:
        """Returns the metric value of the object's own state."""
        return self.compute(self.state)

    def reset_state(self) -> None:
        """Resets the object's own state (to ``init_state()``, lazily)."""
        self._state = None

    # -- Keras 3 stateless API (state as a flat list) ---------------------------
    @property
    def variables(self) -> Array:
        """The object's state as a flat list of arrays, in the order the
        ``stateless_*`` methods take it (``len(metric.variables)`` slices a
        model's ``metrics_variables``)."""
        return jax.tree_util.tree_leaves(self.state)

    def _state_from(self, metric_variables):
        treedef = jax.tree_util.tree_structure(self.state)
        values = list(metric_variables)
        if len(values) != treedef.num_leaves:
            raise ValueError(
                f'Metric "{self.name}": expected {treedef.num_leaves} state '
                f"value(s) (len(metric.variables)); received {len(values)}. "
                "Pass the slice of metrics_variables that belongs to this "
                "metric, e.g. metrics_variables[i:i + len(metric.variables)]."
            )
        return jax.tree_util.tree_unflatten(treedef, values)

    def stateless_update_state(self, metric_variables: Any, *args, **kwargs) -> Array:
        """Accumulates a batch into explicit state (pure; Keras 3's API).

        Args:
            metric_variables: the state as a list (``metric.variables`` order).
            *args, **kwargs: what ``update_state`` takes (``y_true, y_pred``,
                ``sample_weight=``; a ``Mean`` takes the values).

        Returns:
            The new state, as a list of the same length.

        >>> m = Mean()
        >>> values = m.stateless_update_state(m.stateless_reset_state(), 3.0)
        >>> float(m.stateless_result(values))
        3.0
        """
        state = self._state_from(metric_variables)
        return jax.tree_util.tree_leaves(self.update(state, *args, **kwargs))

    def stateless_result(self, metric_variables: Any) -> Any:
        """The metric value of explicit state (pure; Keras 3's API).

        Args:
            metric_variables: the state as a list (``metric.variables`` order).

        Returns:
            The value, as ``result()`` gives it.
        """
        return self.compute(self._state_from(metric_variables))

    def stateless_reset_state(self) -> Array:
        """The initial state as a list (``metric.variables`` order)."""
        return jax.tree_util.tree_leaves(self.init_state())

    def __call__(self, *args, **kwargs) -> Array:
        """Updates the state with a batch, then returns ``result()``."""
        self.update_state(*args, **kwargs)
        return self.result()

    # -- config -------------------------------------------------------------
    def get_config(self) -> Config:
        """Returns the constructor arguments as a dict."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: Config) -> Metric:
        """Builds a metric from the output of ``get_config``."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def reduce_to_samplewise(values, sample_weight, reduce_fn, dtype):
    """Reduces ``values`` to one value per sample, applying weights.

    With weights of rank ``r``, the axes of ``values`` beyond ``r`` are first
    reduced with ``reduce_fn``; values are multiplied by the (broadcast)
    weights; weights of rank > 1 are reduced to one per sample; finally all
    non-batch axes of ``values`` are reduced.

    Returns:
        ``(values, sample_weight)``; ``sample_weight`` may be ``None``.
    """
    values = jnp.asarray(values, dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight, dtype)
        values, sample_weight = match_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(
                sample_weight, axis=tuple(range(1, w_ndim))
            )
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """Weighted sum of values: ``total = sum(values * sample_weight)``.

    ``update(state, values, sample_weight=None)``.

    Args:
        name: defaults to ``"sum"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "sum", dtype: DTypeLike | None = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def init_state(self) -> PyTree:
        return {"total": jnp.zeros((), self.dtype)}

    def update(self, state: PyTree, values: TensorLike, sample_weight: TensorLike | None = None
            ) -> PyTree:
        values, _ = reduce_to_samplewise(
            values, sample_weight, jnp.sum, self.dtype
        )
        return {"total": state["total"] + jnp.sum(values)}

    def compute(self, state: PyTree) -> Array:
        return state["total"]


class Mean(Metric):
    """Weighted mean of values: ``sum(v * w) / sum(w)``.

    ``update(state, values, sample_weight=None)``; a scalar value counts as
    one sample (or as ``sample_weight`` samples), so the trainer can track
    the loss with ``update(state, loss, sample_weight=batch_size)``.

    Args:
        name: defaults to ``"mean"``.
        dtype: defaults to float32.
    """

    def __init__(self, name: str = "mean", dtype: DTypeLike | None = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def init_state(self) -> PyTree:
        zero = jnp.zeros((), self.dtype)
        return {"total": zero, "count": zero}

    def update(self, state: PyTree, values: TensorLike, sample_weight: TensorLike | None = None
            ) -> PyTree:
        values, sample_weight = reduce_to_samplewise(
            values, sample_weight, jnp.mean, self.dtype
        )
        if sample_weight is not None:
            count = jnp.sum(sample_weight)
        elif values.ndim >= 1:
            count = values.shape[0]
        else:
            count = 1
        return {
            "total": state["total"] + jnp.sum(values),
            "count": state["count"] + jnp.asarray(count, self.dtype),
        }

    def compute(self, state: PyTree) -> Array:
        return divide_no_nan(state["total"], state["count"])


class MeanMetricWrapper(Mean):
    """Mean over samples of a per-sample function ``fn(y_true, y_pred)``.

    ``result = sum_i(w_i * fn(y_true, y_pred)_i) / sum_i(w_i)``. When ``y_pred`` carries a
    mask (:func:`thawnet.backend.masking.get_keras_mask`), it multiplies the weights: the
    mean is over the real entries only, as in Keras 3.

    Args:
        fn: callable ``fn(y_true, y_pred, **kwargs)`` -> per-sample values.
        name: defaults to ``fn.__name__``.
        dtype: defaults to float32.
        **kwargs: extra keyword arguments for ``fn``.
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: DTypeLike | None = None,
                 **kwargs) -> None:
        super().__init__(name=name or getattr(fn, "__name__", "mean"),
                         dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def update(self, state: PyTree, y_true: TensorLike, y_pred: TensorLike,
               sample_weight: TensorLike | None = None) -> PyTree:
        # Keras 3: the mask attached to y_pred (padded timesteps of Embedding(mask_zero=True)
        # or Masking upstream) is folded into the weights, so padding does not count.
        mask = get_keras_mask(y_pred)
        values = self.fn(y_true, y_pred, **self.fn_kwargs)
        if mask is not None:
            sample_weight = fold_mask(mask, sample_weight, "sum")
        return super().update(state, values, sample_weight=sample_weight)

    def get_config(self) -> Config:
        return {**super().get_config(), **self.fn_kwargs}
