"""Dropout: zero a fraction ``rate`` of inputs in training, scale the rest by 1/(1-rate)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.layers.layer import Layer, register


@register
class Dropout(Layer):
    """Randomly drops inputs in training mode; the identity at inference.

    Args:
        rate: float in [0, 1), fraction of the inputs to drop.
        noise_shape: broadcastable shape of the mask (e.g. ``(None, 1, features)``).
        seed: optional int, fixes the masks of eager calls.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f'Dropout "{self.name}": rate must be in [0, 1); received '
                             f"rate={rate}.")
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        keep = jax.random.bernoulli(self.next_rng(), 1.0 - self.rate, shape)
        return jnp.where(keep, inputs / (1.0 - self.rate), jnp.zeros_like(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}
