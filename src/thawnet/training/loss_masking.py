"""The model output's mask in the compiled loss (Keras 3: padded timesteps do not count).

When the tensor a loss is computed on carries a mask (``Embedding(mask_zero=True)`` or
``Masking`` upstream, and every layer after it keeping the mask, e.g. an RNN with
``return_sequences=True`` and a ``TimeDistributed(Dense)``), the mask becomes part of the
sample weights before the loss is reduced:

* reductions ``"sum_over_batch_size"`` and ``"mean"``: a real entry weighs
  ``mask.size / number of real entries`` and a padded one 0, so the loss is the mean over the
  real entries only (``sum(loss * w) / mask.size``);
* other reductions: a real entry weighs 1, a padded one 0.

Given sample weights are multiplied in (a per-sample weight applies to each of its
timesteps).
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.backend.masking import get_keras_mask


def masked_sample_weight(y_pred, sample_weight, reduction):
    """``sample_weight`` with the mask of ``y_pred`` folded in (unchanged without a mask).

    Args:
        y_pred: one model output (a traced array inside the compiled step).
        sample_weight: ``None`` or weights per sample (or per entry).
        reduction: the loss's reduction (``"sum_over_batch_size"`` for plain functions).

    Returns:
        The weights to hand to the loss, or ``sample_weight`` itself.

    >>> import jax.numpy as jnp
    >>> from thawnet.backend.masking import set_keras_mask
    >>> y = jnp.zeros((1, 4, 2))
    >>> set_keras_mask(y, jnp.array([[True, True, False, False]]))
    >>> masked_sample_weight(y, None, "sum_over_batch_size").tolist()
    [[2.0, 2.0, 0.0, 0.0]]
    """
    mask = get_keras_mask(y_pred)
    if mask is None:
        return sample_weight
    keep = jnp.asarray(mask, bool)
    if reduction in ("sum_over_batch_size", "mean"):
        valid = jnp.sum(keep.astype(jnp.float32))
        scale = jnp.where(valid > 0, keep.size / jnp.maximum(valid, 1.0), 0.0)
        weight = jnp.where(keep, scale, 0.0)
    else:
        weight = keep.astype(jnp.float32)
    if sample_weight is None:
        return weight
    sample_weight = jnp.asarray(sample_weight, jnp.float32)
    if sample_weight.ndim == weight.ndim + 1 and sample_weight.shape[-1] == 1:
        sample_weight = sample_weight[..., 0]
    if sample_weight.ndim < weight.ndim:  # per-sample weights: one for each timestep
        sample_weight = sample_weight.reshape(
            sample_weight.shape + (1,) * (weight.ndim - sample_weight.ndim))
    return sample_weight * weight


__all__ = ["masked_sample_weight"]
