"""Weight initializers, with Keras's names, arguments and fan conventions.

An initializer is a callable ``(key, shape, dtype) -> array``. Fans follow Keras: for a kernel
of shape ``(*receptive_field, fan_in_channels, fan_out_channels)`` the receptive-field size
multiplies both channel counts.

thawnet's own initializers also have ``sample(rng, shape, dtype)``, drawing from a NumPy
generator on the host. Models initialise their weights that way (seeded per weight path): it
needs no XLA compilation, which for a zoo model takes longer than the sampling itself.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from thawnet.backend.identifiers import IdentifierKind
from thawnet.backend.types import Array, Config, DTypeLike, Identifier, SeedLike, ShapeLike


def compute_fans(shape: ShapeLike) -> tuple:
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement ``__call__(key, shape, dtype)``."""

    def get_config(self) -> Config:
        return {}

    @classmethod
    def from_config(cls, config: Config) -> Initializer:
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return jnp.zeros(shape, dtype)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return np.zeros(shape, dtype)


class Ones(Initializer):
    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return jnp.ones(shape, dtype)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return np.ones(shape, dtype)


class Constant(Initializer):
    def __init__(self, value: Any = 0.0) -> None:
        self.value = value

    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return jnp.full(shape, self.value, dtype)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return np.full(shape, self.value, dtype)

    def get_config(self) -> Config:
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: SeedLike = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        key = _seeded(key, self.seed)
        return self.mean + self.stddev * jax.random.normal(key, shape, dtype)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return (self.mean + self.stddev * _standard_normal(rng, shape)).astype(dtype)

    def get_config(self) -> Config:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: SeedLike = None) -> None:
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        key = _seeded(key, self.seed)
        return jax.random.uniform(key, shape, dtype, self.minval, self.maxval)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return _uniform(rng, shape, self.minval, self.maxval).astype(dtype, copy=False)

    def get_config(self) -> Config:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: SeedLike = None) -> None:
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        key = _seeded(key, self.seed)
        return self.mean + self.stddev * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        return (self.mean + self.stddev * _truncated_normal(rng, shape)).astype(dtype)

    def get_config(self) -> Config:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n`` where n is fan_in, fan_out or their mean."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: SeedLike = None) -> None:
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive; received scale={scale}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg'; "
                             f"received mode={mode!r}.")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("VarianceScaling: distribution must be 'truncated_normal', "
                             f"'untruncated_normal' or 'uniform'; received {distribution!r}.")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        key = _seeded(key, self.seed)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            # 0.8796... is the std of a unit normal truncated to [-2, 2].
            std = math.sqrt(variance) / 0.87962566103423978
            return std * jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)
        if self.distribution == "untruncated_normal":
            return math.sqrt(variance) * jax.random.normal(key, shape, dtype)
        limit = math.sqrt(3.0 * variance)
        return jax.random.uniform(key, shape, dtype, -limit, limit)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return (math.sqrt(variance) / 0.87962566103423978
                    * _truncated_normal(rng, shape)).astype(dtype)
        if self.distribution == "untruncated_normal":
            return (math.sqrt(variance) * _standard_normal(rng, shape)).astype(dtype)
        limit = math.sqrt(3.0 * variance)
        return _uniform(rng, shape, -limit, limit).astype(dtype, copy=False)

    def get_config(self) -> Config:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _variance_scaling(name, scale, mode, distribution):
    def make(seed: int | None = None) -> VarianceScaling:
        init = VarianceScaling(scale, mode, distribution, seed)
        init.keras_name = name
        return init
    make.__name__ = name
    return make


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    def __init__(self, gain: float = 1.0, seed: SeedLike = None) -> None:
        self.gain, self.seed = gain, seed

    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        key = _seeded(key, self.seed)
        return self.gain * jax.nn.initializers.orthogonal()(key, shape, dtype)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)

    def get_config(self) -> Config:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, key: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2D shape; received shape={shape}.")
        return self.gain * jnp.eye(*shape, dtype=dtype)

    def sample(self, rng: Array, shape: ShapeLike, dtype: DTypeLike | None = "float32") -> Array:
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2D shape; received shape={shape}.")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self) -> Config:
        return {"gain": self.gain}


