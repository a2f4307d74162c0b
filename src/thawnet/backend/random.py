"""Global seeding: initial weights and eager randomness derive from one seed."""

from __future__ import annotations

import jax
import numpy as np

_state = {"seed": 0, "eager_count": 0, "generator_count": 0}


def set_random_seed(seed: int) -> None:
    """Seed weight initialisation and eager randomness (Dropout called outside ``fit``)."""
    _state["seed"] = int(seed)
    _state["eager_count"] = 0
    _state["generator_count"] = 0


def current_seed() -> int:
    return _state["seed"]


def base_key():
    return jax.random.PRNGKey(_state["seed"])


def next_eager_key():
    """A new key for randomness in eager calls (never used inside compiled steps)."""
    _state["eager_count"] += 1
    return jax.random.fold_in(jax.random.PRNGKey(_state["seed"] + 1_000_003),
                              _state["eager_count"])


def next_generator_seed() -> int:
    """An int seed for a ``SeedGenerator`` created with ``seed=None``: derived from the global
    seed and a count, so a run is repeatable after ``set_random_seed``."""
    _state["generator_count"] += 1
    # NumPy, not JAX: a generator may be created while a step is being traced.
    rng = np.random.default_rng([_state["seed"] & 0xFFFFFFFF, _state["generator_count"]])
    return int(rng.integers(0, 2**31 - 1))
