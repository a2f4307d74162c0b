"""Dropout: zero a fraction ``rate`` of inputs in training, scale the rest by 1/(1-rate)."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from thawnet.backend.types import Config, SeedLike, ShapeLike, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.layer import Layer, register
from thawnet.layers.seed_generator import seed_holder


def _check_noise_shape(who, noise_shape):
    """``noise_shape`` as a tuple of positive ints and Nones (None stays None)."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
        raise ValueError(f"{who}: noise_shape must be a tuple or list of integers (or None "
                         f"for the input's size); received noise_shape={noise_shape!r}.")
    noise_shape = tuple(noise_shape)
    for i, dim in enumerate(noise_shape):
        if dim is None:
            continue
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
            raise ValueError(f"{who}: every entry of noise_shape must be an integer or None; "
                             f"received noise_shape={noise_shape!r} (entry {i} is {dim!r}).")
        if dim <= 0:
            raise ValueError(f"{who}: every entry of noise_shape must be a positive integer or "
                             f"None; received noise_shape={noise_shape!r} (entry {i} is {dim}).")
    return noise_shape


@register
class Dropout(Layer):
    """Randomly drops inputs in training mode; the identity at inference.

    Args:
        rate: float in [0, 1), fraction of the inputs to drop.
        noise_shape: broadcastable shape of the mask (e.g. ``(None, 1, features)``).
        seed: optional int, fixes the masks of eager calls.
    """

    supports_masking = True  # keeps the time axis: the mask passes through (Keras)

    def __init__(self, rate: float, noise_shape: ShapeLike | None = None, seed: SeedLike = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'Dropout "{self.name}"'
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool):
            raise ArgumentTypeError(f"{who}: rate must be a float in [0, 1) (the fraction of "
                                    f"inputs to drop); received rate={rate!r}.")
        if not 0 <= rate < 1:
            raise ValueError(f"{who}: rate must be in [0, 1); received rate={rate}. (A rate "
                             "of 1 would drop everything; remove the layer's input instead.)")
        if isinstance(seed, (str, float, bool)):
            raise ValueError(f"{who}: seed must be an integer or None; received seed={seed!r}.")
        self.rate, self.seed = rate, seed
        self.noise_shape = _check_noise_shape(who, noise_shape)
        if rate > 0:  # as Keras's (a seed holder here: masks come from the step's key)
            self.seed_generator = seed_holder(seed)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def call(self, inputs: TensorTree, training: bool | None = False) -> TensorTree:
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        keep = jax.random.bernoulli(self.next_rng(), 1.0 - self.rate, shape)
        return jnp.where(keep, inputs / (1.0 - self.rate), jnp.zeros_like(inputs))

    def get_config(self) -> Config:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}
