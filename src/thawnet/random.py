"""``thawnet.random``: random draws with Keras 3's names and signatures.

``seed`` may be:

* a :class:`SeedGenerator`: the usual choice in a layer (``self.seed_generator =
  SeedGenerator(1337)`` in ``__init__``, ``normal(shape, seed=self.seed_generator)`` in
  ``call``). Its state (role ``statistic``) advances at every draw; as in Keras it is one of the
  layer's ``non_trainable_variables`` but not of its ``weights`` (nor counted in summaries or
  written to Keras weight files); inside ``fit``/``stateless_call`` the advanced state is
  recorded by the stateless scope and returned by the compiled step, so each step draws new
  numbers under ``jit``.
* an int: the same numbers at every call.
* None: inside ``fit`` (a stateless scope with a key) a fresh key of the step; in eager code a
  fresh key of the global seed (``thawnet.utils.set_random_seed``).

>>> from thawnet import random
>>> random.uniform((2,), seed=1).shape
(2,)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from thawnet.backend import random as random_lib
from thawnet.backend import scope as scope_lib
from thawnet.layers.seed_generator import SeedGenerator
from thawnet.backend.types import (Array, Axis, Config, DTypeLike, SeedLike, ShapeLike, TensorLike,
                                   TensorTree)


def draw_key(seed):
    """The JAX key for one draw with Keras's ``seed`` argument (see the module docstring)."""
    if isinstance(seed, SeedGenerator):
        return seed.key()
    if isinstance(seed, int):
        return jax.random.PRNGKey(seed)
    if seed is None:
        scope = scope_lib.current()
        if scope is not None:
            key = scope.next_rng("thawnet.random")
            if key is not None:
                return key
            if scope.traced:
                raise ValueError(
                    "A thawnet.random draw with seed=None ran in a compiled call without a key. "
                    "Pass seed=SeedGenerator(...) created in the layer's __init__, or pass rng= "
                    "to stateless_call.")
        return random_lib.next_eager_key()
    if isinstance(seed, jax.Array) and jnp.issubdtype(seed.dtype, jax.dtypes.prng_key):
        return seed
    if hasattr(seed, "shape") and tuple(seed.shape) == (2,) and jnp.issubdtype(
            jnp.asarray(seed).dtype, jnp.integer):
        # A raw (seed, counter) pair, as a SeedGenerator's state or Keras's draw_seed gives.
        seed = jnp.asarray(seed)
        return jax.random.fold_in(jax.random.PRNGKey(seed[0]), seed[1])
    raise ValueError(f"seed must be an int, a SeedGenerator, a JAX key or None; received "
                     f"seed={seed!r} ({type(seed).__name__}).")


def _float(dtype):
    return jnp.dtype(dtype or "float32")


def normal(shape: ShapeLike, mean: float = 0.0, stddev: float = 1.0, dtype: DTypeLike | None = None,
           seed: SeedLike = None) -> Array:
    """Samples of a normal distribution.

    Args:
        shape: output shape.
        mean: the mean.
        stddev: the standard deviation.
        dtype: a float dtype (default float32).
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    return mean + stddev * jax.random.normal(draw_key(seed), tuple(shape), _float(dtype))


def uniform(shape: ShapeLike, minval: float = 0.0, maxval: float = 1.0,
            dtype: DTypeLike | None = None, seed: SeedLike = None) -> Array:
    """Samples of a uniform distribution on ``[minval, maxval)``.

    Args:
        shape: output shape.
        minval: lower bound.
        maxval: upper bound (excluded).
        dtype: a float dtype (default float32).
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    dtype = _float(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"random.uniform: dtype must be a float dtype; received dtype={dtype}. "
                         "Use random.randint for integers.")
    return jax.random.uniform(draw_key(seed), tuple(shape), dtype, minval, maxval)


