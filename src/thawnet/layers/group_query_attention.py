"""GroupedQueryAttention: attention where groups of query heads share one key/value head.

``num_query_heads`` query heads attend over ``num_key_value_heads`` key and value heads; each
key/value head serves ``num_query_heads // num_key_value_heads`` query heads (1 key/value head:
multi-query attention; as many as query heads: multi-head attention). Sublayers ``query``,
``key``, (``gate``), ``value`` and ``attention_output`` are EinsumDense layers with Keras 3's
equations, names and order. Keras 3 exports the class as ``keras.layers.GroupQueryAttention``;
both names are available here.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import jax.numpy as jnp

from thawnet import constraints, initializers, regularizers
from thawnet.backend.types import Config, Identifier, SeedLike, ShapeLike, TensorLike, TensorTree
from thawnet.layers import _attention_common as common
from thawnet.layers.layer import register
from thawnet.layers.multi_head_attention import MultiHeadAttention, _positive_int


@register
class GroupedQueryAttention(MultiHeadAttention):
    """Grouped-query attention (Ainslie et al., 2023).

    Args:
        head_dim: size of each head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key and value heads; divides ``num_query_heads``.
        dropout, use_bias, sliding_window, flash_attention, kernel_initializer,
        bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint, use_gate, seed: as MultiHeadAttention.

    Call arguments as :class:`MultiHeadAttention`; the output has the query's last axis and
    the returned scores are ``(B, num_query_heads, T, S)``.
    """

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int,
                 dropout: float = 0.0, use_bias: bool = True, sliding_window: int | None = None,
                 flash_attention: bool | None = None,
                 kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, bias_constraint: Identifier = None,
                 use_gate: bool = False, seed: SeedLike = None, **kwargs) -> None:
        who = type(self).__name__
        num_query_heads = _positive_int(who, "num_query_heads", num_query_heads)
        num_key_value_heads = _positive_int(who, "num_key_value_heads", num_key_value_heads)
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError(f"{who}: `num_query_heads` must be divisible by "
                             f"`num_key_value_heads`. Received: num_query_heads="
                             f"{num_query_heads}, num_key_value_heads={num_key_value_heads}")
        super().__init__(num_heads=num_query_heads, key_dim=head_dim, dropout=dropout,
                         use_bias=use_bias, sliding_window=sliding_window,
                         flash_attention=flash_attention,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         use_gate=use_gate, seed=seed, **kwargs)
        self.head_dim = self._key_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(self.head_dim))

    # Keras's public attribute names for the arguments.
    dropout = common.read_only("_dropout", float)
    use_bias = common.read_only("_use_bias", bool)
    use_gate = common.read_only("_use_gate", bool)
    sliding_window = common.read_only("_sliding_window", int | None)
    kernel_initializer = common.read_only("_kernel_initializer", Callable[..., Any])
    bias_initializer = common.read_only("_bias_initializer", Callable[..., Any])
    kernel_regularizer = common.read_only("_kernel_regularizer", Callable[..., Any] | None)
    bias_regularizer = common.read_only("_bias_regularizer", Callable[..., Any] | None)
    kernel_constraint = common.read_only("_kernel_constraint", Callable[..., Any] | None)
    bias_constraint = common.read_only("_bias_constraint", Callable[..., Any] | None)

    def build(self, query_shape: ShapeLike, value_shape: ShapeLike | None = None,
              key_shape: ShapeLike | None = None) -> None:
        """Create the projections for ``(B, T, dim)`` queries and ``(B, S, dim)`` values."""
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        self._shapes_dict = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not None:
            self._shapes_dict["key_shape"] = tuple(key_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self.feature_dim = query_shape[-1]
        heads, kv_heads, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        bias = self._use_bias
        specs = [("query", "bqm,muh->bquh", "uh", heads, query_shape, None),
                 ("key", "bkm,mvh->bkvh", "vh", kv_heads, key_shape, None)]
        if self._use_gate:
            specs.append(("gate", "bqm,muh->bquh", "uh", heads, query_shape, "sigmoid"))
        specs.append(("value", "bkm,mvh->bkvh", "vh", kv_heads, value_shape, None))
        for name, equation, bias_axes, n, shape, activation in specs:
            layer = self._projection(name, equation, bias_axes if bias else None,
                                     (None, n, size), activation)
            layer.build(shape)
            setattr(self, f"_{name}_dense", self._track(layer))
        self._attention_axes = (1,)
        self._dot_product_equation = "bquh,bkuh->buqk"
        self._combine_equation = "buqk,bkuh->bquh"
        self._softmax_axes = (3,)
        self._output_dense = self._track(self._projection(
            "attention_output", "bquh,uhm->bqm", "m" if bias else None,
            (None, self.feature_dim)))
        self._output_dense.build((None, None, heads, size))

    def call(self, query: TensorLike, value: TensorLike, key: TensorLike | None = None,
             query_mask: TensorLike | None = None, value_mask: TensorLike | None = None,
             key_mask: TensorLike | None = None, attention_mask: TensorLike | None = None,
             return_attention_scores: bool = False, training: bool | None = None,
             use_causal_mask: bool = False) -> TensorTree:
        # Keras's GroupedQueryAttention reads this flag in _compute_attention (its override
        # point takes no return_attention_scores argument).
        self._return_attention_scores = return_attention_scores
        compute = self.compute_dtype
        value = value.astype(compute) if jnp.issubdtype(value.dtype, jnp.floating) else value
        key = value if key is None else key.astype(compute)
        causal_only = (use_causal_mask and self._sliding_window is None
                       and type(self)._compute_attention
                       is GroupedQueryAttention._compute_attention
                       and all(m is None for m in (query_mask, value_mask, key_mask,
                                                   attention_mask)))
        mask = None if causal_only else self._mask_of(
            query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        # Projections without the inputs' masks (``_run``: see MultiHeadAttention.call).
        gate = self._gate_dense._run(query) if self._use_gate else None
        q = self._query_dense._run(query)
        # Each key/value head serves num_repeats consecutive query heads.
        k = jnp.repeat(self._key_dense._run(key), self.num_repeats, axis=2)
        v = jnp.repeat(self._value_dense._run(value), self.num_repeats, axis=2)
        extra = {"use_causal_mask": True} if causal_only else {}
        out, scores = self._compute_attention(q, k, v, attention_mask=mask, training=training,
                                              **extra)
        if gate is not None:
            out = out * gate
        out = self._output_dense._run(out)
        return (out, scores) if return_attention_scores else out

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           use_causal_mask=False):
        """Attention of projected ``(B, T, heads, head_dim)`` tensors (keys and values
        already repeated to the query heads); ``(outputs, probabilities or None)``."""
        scores_wanted = getattr(self, "_return_attention_scores", False)
        if self._flash_attention and scores_wanted:
            raise ValueError(f'{type(self).__name__} "{self.name}": Returning attention scores '
                             "is not supported when flash attention is enabled. Set "
                             "flash_attention=None (or False) to get the scores.")
        if not (self._dropout > 0 or scores_wanted):
            out = common.fused_attention(query, key, value, attention_mask,
                                         self._inverse_sqrt_head_dim, use_causal_mask,
                                         self._flash_attention)
            return out, None
        if use_causal_mask:
            causal = common.causal_mask(query.shape[1], value.shape[1])
            attention_mask = causal if attention_mask is None else (
                jnp.asarray(attention_mask).astype(bool) & causal)
        # Keras computes these scores as einsum(query, key) (MultiHeadAttention: key, query).
        query = query * jnp.asarray(self._inverse_sqrt_head_dim, query.dtype)
        scores = jnp.einsum(self._dot_product_equation, query, key)
        if attention_mask is not None:
            attention_mask = common.expand_mask(jnp.asarray(attention_mask).astype(bool),
                                                scores.ndim, -3)
        probs = common.masked_softmax(scores, attention_mask, self._softmax_axes)
        dropped = common.dropout(self, probs, self._dropout, bool(training))
        return jnp.einsum(self._combine_equation, dropped, value), probs

    def compute_output_shape(self, query_shape: ShapeLike, value_shape: ShapeLike | None = None,
                             key_shape: ShapeLike | None = None) -> ShapeLike:
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        if query_shape[-1] != value_shape[-1]:
            raise ValueError(
                f'{type(self).__name__} "{self.name}": The last dimension of `query_shape` '
                f"and `value_shape` must be equal, but are {query_shape[-1]}, "
                f"{value_shape[-1]}. Received: query_shape={query_shape}, "
                f"value_shape={value_shape}")
        return super().compute_output_shape(query_shape, value_shape, key_shape)

    def get_config(self) -> Config:
        base = {k: v for k, v in super().get_config().items()
                if k not in ("num_heads", "key_dim", "value_dim", "output_shape",
                             "attention_axes")}
        return {**base, "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads,
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self._bias_regularizer),
                "kernel_constraint": constraints.serialize(self._kernel_constraint),
                "bias_constraint": constraints.serialize(self._bias_constraint)}


GroupQueryAttention = GroupedQueryAttention
# Keras 3 writes this class as "GroupQueryAttention" in .keras files: read and write that name.
GroupedQueryAttention.keras_class_name = "GroupQueryAttention"
register(GroupedQueryAttention, "GroupQueryAttention")

__all__ = ["GroupedQueryAttention", "GroupQueryAttention"]
