"""MultiHeadAttention: project query, key and value onto heads, attend, project back.

With ``(B, T, dim)`` queries and ``(B, S, dim)`` values (``attention_axes`` default)::

    q = query @ Wq + bq        (B, T, heads, key_dim)      sublayer "query"
    k = key @ Wk + bk          (B, S, heads, key_dim)      sublayer "key"
    v = value @ Wv + bv        (B, S, heads, value_dim)    sublayer "value"
    p = softmax(q . k / sqrt(key_dim), over S, masked)     (B, heads, T, S)
    out = (p . v) @ Wo + bo    (B, T, output_shape)        sublayer "attention_output"

The four projections are EinsumDense sublayers with Keras's names, so weight paths and order
(``query/kernel``, ``query/bias``, ``key/...``, ``value/...``, ``attention_output/...``) are
Keras 3's and Keras ``.weights.h5`` files load. Without dropout, without returned scores and
for one attention axis, the attention runs in ``jax.nn.dot_product_attention`` (the fused GPU
kernel where JAX has one); otherwise it is written out with an explicit masked softmax.
"""

from __future__ import annotations

import math
import numbers
import string
from typing import Any

import jax.numpy as jnp

from thawnet import constraints, initializers, regularizers
from thawnet.backend.types import Config, Identifier, SeedLike, ShapeLike, TensorLike, TensorTree
from thawnet.layers import _attention_common as common
from thawnet.layers.einsum_dense import EinsumDense
from thawnet.layers.layer import Layer, register

_LETTERS = string.ascii_lowercase


def projection_equation(free_dims: int, bound_dims: int, output_dims: int):
    """``(equation, bias_axes, output_rank)`` of a projection: ``free_dims`` axes pass
    through, ``bound_dims`` are contracted with the kernel, ``output_dims`` are new."""
    free = _LETTERS[:free_dims]
    bound = _LETTERS[free_dims:free_dims + bound_dims]
    new = _LETTERS[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{new}->{free}{new}", new, free_dims + output_dims


def attention_equations(rank: int, attn_axes: tuple[int, ...]):
    """Einsum equations of the scores and of the combination, for projected tensors of
    ``rank`` axes ``(batch, <other axes>, <attention axes>, heads, channels)``.

    Returns ``(scores_equation, combine_equation, scores_rank)``: scores are
    ``key, query -> (<batch axes incl. heads>, <query attention axes>, <key attention axes>)``.
    """
    target = _LETTERS[:rank]
    batch_axes = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, extra = list(target), iter(_LETTERS[rank:])
    for i in attn_axes:
        source[i] = next(extra)
    source = "".join(source)
    product = ("".join(target[i] for i in batch_axes) + "".join(target[i] for i in attn_axes)
               + "".join(source[i] for i in attn_axes))
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def _positive_int(who, name, value, allow_none=False):
    if allow_none and value is None:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{who}: Received an invalid value for argument `{name}`, expected a "
                         f"positive integer{' or `None`' if allow_none else ''}. Received: "
                         f"{name}={value!r}")
    return int(value)


