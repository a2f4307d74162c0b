"""Embedding: look up a learnt vector for each integer index."""

from __future__ import annotations

import numbers

import jax.numpy as jnp
import numpy as np

from thawnet import initializers, regularizers
from thawnet.layers.layer import Layer, register


def _positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


@register
class Embedding(Layer):
    """Maps integer indices in ``[0, input_dim)`` to dense vectors of size ``output_dim``.

    An input of shape ``(batch, ...)`` gives an output of shape ``(batch, ..., output_dim)``.
    Float inputs are cast to int32 (truncation, as in Keras).

    Out-of-range indices are **clamped** to ``[0, input_dim - 1]`` (JAX gathers cannot raise
    inside compiled code): a negative index reads row 0 and an index ``>= input_dim`` reads
    the last row. Keras on the JAX backend instead returns NaN rows for indices
    ``>= input_dim`` and wraps negative ones; valid inputs give identical results.

    Args:
        input_dim: positive int, size of the vocabulary (largest index + 1).
        output_dim: positive int, size of each embedding vector.
        embeddings_initializer: initializer of the ``(input_dim, output_dim)`` matrix; the
            default ``"uniform"`` is ``RandomUniform(-0.05, 0.05)`` as in Keras.
        embeddings_regularizer: penalty on the matrix added to the training loss.
        embeddings_constraint: constraint stored on the weight.
        mask_zero: whether index 0 is padding; :meth:`compute_mask` then returns
            ``inputs != 0`` (thawnet layers do not yet consume masks automatically).
        weights: optional initial ``(input_dim, output_dim)`` matrix.
        input_length: accepted and ignored, for Keras 2 compatibility.

    >>> import numpy as np
    >>> from thawnet.layers import Embedding
    >>> Embedding(10, 4)(np.array([[1, 2, 3]])).shape
    (1, 3, 4)
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, input_length=None, **kwargs):
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
        self.input_length = input_length
        self.embeddings = None
        if weights is not None:
            if isinstance(weights, (list, tuple)) and len(weights) == 1:
                weights = weights[0]
            if tuple(np.shape(weights)) != (self.input_dim, self.output_dim):
                raise ValueError(f"{who}: weights must have shape (input_dim, output_dim) = "
                                 f"{(self.input_dim, self.output_dim)}; received shape "
                                 f"{tuple(np.shape(weights))}.")
            self._maybe_build(None)
            self.embeddings.assign(jnp.asarray(weights, self.dtype))

    def build(self, input_shape=None):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def call(self, inputs):
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            inputs = inputs.astype(jnp.int32)
        return jnp.take(self.embeddings.value, inputs, axis=0, mode="clip")

    def compute_mask(self, inputs, mask=None):
        """``inputs != 0`` when ``mask_zero``, else None."""
        if not self.mask_zero:
            return None
        return jnp.not_equal(jnp.asarray(inputs), 0)

    def get_config(self):
        config = {**super().get_config(), "input_dim": self.input_dim,
                  "output_dim": self.output_dim,
                  "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                  "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                  "mask_zero": self.mask_zero}
        if self.input_length is not None:
            config["input_length"] = self.input_length
        return config


__all__ = ["Embedding"]
