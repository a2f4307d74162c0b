"""Embedding: look up a learnt vector for each integer index."""

from __future__ import annotations

import numbers
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from thawnet import initializers, regularizers
from thawnet.backend.types import Array, ArrayLike, Config, Identifier, ShapeLike, TensorTree
from thawnet.layers.layer import Layer, register
from thawnet.layers.lora import LoraMixin
from thawnet.variables import Variable


def _positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def out_of_range_message(layer_name: str, input_dim: int, low: int, high: int,
                         where: str = "") -> str:
    """The error for indices outside ``[0, input_dim)``, shared with ``fit``'s data check.

    Args:
        layer_name: the Embedding's name.
        input_dim: its vocabulary size.
        low, high: the smallest and largest index received.
        where: optional text saying where the first bad index is.

    Returns:
        A message naming the layer, ``input_dim``, the offending index and range, and fixes.
    """
    bad = high if high >= input_dim else low
    fix = (f"give the layer input_dim={high + 1} or more (the vocabulary size, padding "
           "index included), or map unknown tokens to a reserved index below input_dim"
           if high >= input_dim else "indices must be >= 0; reserve 0 for padding if needed")
    return (f'Embedding "{layer_name}": index {bad} is out of range for input_dim={input_dim} '
            f"(valid indices 0 to {input_dim - 1}); the indices received range from {low} to "
            f"{high}{where}. Fix: {fix}.")


@register
class Embedding(LoraMixin, Layer):
    """Maps integer indices in ``[0, input_dim)`` to dense vectors of size ``output_dim``.

    An input of shape ``(batch, ...)`` gives an output of shape ``(batch, ..., output_dim)``.
    Float inputs are cast to int32 (truncation, as in Keras).

    Out-of-range indices (negative, or ``>= input_dim``):

    * in an eager call on concrete arrays (``layer(x)``) they raise a ``ValueError`` naming
      the layer, ``input_dim`` and the smallest and largest index received;
    * in ``fit``/``evaluate``, an Embedding fed directly by a model input is checked on the
      host once per call, and the error names the first bad sample and its batch;
    * inside compiled code (``jax.jit``, ``model(x)``, ``predict``, or indices computed by
      earlier layers) nothing can raise: such an index reads a row of **NaN**, so the output
      and any loss built on it become NaN instead of silently reusing a valid row. Keras on
      the JAX backend also gives NaN for indices ``>= input_dim``, but wraps negative ones
      around (``-1`` reads the last row); valid inputs give identical results.

    Args:
        input_dim: positive int, size of the vocabulary (largest index + 1).
        output_dim: positive int, size of each embedding vector.
        embeddings_initializer: initializer of the ``(input_dim, output_dim)`` matrix; the
            default ``"uniform"`` is ``RandomUniform(-0.05, 0.05)`` as in Keras.
        embeddings_regularizer: penalty on the matrix added to the training loss.
        embeddings_constraint: constraint stored on the weight.
        mask_zero: whether index 0 is padding; the output then carries the mask
            ``inputs != 0`` (:meth:`compute_mask`), which later layers that take ``mask``
            (RNNs, pooling, attention) and the compiled loss receive automatically.
        weights: optional initial ``(input_dim, output_dim)`` matrix.
        input_length: accepted and ignored, for Keras 2 compatibility.
        lora_rank: if set, LoRA is enabled at build (see :meth:`enable_lora`): the matrix is
            frozen and ``lora_embeddings_a`` ``(input_dim, rank)`` and ``lora_embeddings_b``
            ``(rank, output_dim)`` are trained; lookups read
            ``embeddings + lora_alpha / lora_rank * a @ b``.
        lora_alpha: the LoRA scale's numerator (default ``lora_rank``).

    >>> import numpy as np
    >>> from thawnet.layers import Embedding
    >>> Embedding(10, 4)(np.array([[1, 2, 3]])).shape
    (1, 3, 4)
    """

    # LoRA (lora.py) adapts the embeddings matrix under these names, as Keras 3 does.
    _lora_base_name = "embeddings"
    _lora_factor_names = ("lora_embeddings_a", "lora_embeddings_b")
    _lora_constraint_name = "embeddings_constraint"
    _lora_regularizer_name = "embeddings_regularizer"

    def __init__(self, input_dim: int, output_dim: int,
                 embeddings_initializer: Identifier = "uniform",
                 embeddings_regularizer: Identifier = None,
                 embeddings_constraint: Identifier = None, mask_zero: bool = False,
                 weights: Sequence[ArrayLike] | None = None, input_length: int | None = None,
                 lora_rank: int | None = None, lora_alpha: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'Embedding "{self.name}"'
        if not _positive_int(input_dim):
            raise ValueError(f"{who}: input_dim must be a positive integer (the vocabulary "
                             f"size); received input_dim={input_dim!r}.")
        if not _positive_int(output_dim):
            raise ValueError(f"{who}: output_dim must be a positive integer; received "
                             f"output_dim={output_dim!r}.")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero  # as Keras: only a padding index makes a mask
        self.input_length = input_length
        self._embeddings = None
        self._init_lora(lora_rank, lora_alpha)
        if weights is not None:
            if isinstance(weights, (list, tuple)) and len(weights) == 1:
                weights = weights[0]
            if tuple(np.shape(weights)) != (self.input_dim, self.output_dim):
                raise ValueError(f"{who}: weights must have shape (input_dim, output_dim) = "
                                 f"{(self.input_dim, self.output_dim)}; received shape "
                                 f"{tuple(np.shape(weights))}.")
            self._maybe_build(None)
            self._embeddings.assign(jnp.asarray(weights, self.dtype))

    def build(self, input_shape: ShapeLike | None = None) -> None:
        self._embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                           self.embeddings_initializer,
                                           regularizer=self.embeddings_regularizer,
                                           constraint=self.embeddings_constraint)
        self._build_lora()

    @property
    def embeddings(self) -> Variable:
        """The matrix Variable (None before build); with LoRA enabled, the effective matrix
        (an array), as in Keras."""
        if self._embeddings is None:
            return None
        return self._lora_base_property()

    def call(self, inputs: TensorTree) -> Array:
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            inputs = inputs.astype(jnp.int32)
        if not isinstance(inputs, jax.core.Tracer):  # concrete values: the check is possible
            self._check_indices(inputs)
        # Negative indices would wrap around in jnp.take: send them out of range as well, so
        # that every bad index reads NaN (mode="fill") rather than another token's row.
        inputs = jnp.where(inputs < 0, self.input_dim, inputs)
        table = self._lora_effective(self._embeddings.value)
        return jnp.take(table, inputs, axis=0, mode="fill")

    def _check_indices(self, inputs):
        values = np.asarray(inputs)
        if values.size == 0:
            return
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= self.input_dim:
            raise ValueError(out_of_range_message(self.name, self.input_dim, low, high))

    def compute_mask(self, inputs: TensorTree, mask: TensorTree | None = None) -> Array | None:
        """``inputs != 0`` when ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        return jnp.not_equal(jnp.asarray(inputs), 0)

    def get_config(self) -> Config:
        config = {**super().get_config(), "input_dim": self.input_dim,
                  "output_dim": self.output_dim,
                  "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                  "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                  "mask_zero": self.mask_zero}
        if self.input_length is not None:
            config["input_length"] = self.input_length
        return {**config, **self._lora_config()}


__all__ = ["Embedding"]
