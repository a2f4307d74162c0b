"""Random regularisation layers active in training only: GaussianNoise, GaussianDropout,
AlphaDropout.

Each is the identity at inference. In training mode each draws from the stateless bridge's key
inside ``fit``/``stateless_call`` (``self.next_rng()``, as Dropout), so a compiled step gets
fresh noise every step; see :func:`draw_key` for eager calls. Like Keras's, a layer that can
draw (rate/stddev > 0) holds a ``random.SeedGenerator`` (``seed_generator``, one of its
``non_trainable_variables``, not of its weights); thawnet uses it as a seed holder only: its
state does not advance, the step's key does (README, deliberate differences).
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp

from thawnet.backend import scope as scope_lib
from thawnet.backend.types import Config, SeedLike, ShapeLike, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.dropout import _check_noise_shape
from thawnet.layers.layer import Layer, register
from thawnet.layers.seed_generator import seed_holder

# SELU's constants (Klambauer et al., 2017): AlphaDropout drops to SELU's negative saturation.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_fraction(who: str, name: str, value, meaning: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ArgumentTypeError(f"{who}: {name} must be a float between 0 and 1 ({meaning}); "
                                f"received {name}={value!r}.")
    if not 0 <= value <= 1:
        raise ValueError(f"{who}: Invalid value received for argument `{name}`. Expected a "
                         f"float value between 0 and 1 ({meaning}). Received: {name}={value}")
    return value


def _check_seed(who: str, seed):
    if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
        raise ValueError(f"{who}: seed must be an integer or None; received seed={seed!r}.")
    return seed


def draw_key(layer):
    """The key for ``layer``'s next draw. Inside a stateless call (``fit``, ``model(x)``,
    ``stateless_call``) it is the bridge's key; in a direct eager call of a layer built with
    ``seed=`` it comes from that seed and a per-layer count (the same sequence for the same
    seed, as a Keras SeedGenerator gives); otherwise from the global eager stream."""
    if layer.seed is not None and scope_lib.current() is None:
        count = layer.__dict__.get("_seeded_draws", 0) + 1
        object.__setattr__(layer, "_seeded_draws", count)
        return jax.random.fold_in(jax.random.PRNGKey(layer.seed), count)
    return layer.next_rng()


class _TrainingNoise(Layer):
    """Shared shape/mask behaviour: output shape = input shape, masks pass through."""

    supports_masking = True  # no build(): built at construction, as Keras's

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape


@register
class GaussianNoise(_TrainingNoise):
    """Adds ``N(0, stddev**2)`` noise in training mode: ``x + stddev * eps``.

    Args:
        stddev: float in [0, 1], the noise's standard deviation.
        seed: optional int, fixes the noise of eager calls.
    """

    def __init__(self, stddev: float, seed: SeedLike = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'GaussianNoise "{self.name}"'
        self.stddev = _check_fraction(who, "stddev", stddev, "the noise's standard deviation")
        self.seed = _check_seed(who, seed)
        if self.stddev > 0:
            self.seed_generator = seed_holder(self.seed)

    def call(self, inputs: TensorTree, training: bool | None = False) -> TensorTree:
        if not training or self.stddev == 0:
            return inputs
        eps = jax.random.normal(draw_key(self), inputs.shape, inputs.dtype)
        return inputs + self.stddev * eps

    def get_config(self) -> Config:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@register
class GaussianDropout(_TrainingNoise):
    """Multiplies by ``N(1, rate / (1 - rate))`` noise in training mode.

    The multiplicative noise has mean 1, so the expected output is the input; its variance
    matches that of Dropout with the same ``rate``.

    Args:
        rate: float in [0, 1], the equivalent drop probability.
        seed: optional int, fixes the noise of eager calls.
    """

    def __init__(self, rate: float, seed: SeedLike = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'GaussianDropout "{self.name}"'
        self.rate = _check_fraction(who, "rate", rate, "the equivalent drop probability")
        self.seed = _check_seed(who, seed)
        if self.rate > 0:
            self.seed_generator = seed_holder(self.seed)

    def call(self, inputs: TensorTree, training: bool | None = False) -> TensorTree:
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        eps = jax.random.normal(draw_key(self), inputs.shape, inputs.dtype)
        return inputs * (1.0 + stddev * eps)

    def get_config(self) -> Config:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@register
class AlphaDropout(_TrainingNoise):
    """Dropout that keeps a SELU network self-normalising (mean 0, variance 1).

    In training, a dropped entry is set to SELU's saturation value
    ``alpha' = -scale * alpha``, then everything is mapped by ``a * x + b`` with
    ``a = ((1 - rate) * (1 + rate * alpha'**2)) ** -0.5`` and ``b = -a * alpha' * rate``, so
    that inputs of mean 0 and variance 1 keep them.

    Args:
        rate: float in [0, 1], fraction of the inputs to drop.
        noise_shape: broadcastable shape of the keep mask (None entries take the input's size).
        seed: optional int, fixes the masks of eager calls.
    """

    def __init__(self, rate: float, noise_shape: ShapeLike | None = None, seed: SeedLike = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'AlphaDropout "{self.name}"'
        self.rate = _check_fraction(who, "rate", rate, "the fraction of inputs to drop")
        self.noise_shape = _check_noise_shape(who, noise_shape)
        self.seed = _check_seed(who, seed)
        if self.rate > 0:
            self.seed_generator = seed_holder(self.seed)

    def call(self, inputs: TensorTree, training: bool | None = False) -> TensorTree:
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        keep = jax.random.uniform(draw_key(self), shape) >= self.rate
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        dropped = jnp.where(keep, inputs, jnp.asarray(alpha_p, inputs.dtype))
        return (a * dropped + b).astype(inputs.dtype)

    def get_config(self) -> Config:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


__all__ = ["AlphaDropout", "GaussianDropout", "GaussianNoise"]
