"""Masks and the softmax shared by MultiHeadAttention and GroupedQueryAttention.

A mask is boolean, True where a query position may attend to a key position. The masks of the
inputs combine by logical AND into one ``(batch, T, S)`` mask (``T`` query steps, ``S`` key
steps): the query's ``(B, T)`` mask as ``(B, T, 1)``, the value's and key's ``(B, S)`` masks as
``(B, 1, S)``, a causal mask and a sliding window as ``(1, T, S)``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from thawnet.layers.seed_generator import seed_holder

# Added to masked scores before the softmax (float16 cannot hold -1e9).
_LARGE_NEGATIVE = {"float16": -3e4}

# Keras 3's global flash-attention switch (keras.config.enable/disable_flash_attention):
# None lets JAX choose the kernel, False asks for the plain XLA one.
_flash = {"enabled": None}


def enable_flash_attention() -> None:
    """Let attention layers created with ``flash_attention=None`` use a fused kernel
    (JAX picks one where the inputs allow; the default)."""
    _flash["enabled"] = None


def disable_flash_attention() -> None:
    """Make attention layers created with ``flash_attention=None`` use the XLA kernel."""
    _flash["enabled"] = False


def is_flash_attention_enabled() -> bool:
    """``False`` after :func:`disable_flash_attention`, else ``None`` (Keras's values)."""
    return _flash["enabled"]


def causal_mask(q_len: int, k_len: int):
    """``(1, T, S)``: query step t attends to key steps s <= t."""
    return (jnp.arange(q_len)[:, None] >= jnp.arange(k_len)[None, :])[None]


def sliding_window_mask(q_len: int, k_len: int, window: int):
    """``(1, T, S)``: key steps within ``window - 1`` of the query step, either side."""
    return (jnp.abs(jnp.arange(q_len)[:, None] - jnp.arange(k_len)[None, :]) < window)[None]


def combined_mask(q_len: int, k_len: int, query_mask=None, value_mask=None, key_mask=None,
                  attention_mask=None, use_causal_mask=False, sliding_window=None):
    """All given masks ANDed into one boolean mask (or None when there is none)."""
    parts = []
    if query_mask is not None:
        parts.append(jnp.asarray(query_mask).astype(bool)[..., :, None])
    for m in (value_mask, key_mask):
        if m is not None:
            parts.append(jnp.asarray(m).astype(bool)[..., None, :])
    if use_causal_mask:
        parts.append(causal_mask(q_len, k_len))
    if sliding_window is not None:
        parts.append(sliding_window_mask(q_len, k_len, sliding_window))
    if attention_mask is not None:
        parts.insert(0, jnp.asarray(attention_mask).astype(bool))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out & p
    return out


def expand_mask(mask, rank: int, axis: int):
    """Insert size-1 axes at ``axis`` until ``mask`` has ``rank`` axes (the head axes)."""
    while mask.ndim < rank:
        mask = jnp.expand_dims(mask, axis)
    return mask


def masked_softmax(scores, mask, axes: tuple[int, ...]):
    """Softmax over ``axes``; masked positions get probability 0.

    Masked scores are replaced by a large negative number before the softmax, and the
    probabilities at masked positions are set to 0 after it, so that a query whose keys are
    all masked gets zeros rather than a uniform distribution.
    """
    if mask is not None:
        scores = jnp.where(mask, scores, _LARGE_NEGATIVE.get(scores.dtype.name, -1e9))
    if len(axes) == 1:
        probs = jax.nn.softmax(scores, axis=axes[0])
    else:
        probs = jnp.exp(scores - jax.nn.logsumexp(scores, axis=axes, keepdims=True))
    if mask is not None:
        probs = jnp.where(mask, probs, jnp.zeros((), probs.dtype))
    return probs


def hold_seed(layer, rate: float, seed) -> None:
    """Give a layer with attention dropout the ``seed_generator`` Keras counts (only when
    ``rate > 0``, as Keras's). A seed holder: the masks come from the step's key
    (:func:`dropout`), so its state does not advance (README, deliberate differences)."""
    if rate > 0:
        layer.seed_generator = seed_holder(seed)


def dropout(layer, x, rate: float, training: bool):
    """Inverted dropout of the attention probabilities, with the layer's random key."""
    if not training or rate <= 0:
        return x
    keep = jax.random.bernoulli(layer.next_rng(), 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros((), x.dtype))


def fused_attention(query, key, value, mask, scale: float, is_causal: bool,
                    flash_attention):
    """``jax.nn.dot_product_attention`` on ``(B, T, N, H)`` tensors (the GPU's fused kernel
    where JAX has one); ``mask`` is ``(B, T, S)`` or ``(B, N, T, S)`` boolean or None."""
    if mask is not None:
        mask = expand_mask(mask, 4, -3)
    implementation = "xla" if flash_attention is False else None
    dtype = jnp.result_type(query.dtype, key.dtype, value.dtype)
    return jax.nn.dot_product_attention(
        query.astype(dtype), key.astype(dtype), value.astype(dtype), mask=mask,
        scale=scale, is_causal=is_causal, implementation=implementation)


def fused_kernel_pays(flash_attention: bool | None, mask, dtype="float32") -> bool:
    """Whether to call ``jax.nn.dot_product_attention`` rather than the explicit einsum and
    softmax. On accelerators, yes (JAX's fused kernels). On the CPU JAX has none: its XLA
    implementation materialises extra ``(B, N, T, S)`` broadcasts and copies, and the
    explicit path was 1.1x-1.2x faster forward and backward (BENCHMARKS.md). Kept on the
    CPU when asked for (``flash_attention=True``) and with a mask, whose queries that see no
    key get the kernel's values (as Keras) rather than the explicit path's zeros; and below
    float32, where the kernel takes its softmax in float32 and the explicit path would not."""
    return (bool(flash_attention) or mask is not None or jax.default_backend() != "cpu"
            or jnp.dtype(dtype) != jnp.float32)


def check_flash(who: str, flash_attention, dropout_rate: float) -> None:
    if flash_attention and dropout_rate > 0.0:
        raise ValueError(f"{who}: Dropout is not supported when flash attention is enabled; "
                         f"received dropout={dropout_rate} with flash_attention=True. Set "
                         "dropout to 0.0 to use flash attention, or flash_attention=None.")


def shape_of(x):
    """The shape of an array, a symbolic tensor or a shape tuple."""
    return tuple(x) if isinstance(x, (tuple, list)) else tuple(x.shape)


def read_only(attribute: str, kind: Any) -> property:
    """A read-only property returning ``self.<attribute>``, annotated as returning ``kind``
    (Keras's public attributes of the attention layers: ``num_heads``, ``dropout``...)."""
    def get(self: Any) -> Any:
        return getattr(self, attribute)
    get.__annotations__["return"] = kind
    get.__name__ = get.__qualname__ = attribute.lstrip("_")
    return property(get)
