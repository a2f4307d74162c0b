"""The model output's mask in the compiled loss (Keras 3: padded timesteps do not count).

When the tensor a loss is computed on carries a mask (``Embedding(mask_zero=True)`` or
``Masking`` upstream, and every layer after it keeping the mask, e.g. an RNN with
``return_sequences=True`` and a ``TimeDistributed(Dense)``), the mask is folded into the
sample weights before the loss is reduced (:func:`thawnet.backend.masking.fold_mask`): with
the default reduction the loss is then the mean over the real timesteps only.
"""

from __future__ import annotations

from thawnet.backend.masking import fold_mask, get_keras_mask


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
    return fold_mask(mask, sample_weight, reduction)


__all__ = ["masked_sample_weight"]
