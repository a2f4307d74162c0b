"""The crossentropy ops of Keras 3's ``keras.ops.nn``: binary, categorical and sparse
categorical, on probabilities or logits.

Probabilities are clipped to ``[eps, 1 - eps]`` with ``eps = thawnet.config.epsilon()`` (1e-7),
as in Keras, so a confident wrong prediction gives a large finite loss, not inf.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.backend import global_config
from thawnet.backend.types import Array, Axis, TensorLike
from thawnet.ops.dispatch import op


def _same_shape(target, output, who):
    if target.shape != output.shape:
        raise ValueError(f"ops.{who}: target and output must have the same shape; received "
                         f"target.shape={target.shape}, output.shape={output.shape}.")


@op
def binary_crossentropy(target: TensorLike, output: TensorLike, from_logits: bool = False) -> Array:
    """Elementwise ``-(t log p + (1 - t) log(1 - p))``.

    Args:
        target: targets in [0, 1].
        output: probabilities, or logits when ``from_logits``.
        from_logits: whether ``output`` holds logits.

    Returns:
        A tensor shaped like the inputs.
    """
    target, output = jnp.asarray(target), jnp.asarray(output)
    _same_shape(target, output, "binary_crossentropy")
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (1 - target) * jax.nn.log_sigmoid(-output)
    p = jnp.clip(output, global_config.epsilon(), 1 - global_config.epsilon())
    return -(target * jnp.log(p) + (1 - target) * jnp.log(1 - p))


def _log_probs(output, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    p = output / jnp.sum(output, axis, keepdims=True)
    return jnp.log(jnp.clip(p, global_config.epsilon(), 1 - global_config.epsilon()))


@op
def categorical_crossentropy(target: TensorLike, output: TensorLike,
                             from_logits: bool = False, axis: Axis = -1) -> Array:
    """``-sum(t * log p)`` along ``axis``.

    Args:
        target: one-hot (or soft) targets.
        output: probabilities (renormalised to sum to 1), or logits.
        from_logits: whether ``output`` holds logits.
        axis: the class axis.

    Returns:
        A tensor with ``axis`` removed.
    """
    target, output = jnp.asarray(target), jnp.asarray(output)
    _same_shape(target, output, "categorical_crossentropy")
    return -jnp.sum(target * _log_probs(output, from_logits, axis), axis=axis)


@op
def sparse_categorical_crossentropy(target: TensorLike, output: TensorLike,
                                    from_logits: bool = False, axis: Axis = -1) -> Array:
    """Categorical crossentropy with integer class targets.

    Args:
        target: int class indices, shaped like ``output`` without ``axis`` (or with a
            trailing 1).
        output: probabilities or logits.
        from_logits: whether ``output`` holds logits.
        axis: the class axis.

    Returns:
        A tensor shaped like ``target``.
    """
    target, output = jnp.asarray(target, "int32"), jnp.asarray(output)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, -1)
    if target.shape != output.shape[:-1]:
        raise ValueError("ops.sparse_categorical_crossentropy: target must have output's shape "
                         f"without the class axis; received target.shape={target.shape}, "
                         f"output.shape={output.shape}.")
    encoded = jax.nn.one_hot(target, output.shape[axis], axis=axis, dtype=output.dtype)
    return -jnp.sum(encoded * _log_probs(output, from_logits, axis), axis=axis)

__all__ = ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]
