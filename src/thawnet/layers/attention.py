"""Attention (Luong, dot-product) and AdditiveAttention (Bahdanau): one head, no projections.

Called on ``[query, value]`` or ``[query, value, key]`` (key defaults to value), shapes
``(B, Tq, dim)`` and ``(B, Tv, dim)``::

    scores = score(query, key)                  (B, Tq, Tv)
    probs = softmax(scores masked by value_mask and the causal mask)
    out = probs @ value, zeroed where query_mask is False

``Attention``'s score is ``scale * query @ key^T`` (``score_mode="dot"``) or
``concat_score_weight * sum(tanh(scale * (q + k)))`` (``"concat"``); ``AdditiveAttention``'s is
``sum(scale * tanh(q + k))`` with a per-feature ``scale``.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from thawnet.backend.types import Array, Config, SeedLike, ShapeLike, TensorTree
from thawnet.layers import _attention_common as common
from thawnet.layers.layer import Layer, register


@register
class Attention(Layer):
    """Dot-product attention layer (Luong-style).

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores (starts at 1).
        score_mode: ``"dot"`` or ``"concat"`` (the latter learns ``concat_score_weight``).
        dropout: dropout rate on the attention probabilities (training only).
        seed: seed of the dropout.

    Call arguments: ``inputs`` = ``[query, value]`` or ``[query, value, key]``;
    ``mask`` = ``[query_mask, value_mask]`` (``(B, Tq)`` and ``(B, Tv)`` booleans);
    ``training``; ``return_attention_scores`` (also return the ``(B, Tq, Tv)``
    probabilities); ``use_causal_mask``.

    >>> import numpy as np
    >>> from thawnet.layers import Attention
    >>> q, v = np.ones((1, 2, 3), "float32"), np.ones((1, 4, 3), "float32")
    >>> Attention()([q, v]).shape
    (1, 2, 3)
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: SeedLike = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{who}: Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode!r}")
        if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"{who}: dropout must be a float in [0, 1); received "
                             f"dropout={dropout!r}.")
        self.use_scale, self.score_mode = bool(use_scale), score_mode
        self.dropout, self.seed = dropout, seed
        common.hold_seed(self, dropout, seed)
        self.supports_masking = True
        self.scale = None
        self.concat_score_weight = None

    def _validate_inputs(self, inputs, mask=None):
        who = f'{type(self).__name__} "{self.name}"'
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{who} layer must be called on a list of inputs, namely "
                             f"[query, value] or [query, value, key]. Received: "
                             f"inputs={inputs!r}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{who} layer accepts inputs list of length 2 or 3, namely "
                             f"[query, value] or [query, value, key]. Received length: "
                             f"{len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"{who} layer mask must be a list, namely [query_mask, "
                                 f"value_mask]. Received: mask={mask!r}.")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"{who} layer accepts mask list of length 2 or 3 "
                                 f"([query_mask, value_mask]). Received length: {len(mask)}.")

    def build(self, input_shape: ShapeLike) -> None:
        self._validate_inputs(input_shape)
        # Both scalars are parameters, trained by the optimizer.
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(),
                                                       initializer="ones")

    def __call__(self, inputs: TensorTree, *args, **kwargs) -> TensorTree:
        self._validate_inputs(inputs, kwargs.get("mask"))
        return super().__call__(list(inputs), *args, **kwargs)

    def _calculate_scores(self, query, key):
        """``(B, Tq, Tv)`` scores of every query step against every key step."""
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
            return scores if self.scale is None else scores * self.scale.value
        summed = query[..., :, None, :] + key[..., None, :, :]
        if self.scale is not None:
            summed = self.scale.value * summed
        return self.concat_score_weight.value * jnp.sum(jnp.tanh(summed), axis=-1)

    def _calculate_score_mask(self, scores, v_mask, use_causal_mask):
        """The boolean ``(B or 1, Tq, Tv)`` mask of the scores: the value mask as
        ``(B, 1, Tv)``, ANDed with the causal mask; None when there is neither."""
        if not use_causal_mask:
            return v_mask
        causal = common.causal_mask(scores.shape[-2], scores.shape[-1])
        if v_mask is None:
            return causal
        return jnp.asarray(v_mask).astype(bool)[..., None, :] & causal

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """``(softmax(masked scores) @ value, the probabilities)``; the probabilities are
        returned after dropout, as Keras returns them."""
        if scores_mask is not None:
            padding = ~jnp.asarray(scores_mask).astype(bool)
            if padding.ndim == 2:
                padding = padding[..., None, :]
            # Masked scores are lowered by a large number (float16's maximum for float16
            # scores, else 1e9), so that their softmax weight is ~0.
            big = 65504.0 if scores.dtype == jnp.float16 else 1.0e9
            scores = jnp.where(padding, scores - big, scores)
        weights = jax.nn.softmax(scores, axis=-1)
        weights = common.dropout(self, weights, self.dropout, bool(training))
        return jnp.matmul(weights, value), weights

    def call(self, inputs: TensorTree, mask: TensorTree | None = None,
             training: bool | None = False, return_attention_scores: bool = False,
             use_causal_mask: bool = False) -> TensorTree:
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        scores = self._calculate_scores(query, key)
        scores_mask = self._calculate_score_mask(scores, value_mask, use_causal_mask)
        out, probs = self._apply_scores(scores, value, scores_mask, training)
        if query_mask is not None:
            out = jnp.where(jnp.asarray(query_mask).astype(bool)[..., None], out,
                            jnp.zeros((), out.dtype))
        return (out, probs) if return_attention_scores else out

    def compute_mask(self, inputs: TensorTree, mask: TensorTree | None = None) -> Array | None:
        """The query's mask (the output has the query's steps), or None."""
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return jnp.asarray(mask[0])

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        query_shape, value_shape = input_shape[0], input_shape[1]
        return (*tuple(query_shape)[:-1], tuple(value_shape)[-1])

    def get_config(self) -> Config:
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


@register
class AdditiveAttention(Attention):
    """Additive attention layer (Bahdanau-style): ``sum(scale * tanh(query + key))``.

    Args:
        use_scale: learn a per-feature ``scale`` vector (glorot_uniform).
        dropout: dropout rate on the attention probabilities (training only).

    Call arguments as :class:`Attention`.
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        self._validate_inputs(input_shape)
        dim = tuple(input_shape[0])[-1]
        # A parameter, trained by the optimizer.
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(dim,),
                                         initializer="glorot_uniform")

    def _calculate_scores(self, query, key):
        summed = jnp.tanh(query[..., :, None, :] + key[..., None, :, :])
        if self.scale is not None:
            summed = self.scale.value * summed
        return jnp.sum(summed, axis=-1)

    def get_config(self) -> Config:
        config = super().get_config()
        del config["score_mode"]
        return config


__all__ = ["Attention", "AdditiveAttention"]