def truncated_normal(shape: ShapeLike, mean: float = 0.0, stddev: float = 1.0,
                     dtype: DTypeLike | None = None, seed: SeedLike = None) -> Array:
    """Normal samples redrawn outside two standard deviations of the mean.

    Args:
        shape: output shape.
        mean: the mean.
        stddev: the standard deviation (before truncation).
        dtype: a float dtype (default float32).
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    sample = jax.random.truncated_normal(draw_key(seed), -2.0, 2.0, tuple(shape), _float(dtype))
    return mean + stddev * sample


def randint(shape: ShapeLike, minval: Any, maxval: Any, dtype: DTypeLike | None = "int32",
            seed: SeedLike = None) -> Array:
    """Integers drawn uniformly from ``[minval, maxval)``.

    Args:
        shape: output shape.
        minval: lower bound.
        maxval: upper bound (excluded).
        dtype: an integer dtype.
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    return jax.random.randint(draw_key(seed), tuple(shape), minval, maxval, jnp.dtype(dtype))


def dropout(inputs: TensorTree, rate: float, noise_shape: Any = None, seed: SeedLike = None
        ) -> Array:
    """Zero each entry with probability ``rate``, scale the others by ``1 / (1 - rate)``.

    Args:
        inputs: a tensor.
        rate: drop probability in [0, 1).
        noise_shape: shape of the mask, broadcast against the inputs (None entries: the
            input's size).
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    if not 0 <= rate < 1:
        raise ValueError(f"random.dropout: rate must be in [0, 1); received rate={rate}.")
    inputs = jnp.asarray(inputs)
    shape = inputs.shape if noise_shape is None else tuple(
        s if n is None else n for s, n in zip(inputs.shape, noise_shape))
    keep = jax.random.bernoulli(draw_key(seed), 1.0 - rate, shape)
    return jnp.where(keep, inputs / (1.0 - rate), jnp.zeros_like(inputs))


def shuffle(x: TensorLike, axis: Axis = 0, seed: SeedLike = None) -> Array:
    """``x`` with its slices along ``axis`` randomly permuted.

    Args:
        x: a tensor.
        axis: the axis.
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    return jax.random.permutation(draw_key(seed), jnp.asarray(x), axis=axis, independent=False)


def categorical(logits: TensorLike, num_samples: int, dtype: DTypeLike | None = "int32",
                seed: SeedLike = None) -> Array:
    """Class indices drawn from the categorical distributions given by rows of ``logits``.

    Args:
        logits: ``(batch, classes)`` unnormalised log-probabilities.
        num_samples: samples per row.
        dtype: an integer dtype.
        seed: int, SeedGenerator, key or None.

    Returns:
        ``(batch, num_samples)``.
    """
    logits = jnp.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"random.categorical: logits must be 2-D (batch, classes); received "
                         f"shape {logits.shape}.")
    draws = jax.random.categorical(draw_key(seed), logits[:, None, :], axis=-1,
                                   shape=(logits.shape[0], num_samples))
    return draws.astype(dtype)


def gamma(shape: ShapeLike, alpha: float, dtype: DTypeLike | None = None, seed: SeedLike = None
        ) -> Array:
    """Samples of a gamma distribution with concentration ``alpha`` (scale 1).

    Args:
        shape: output shape.
        alpha: concentration.
        dtype: a float dtype (default float32).
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    return jax.random.gamma(draw_key(seed), alpha, tuple(shape), _float(dtype))


def beta(shape: ShapeLike, alpha: float, beta: float, dtype: DTypeLike | None = None,
         seed: SeedLike = None) -> Array:
    """Samples of a beta distribution.

    Args:
        shape: output shape.
        alpha: first concentration.
        beta: second concentration.
        dtype: a float dtype (default float32).
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    return jax.random.beta(draw_key(seed), alpha, beta, tuple(shape), _float(dtype))


def binomial(shape: ShapeLike, counts: Any, probabilities: Any, dtype: DTypeLike | None = None,
             seed: SeedLike = None) -> Array:
    """Numbers of successes in ``counts`` trials of probability ``probabilities``.

    Args:
        shape: output shape.
        counts: number of trials.
        probabilities: success probability.
        dtype: a float dtype (default float32).
        seed: int, SeedGenerator, key or None.

    Returns:
        A tensor.
    """
    return jax.random.binomial(draw_key(seed), counts, probabilities, tuple(shape),
                               _float(dtype))


__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
           "randint", "shuffle", "truncated_normal", "uniform"]