# A weight of more values than this is drawn in chunks, each from its own generator spawned
# from the weight's (deterministically: the same values on every run), on several threads:
# NumPy's generators release the GIL while they fill. VGG16's fc1 alone has 103M values.
_CHUNK_VALUES = 1 << 22


def _filled(rng, shape, fill):
    """A new float32 array of ``shape``, filled by ``fill(generator, flat_chunk)``."""
    out = np.empty(shape, np.float32)
    flat = out.reshape(-1)
    if flat.size <= _CHUNK_VALUES:
        fill(rng, flat)
        return out
    starts = range(0, flat.size, _CHUNK_VALUES)
    children = rng.spawn(len(starts))
    workers = min(os.cpu_count() or 1, 8)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda job: fill(job[0], flat[job[1]:job[1] + _CHUNK_VALUES]),
                      zip(children, starts)))
    return out


def _standard_normal(rng, shape):
    return _filled(rng, shape, lambda g, chunk: g.standard_normal(out=chunk, dtype=np.float32))


def _uniform(rng, shape, low, high):
    """float32 uniform samples in [low, high), computed in place (no float64 temporaries)."""
    def fill(g, chunk):
        g.random(out=chunk, dtype=np.float32)
        chunk *= high - low
        chunk += low
    return _filled(rng, shape, fill)


def _truncated_normal(rng, shape):
    """Standard normal samples redrawn until they lie within two standard deviations."""
    def fill(g, chunk):
        g.standard_normal(out=chunk, dtype=np.float32)
        bad = np.abs(chunk) > 2.0
        while bad.any():
            chunk[bad] = g.standard_normal(int(bad.sum()), np.float32)
            bad = np.abs(chunk) > 2.0
    return _filled(rng, shape, fill)


def _seeded(key, seed):
    return key if seed is None else jax.random.PRNGKey(seed)


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
    # Keras's "uniform" (Embedding's default) is RandomUniform(-0.05, 0.05).
    "uniform": RandomUniform,
}
_ALIASES = {"Zeros": "zeros", "Ones": "ones", "GlorotUniform": "glorot_uniform",
            "GlorotNormal": "glorot_normal", "HeNormal": "he_normal", "HeUniform": "he_uniform",
            "RandomNormal": "random_normal", "RandomUniform": "random_uniform",
            "TruncatedNormal": "truncated_normal", "Orthogonal": "orthogonal",
            "LecunNormal": "lecun_normal", "LecunUniform": "lecun_uniform",
            "Constant": "constant", "VarianceScaling": "variance_scaling",
            "Identity": "identity"}


def _initializer_named(name):
    key = _ALIASES.get(name, name)
    return _BY_NAME[key]() if key in _BY_NAME else None


def _initializer_class(name):
    return _BY_NAME.get(_ALIASES.get(name, name))


_KIND = IdentifierKind("initializer", by_name=_initializer_named, class_named=_initializer_class,
                       known=lambda: _BY_NAME, base=(Initializer,))


def get(identifier: Identifier, where: str = "") -> Initializer | Callable | None:
    """Resolve a name (``"glorot_uniform"``), a config dict, an Initializer or a callable
    ``(key, shape, dtype)``; None stays None."""
    return _KIND.get(identifier, where)


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Initializer:
    """The initializer a config dict ``{"class_name": ..., "config": {...}}`` describes, resolved
    as :func:`get` resolves one (``custom_objects`` first)."""
    return _KIND.deserialize(config, custom_objects=custom_objects)


def serialize(init: Any) -> dict[str, Any] | None:
    if init is None:
        return None
    name = getattr(init, "keras_name", type(init).__name__)
    if isinstance(init, Initializer):
        cfg = init.get_config()
        if hasattr(init, "keras_name"):
            cfg = {"seed": cfg.get("seed")}
        return {"class_name": name, "config": cfg}
    raise ValueError(f"Cannot serialize initializer {init!r}: only thawnet initializers are "
                     "serializable.")
