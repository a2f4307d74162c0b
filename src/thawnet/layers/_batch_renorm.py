"""Batch renormalisation (Ioffe, 2017) for BatchNormalization(renorm=True).

In training, the batch-normalised values ``x_hat`` are corrected towards the moving
statistics by ``x_hat * r + d`` with

    r = clip(stddev_B / renorm_stddev, rmin, rmax)
    d = clip((mean_B - renorm_mean) / renorm_stddev, -dmax, dmax)

treated as constants by the gradient. The correction folds into the affine transform:
``gamma' = r * gamma`` and ``beta' = d * gamma + beta``. ``renorm_mean``/``renorm_stddev`` are
moving averages with ``renorm_momentum``; the layer also tracks ``moving_stddev`` and derives
``moving_variance = relu(moving_stddev**2 - epsilon)`` from it, as Keras 3 does. All three extra
weights are statistics: updated by the layer, never by gradients.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from thawnet import initializers

CLIPPING_KEYS = ("rmax", "rmin", "dmax")


def check_clipping(who: str, renorm_clipping) -> dict:
    """The validated ``renorm_clipping`` dict (``None`` means no clipping: ``{}``).

    Raises:
        ValueError: unknown keys, ``rmax < rmin`` or a negative ``dmax``.
    """
    clipping = {} if renorm_clipping is None else renorm_clipping
    if not isinstance(clipping, dict):
        raise ValueError(f"{who}: renorm_clipping must be a dict with keys from "
                         f"{list(CLIPPING_KEYS)} (or None); received "
                         f"renorm_clipping={renorm_clipping!r}.")
    unknown = sorted(set(clipping) - set(CLIPPING_KEYS))
    if unknown:
        raise ValueError(f"{who}: Received invalid keys {unknown} in renorm_clipping="
                         f"{clipping!r}; the supported keys are {list(CLIPPING_KEYS)}.")
    for key, value in clipping.items():
        if value is not None and (not isinstance(value, numbers.Real)
                                  or isinstance(value, bool)):
            raise ValueError(f"{who}: renorm_clipping[{key!r}] must be a number or None; "
                             f"received {value!r}.")
    rmax, rmin, dmax = (clipping.get(k) for k in CLIPPING_KEYS)
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(f"{who}: in renorm_clipping, rmax should be greater than or equal to "
                         f"rmin; received rmax={rmax}, rmin={rmin}.")
    if dmax is not None and dmax < 0:
        raise ValueError(f"{who}: in renorm_clipping, dmax should be non-negative; received "
                         f"dmax={dmax}.")
    return clipping


class SqrtOf(initializers.Initializer):
    """``sqrt`` of another initializer's values (the initial standard deviations)."""

    def __init__(self, inner):
        self.inner = inner
        if hasattr(inner, "sample"):
            # Host sampling (thawnet's fast path), offered only when the inner one has it.
            self.sample = lambda rng, shape, dtype="float32": np.sqrt(
                inner.sample(rng, shape, dtype))

    def __call__(self, key, shape, dtype="float32"):
        return jnp.sqrt(self.inner(key, shape, dtype))

    def get_config(self):
        return {"inner": initializers.serialize(self.inner)}


def correction(mean, variance, renorm_mean, renorm_stddev, epsilon, clipping):
    """``(r, d)``: the renormalisation factors for batch moments ``mean``/``variance``."""
    stddev = jnp.sqrt(variance + epsilon)
    # A floor on the moving stddev keeps r and d finite when a feature has been constant.
    renorm_stddev = jnp.maximum(renorm_stddev, jnp.sqrt(jnp.asarray(epsilon, mean.dtype)))
    r = stddev / renorm_stddev
    d = (mean - renorm_mean) / renorm_stddev
    if clipping.get("rmin") is not None:
        r = jnp.maximum(r, clipping["rmin"])
    if clipping.get("rmax") is not None:
        r = jnp.minimum(r, clipping["rmax"])
    if clipping.get("dmax") is not None:
        d = jnp.clip(d, -clipping["dmax"], clipping["dmax"])
    return jax.lax.stop_gradient(r), jax.lax.stop_gradient(d)


def fold(r, d, gamma, beta):
    """The affine transform ``(scale, offset)`` that applies ``x_hat * r + d`` then
    ``gamma``/``beta`` (either may be None)."""
    scale = r if gamma is None else r * gamma
    offset = d if gamma is None else d * gamma
    if beta is not None:
        offset = offset + beta
    return scale, offset


def updated_statistics(mean, variance, stats, epsilon, momentum, renorm_momentum):
    """New values of the statistics after one training batch.

    Args:
        mean, variance: the batch moments.
        stats: current ``{"renorm_mean", "renorm_stddev", "moving_mean", "moving_stddev"}``.

    Returns:
        The new ``renorm_mean``, ``renorm_stddev``, ``moving_mean``, ``moving_stddev`` and
        ``moving_variance``.
    """
    stddev = jnp.sqrt(variance + epsilon)
    moving_stddev = stats["moving_stddev"] * momentum + stddev * (1.0 - momentum)
    return {
        "renorm_mean": stats["renorm_mean"] * renorm_momentum + mean * (1.0 - renorm_momentum),
        "renorm_stddev": (stats["renorm_stddev"] * renorm_momentum
                          + stddev * (1.0 - renorm_momentum)),
        "moving_mean": stats["moving_mean"] * momentum + mean * (1.0 - momentum),
        "moving_stddev": moving_stddev,
        "moving_variance": jax.nn.relu(moving_stddev * moving_stddev - epsilon),
    }
