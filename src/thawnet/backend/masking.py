"""Masks attached to tensors: ``get_keras_mask(x)`` / ``set_keras_mask(x, mask)``.

A mask says which timesteps of a sequence are real (``True``) and which are padding
(``False``). As in Keras 3, it travels *with the tensor* it describes: a layer that makes one
(``Masking``, ``Embedding(mask_zero=True)``) attaches it to its output, the next layer whose
``call`` takes ``mask=`` receives it, and the compiled loss weighs the model output by it.

Symbolic tensors of a functional graph keep it as their ``_keras_mask`` attribute. JAX arrays
and tracers cannot take attributes, so for them the mask is kept in a table keyed by the
array's ``id``; a weak-reference finalizer removes the entry when the array is freed, so a
later array that happens to get the same ``id`` never inherits it. Tracers can be weakly
referenced too, so masks flow through ``jax.jit`` traces (the compiled training step) the
same way they do eagerly.

>>> import jax.numpy as jnp
>>> x = jnp.ones((2, 3, 4))
>>> set_keras_mask(x, jnp.array([[True, True, False], [True, False, False]]))
>>> get_keras_mask(x).shape
(2, 3)
>>> get_keras_mask(jnp.ones(3)) is None
True
"""

from __future__ import annotations

import weakref

import jax.numpy as jnp

_ATTRIBUTE = "_keras_mask"
_table: dict[int, object] = {}  # id(array) -> mask, for objects that refuse attributes


def _forget(key: int) -> None:
    _table.pop(key, None)


def set_keras_mask(x, mask) -> None:
    """Attach ``mask`` to ``x`` in place (``None`` removes any mask it has).

    Args:
        x: a JAX array, tracer, NumPy array or symbolic tensor.
        mask: a boolean tensor (usually ``(batch, timesteps)``), or ``None``.
    """
    try:
        setattr(x, _ATTRIBUTE, mask)
        return
    except (AttributeError, TypeError):
        pass
    key = id(x)
    if mask is None:
        _table.pop(key, None)
        return
    try:
        weakref.finalize(x, _forget, key)
    except TypeError:
        return  # a Python scalar or None: nothing can describe its timesteps
    _table[key] = mask


def get_keras_mask(x):
    """The mask attached to ``x``, or ``None``.

    Layers with a ``query_mask``/``value_mask`` argument (attention) or that need the mask of
    an input other than their first can read it with this function.

    Args:
        x: any tensor (or other value: those never carry a mask).

    Returns:
        The boolean mask tensor set by :func:`set_keras_mask`, or ``None``.
    """
    if x is None:
        return None
    try:
        found = getattr(x, _ATTRIBUTE)
    except AttributeError:
        return _table.get(id(x))
    return found


def fold_mask(mask, sample_weight, reduction: str):
    """Sample weights with a boolean ``mask`` folded in, as a loss or metric needs them.

    * reductions ``"sum_over_batch_size"`` and ``"mean"`` (losses): a real entry weighs
      ``mask.size / number of real entries`` and a padded one 0, so dividing the weighted
      sum by ``mask.size`` averages over the real entries only;
    * any other reduction (``"sum"``: metrics' means): a real entry weighs 1, a padded one 0.

    Given per-sample weights multiply in (one for each timestep of their sample).

    Args:
        mask: boolean array, e.g. ``(batch, timesteps)``.
        sample_weight: ``None`` or weights per sample (or per entry).
        reduction: as above.

    Returns:
        The float32 weights.

    >>> import jax.numpy as jnp
    >>> fold_mask(jnp.array([[True, True, False, False]]), None, "mean").tolist()
    [[2.0, 2.0, 0.0, 0.0]]
    """
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


__all__ = ["get_keras_mask", "set_keras_mask", "fold_mask"]
