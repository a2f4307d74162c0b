"""Per-sample loss functions (pure ``jax.numpy``).

Each function takes ``(y_true, y_pred)`` and returns one loss value per
sample: the last axis is reduced (except for the sparse crossentropy, whose
targets have no class axis). ``EPSILON`` (1e-7) guards logs of
probabilities, as in Keras.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from thawnet.losses.base import match_rank
from thawnet.backend.types import Array, Axis, TensorLike

EPSILON = 1e-7


def _cast_pair(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(jnp.float32)
    return jnp.asarray(y_true).astype(y_pred.dtype), y_pred


def mean_squared_error(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """Mean squared error: ``mean((y_true - y_pred) ** 2, axis=-1)``.

    Args:
        y_true: targets, shape ``(batch, ..., d)``.
        y_pred: predictions, same shape.

    Returns:
        Losses of shape ``(batch, ...)``.
    """
    y_true, y_pred = match_rank(*_cast_pair(y_true, y_pred))
    return jnp.mean(jnp.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """Mean absolute error: ``mean(abs(y_true - y_pred), axis=-1)``.

    Args:
        y_true: targets, shape ``(batch, ..., d)``.
        y_pred: predictions, same shape.

    Returns:
        Losses of shape ``(batch, ...)``.
    """
    y_true, y_pred = match_rank(*_cast_pair(y_true, y_pred))
    return jnp.mean(jnp.abs(y_pred - y_true), axis=-1)


def huber(y_true: TensorLike, y_pred: TensorLike, delta: float = 1.0) -> Array:
    """Huber loss, quadratic near zero and linear beyond ``delta``.

    With ``x = y_pred - y_true``:
    ``0.5 * x**2`` if ``|x| <= delta`` else ``delta * |x| - 0.5 * delta**2``,
    averaged over the last axis.

    Args:
        y_true: targets.
        y_pred: predictions.
        delta: the switch point between the two regimes.

    Returns:
        Losses with the last axis reduced.
    """
    y_true, y_pred = match_rank(*_cast_pair(y_true, y_pred))
    delta = jnp.asarray(delta, y_pred.dtype)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    quadratic = 0.5 * jnp.square(error)
    linear = delta * abs_error - 0.5 * jnp.square(delta)
    return jnp.mean(jnp.where(abs_error <= delta, quadratic, linear), axis=-1)


def hinge(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """Hinge loss: ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``.

    Targets are expected in {-1, 1}; if every target is 0 or 1 they are
    mapped to {-1, 1} first (``2 * y_true - 1``).

    Args:
        y_true: targets.
        y_pred: predictions (raw scores).

    Returns:
        Losses with the last axis reduced.
    """
    y_true, y_pred = _cast_pair(y_true, y_pred)
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    y_true = jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def kl_divergence(y_true: TensorLike, y_pred: TensorLike) -> Array:
    """Kullback-Leibler divergence: ``sum(t * log(t / p), axis=-1)``.

    Both inputs are clipped to ``[EPSILON, 1]`` first.

    Args:
        y_true: target distributions.
        y_pred: predicted distributions.

    Returns:
        Losses with the last axis reduced.
    """
    y_true, y_pred = _cast_pair(y_true, y_pred)
    y_true = jnp.clip(y_true, EPSILON, 1.0)
    y_pred = jnp.clip(y_pred, EPSILON, 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def _l2_normalize(x, axis):
    # x / max(||x||, EPSILON), written with rsqrt as Keras does.
    square_sum = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(square_sum, EPSILON * EPSILON))


def cosine_similarity(y_true: TensorLike, y_pred: TensorLike, axis: Axis = -1) -> Array:
    """Negative cosine similarity: ``-sum(l2norm(t) * l2norm(p), axis)``.

    Values lie in [-1, 1]; -1 means identical directions. A zero vector
    gives 0.

    Args:
        y_true: targets.
        y_pred: predictions.
        axis: the axis along which similarity is measured.

    Returns:
        Losses with ``axis`` reduced.
    """
    y_true, y_pred = match_rank(*_cast_pair(y_true, y_pred))
    y_true = _l2_normalize(y_true, axis)
    y_pred = _l2_normalize(y_pred, axis)
    return -jnp.sum(y_true * y_pred, axis=axis)


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    y_pred = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(y_pred, EPSILON, 1.0 - EPSILON))


def categorical_crossentropy(y_true: TensorLike, y_pred: TensorLike, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: Axis = -1) -> Array:
    """Categorical crossentropy for one-hot (or soft) targets.

    ``-sum(t * log(p), axis)`` where ``p = softmax(y_pred)`` if
    ``from_logits``, else ``y_pred`` renormalised to sum to 1 and clipped to
    ``[EPSILON, 1 - EPSILON]``. With label smoothing ``s``,
    ``t = t * (1 - s) + s / K`` where ``K = y_true.shape[-1]`` (the last
    axis, as in Keras, even when ``axis`` is another axis).

    Args:
        y_true: one-hot targets, same shape as ``y_pred``.
        y_pred: probabilities, or logits if ``from_logits``.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: float in [0, 1].
        axis: the class axis.

    Returns:
        Losses with ``axis`` reduced.
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be an int, got {axis!r}.")
    y_true, y_pred = _cast_pair(y_true, y_pred)
    if label_smoothing:
        # Keras takes K from the last axis even when ``axis != -1``; kept
        # for parity.
        num_classes = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(y_true: TensorLike, y_pred: TensorLike,
                                    from_logits: bool = False, ignore_class: Any = None,
                                    axis: Axis = -1) -> Array:
    """Categorical crossentropy for integer class targets.

    ``-log(p[y_true])`` with ``p`` as in :func:`categorical_crossentropy`.
    Entries whose target equals ``ignore_class`` get loss 0 (the
    :class:`SparseCategoricalCrossentropy` class also leaves them out of the
    average).

    Args:
        y_true: integer targets, shape ``y_pred.shape`` without the class
            axis (a trailing axis of size 1 is accepted).
        y_pred: probabilities, or logits if ``from_logits``.
        from_logits: whether ``y_pred`` holds logits.
        ignore_class: optional class id to ignore.
        axis: the class axis.

    Returns:
        Losses of shape ``y_true.shape``.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis=axis)
    axis = axis % y_pred.ndim
    labels = y_true.astype(jnp.int32)
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = jnp.where(valid, labels, 0)
        y_pred = jnp.where(jnp.expand_dims(valid, axis), y_pred, 0.0)
    log_probs = _log_probs(y_pred, from_logits, axis)
    picked = jnp.take_along_axis(
        log_probs, jnp.expand_dims(labels, axis), axis=axis
    )
    losses = -jnp.squeeze(picked, axis=axis)
    if valid is not None:
        losses = jnp.where(valid, losses, 0.0)
    return losses


def binary_crossentropy(y_true: TensorLike, y_pred: TensorLike, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: Axis = -1) -> Array:
    """Binary crossentropy, averaged over ``axis``.

    Per element: ``-(t * log(p) + (1 - t) * log(1 - p))`` with
    ``p = sigmoid(y_pred)`` (computed stably via ``log_sigmoid``) if
    ``from_logits``, else ``y_pred`` clipped to ``[EPSILON, 1 - EPSILON]``.
    With label smoothing ``s``: ``t = t * (1 - s) + 0.5 * s``.

    Args:
        y_true: 0/1 (or soft) targets, same shape as ``y_pred``.
        y_pred: probabilities, or logits if ``from_logits``.
        from_logits: whether ``y_pred`` holds logits.
        label_smoothing: float in [0, 1].
        axis: the axis the mean is taken over.

    Returns:
        Losses with ``axis`` reduced.
    """
    y_true, y_pred = _cast_pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        log_p = jax.nn.log_sigmoid(y_pred)
        log_not_p = jax.nn.log_sigmoid(-y_pred)
    else:
        y_pred = jnp.clip(y_pred, EPSILON, 1.0 - EPSILON)
        log_p = jnp.log(y_pred)
        log_not_p = jnp.log(1.0 - y_pred)
    elementwise = -(y_true * log_p + (1.0 - y_true) * log_not_p)
    return jnp.mean(elementwise, axis=axis)