@register
class MultiHeadAttention(Layer):
    """Multi-head (scaled dot-product) attention, as in "Attention is all you need".

    Args:
        num_heads: number of heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default ``key_dim``).
        dropout: dropout rate on the attention probabilities (training only).
        use_bias: whether the projections have biases.
        output_shape: the last axes of the output (int or tuple); default the query's last.
        attention_axes: axes of the inputs attended over (default all but batch and last).
        sliding_window: if set, query step t attends to key steps within this distance.
        flash_attention: None (JAX picks), True or False (``implementation="xla"``).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: of the four projections.
        use_gate: multiply the attended values by a sigmoid gate projected from the query.
        seed: seed of the dropout.

    Call arguments: ``query (B, T, dim)``, ``value (B, S, dim)``, ``key`` (default
    ``value``), ``query_mask (B, T)``, ``value_mask`` / ``key_mask (B, S)``,
    ``attention_mask (B, T, S)`` (True = attend), ``return_attention_scores`` (also return
    the ``(B, heads, T, S)`` probabilities), ``training``, ``use_causal_mask``.

    >>> import numpy as np
    >>> from thawnet.layers import MultiHeadAttention
    >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = np.ones((1, 3, 8), "float32")
    >>> out, scores = layer(x, x, return_attention_scores=True)
    >>> out.shape, scores.shape
    ((1, 3, 8), (1, 2, 3, 3))
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True, output_shape: ShapeLike | None = None,
                 attention_axes: Any = None, sliding_window: int | None = None,
                 flash_attention: bool | None = None,
                 kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, activity_regularizer: Identifier = None,
                 kernel_constraint: Identifier = None, bias_constraint: Identifier = None,
                 use_gate: bool = False, seed: SeedLike = None, **kwargs) -> None:
        who = f"{type(self).__name__}"
        num_heads = _positive_int(who, "num_heads", num_heads)
        key_dim = _positive_int(who, "key_dim", key_dim)
        value_dim = _positive_int(who, "value_dim", value_dim, allow_none=True)
        super().__init__(**kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        self.supports_masking = True
        self._num_heads, self._key_dim = num_heads, key_dim
        self._value_dim = value_dim or key_dim
        self._dropout, self._use_bias, self._use_gate = float(dropout), use_bias, use_gate
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(output_shape)
            except TypeError:
                raise ValueError(f"{who}: Invalid `output_shape`: {output_shape!r}. It must be "
                                 "an int, a tuple or a list of ints.") from None
        self._output_shape = output_shape or None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"{who}: `attention_axes` must be an int, list, or tuple. "
                             f"Received: attention_axes={attention_axes!r}")
        self._attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._sliding_window = _positive_int(who, "sliding_window", sliding_window, True)
        # Keras's rule: the argument, or else the global switch at construction.
        self._flash_attention = flash_attention or common.is_flash_attention_enabled()
        common.check_flash(who, flash_attention, self._dropout)
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        common.hold_seed(self, self._dropout, seed)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(key_dim))

    # Keras's read-only properties.
    num_heads = common.read_only("_num_heads", int)
    key_dim = common.read_only("_key_dim", int)
    value_dim = common.read_only("_value_dim", int)
    dropout = common.read_only("_dropout", float)
    use_bias = common.read_only("_use_bias", bool)
    attention_axes = common.read_only("_attention_axes", tuple[int, ...] | None)

    # -- building ----------------------------------------------------------------------------
    def _projection(self, name, equation, bias_axes, output_shape, activation=None):
        # Every projection gets its own copy of the initializers (a seeded initializer
        # object shared by four kernels would give them the same values).
        init = self._kernel_initializer
        bias_init = self._bias_initializer
        return EinsumDense(
            equation, output_shape=output_shape, activation=activation,
            bias_axes=bias_axes if self._use_bias else None, name=name,
            kernel_initializer=type(init).from_config(init.get_config())
            if isinstance(init, initializers.Initializer) else init,
            bias_initializer=type(bias_init).from_config(bias_init.get_config())
            if isinstance(bias_init, initializers.Initializer) else bias_init,
            kernel_regularizer=self._kernel_regularizer,
            bias_regularizer=self._bias_regularizer,
            activity_regularizer=self._activity_regularizer,
            kernel_constraint=self._kernel_constraint, bias_constraint=self._bias_constraint,
            dtype=self.dtype_policy)

    def _heads_projection(self, name, input_shape, size, activation=None):
        equation, bias_axes, rank = projection_equation(len(input_shape) - 1, 1, 2)
        layer = self._projection(name, equation, bias_axes,
                                 [None] * (rank - 3) + [self._num_heads, size], activation)
        layer.build(input_shape)
        return layer

    def _track(self, layer):
        # Sublayers held in private attributes are listed here, in Keras's weight order.
        self._sublayers.append(layer)
        self._structure_changed()
        return layer

    def _set_projection(self, name: str, layer) -> None:
        # Keras 3 files name these groups by the public properties ``query_dense``, ...
        # (``_gate_dense`` has none); an instance attribute of that name is what thawnet's
        # Keras file reader and writer look for. ``_query_dense`` is Keras's private name.
        if name == "gate":
            self._track(layer)
        else:
            setattr(self, f"{name}_dense", layer)  # tracked as a sublayer, in this order
        object.__setattr__(self, f"_{name}_dense", layer)

    def build(self, query_shape: ShapeLike, value_shape: ShapeLike | None = None,
              key_shape: ShapeLike | None = None) -> None:
        """Create the four projections for inputs of these shapes."""
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        self._shapes_dict = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not None:
            self._shapes_dict["key_shape"] = tuple(key_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f'{type(self).__name__} "{self.name}": All dimensions of `value` '
                             "and `key`, except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")
        self._set_projection("query", self._heads_projection("query", query_shape,
                                                             self._key_dim))
        self._set_projection("key", self._heads_projection("key", key_shape, self._key_dim))
        if self._use_gate:
            self._set_projection("gate", self._heads_projection(
                "gate", query_shape, self._value_dim, "sigmoid"))
        self._set_projection("value", self._heads_projection("value", value_shape,
                                                             self._value_dim))
        rank = len(query_shape) + 1
        axes = self._attention_axes or tuple(range(1, rank - 2))
        self._attention_axes = tuple(a if a >= 0 else rank - 1 + a for a in axes)
        self._dot_product_equation, self._combine_equation, scores_rank = \
            attention_equations(rank, self._attention_axes)
        self._softmax_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        out_shape = self._output_shape or (query_shape[-1],)
        equation, bias_axes, out_rank = projection_equation(len(query_shape) - 1, 2,
                                                            len(out_shape))
        self._set_projection("output", self._projection(
            "attention_output", equation, bias_axes,
            [None] * (out_rank - 1 - len(out_shape)) + list(out_shape)))
        projected = list(self._query_dense.compute_output_shape(query_shape))
        projected[-1] = self._value_dim
        self._output_dense.build(tuple(projected))

    def get_build_config(self) -> dict | None:
        """Keras 3's build config: ``{"shapes_dict": {"query_shape": ..., ...}}`` (what a
        ``.keras`` file holds for this layer, so that Keras can build it before loading)."""
        shapes = self.__dict__.get("_shapes_dict")
        if shapes is None:
            return None
        return {"shapes_dict": {k: tuple(None if d is None else int(d) for d in v)
                                for k, v in shapes.items()}}

    def build_from_config(self, config: dict) -> None:
        """Build from :meth:`get_build_config`'s dict (or Keras's ``input_shape`` form)."""
        if "shapes_dict" in config:
            self.build(**config["shapes_dict"])
        elif config.get("input_shape") is not None:
            self.build(config["input_shape"])

    # -- calling -----------------------------------------------------------------------------
    def __call__(self, query: TensorLike, value: TensorLike | None = None,
                 key: TensorLike | None = None, **kwargs) -> TensorTree:
        if value is None:
            raise ValueError(f'{type(self).__name__} "{self.name}" needs query and value: '
                             "call it as layer(query, value) (self-attention: "
                             "layer(x, x)).")
        if not self.built:
            self.build(common.shape_of(query), common.shape_of(value),
                       None if key is None else common.shape_of(key))
        return super().__call__(query, value, key, **kwargs)

    def _mask_of(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                 use_causal_mask):
        return common.combined_mask(
            query.shape[1], value.shape[1], query_mask, value_mask, key_mask, attention_mask,
            use_causal_mask, self._sliding_window)

    def call(self, query: TensorLike, value: TensorLike, key: TensorLike | None = None,
             query_mask: TensorLike | None = None, value_mask: TensorLike | None = None,
             key_mask: TensorLike | None = None, attention_mask: TensorLike | None = None,
             return_attention_scores: bool = False, training: bool | None = None,
             use_causal_mask: bool = False) -> TensorTree:
        compute = self.compute_dtype
        value = value.astype(compute) if jnp.issubdtype(value.dtype, jnp.floating) else value
        key = value if key is None else key.astype(compute)
        # Causal masking alone runs as the fused kernel's is_causal flag (no (T, S) mask),
        # unless a subclass computes the attention its own way (it gets the mask instead).
        causal_only = (use_causal_mask and self._sliding_window is None
                       and type(self)._compute_attention is MultiHeadAttention._compute_attention
                       and all(m is None for m in (query_mask, value_mask, key_mask,
                                                   attention_mask)))
        mask = None if causal_only else self._mask_of(
            query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        # The projections run without the inputs' masks (the masks are used above, as
        # Keras 3 does): ``_run`` is the call without mask propagation.
        gate = self._gate_dense._run(query) if self._use_gate else None
        q = self._query_dense._run(query)
        k = self._key_dense._run(key)
        v = self._value_dense._run(value)
        extra = {"use_causal_mask": True} if causal_only else {}
        out, scores = self._compute_attention(q, k, v, mask, training, return_attention_scores,
                                              **extra)
        if gate is not None:
            out = out * gate
        out = self._output_dense._run(out)
        return (out, scores) if return_attention_scores else out

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        """Attention of projected ``(B, T, N, key_dim)`` queries over keys and values;
        returns ``(outputs, probabilities or None)``."""
        if self._flash_attention and return_attention_scores:
            raise ValueError(f'{type(self).__name__} "{self.name}": Returning attention scores '
                             "is not supported when flash attention is enabled. Set "
                             "flash_attention=None (or False) to get the scores.")
        # jax.nn.dot_product_attention needs equal head sizes for keys and values.
        fused = query.ndim == 4 and value.shape[-1] == query.shape[-1]
        fused = fused and common.fused_kernel_pays(self._flash_attention, attention_mask,
                                                   query.dtype)
        if fused and not (self._dropout > 0 or return_attention_scores):
            # The kernel ANDs its causal flag with the mask.
            out = common.fused_attention(query, key, value, attention_mask,
                                         self._inverse_sqrt_key_dim, use_causal_mask,
                                         self._flash_attention)
            return out, None
        if use_causal_mask:
            causal = common.causal_mask(query.shape[1], value.shape[1])
            attention_mask = causal if attention_mask is None else attention_mask & causal
        query = query * jnp.asarray(self._inverse_sqrt_key_dim, query.dtype)
        scores = jnp.einsum(self._dot_product_equation, key, query)
        if attention_mask is not None:
            attention_mask = common.expand_mask(
                attention_mask, scores.ndim, -2 * len(self._attention_axes) - 1)
        probs = common.masked_softmax(scores, attention_mask, self._softmax_axes)
        dropped = common.dropout(self, probs, self._dropout, bool(training))
        return jnp.einsum(self._combine_equation, dropped, value), probs

    # -- shapes and config -------------------------------------------------------------------
    def compute_output_shape(self, query_shape: ShapeLike, value_shape: ShapeLike | None = None,
                             key_shape: ShapeLike | None = None) -> ShapeLike:
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f'{type(self).__name__} "{self.name}": All dimensions of `value` '
                             "and `key`, except the last one, must be equal. Received: "
                             f"value_shape={value_shape} and key_shape={key_shape}")
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def compute_output_spec(self, query: TensorLike, value: TensorLike | None = None,
                            key: TensorLike | None = None, **kwargs) -> Any:
        if not self.built:
            self.build(common.shape_of(query), common.shape_of(value),
                       None if key is None else common.shape_of(key))
        return super().compute_output_spec(query, value, key, **kwargs)

    def get_config(self) -> Config:
        return {**super().get_config(), "num_heads": self._num_heads,
                "key_dim": self._key_dim, "value_dim": self._value_dim,
                "dropout": self._dropout, "use_bias": self._use_bias,
                "use_gate": self._use_gate, "output_shape": self._output_shape,
                "attention_axes": self._attention_axes,
                "sliding_window": self._sliding_window,
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self._bias_regularizer),
                "activity_regularizer": regularizers.serialize(self._activity_regularizer),
                "kernel_constraint": constraints.serialize(self._kernel_constraint),
                "bias_constraint": constraints.serialize(self._bias_constraint),
                "seed": self.seed}


__all__ = ["MultiHeadAttention"]
