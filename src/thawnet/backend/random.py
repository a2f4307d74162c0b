"""Global seeding: initial weights and eager randomness derive from one seed."""

from __future__ import annotations

import jax

_state = {"seed": 0, "eager_count": 0}


def set_random_seed(seed: int) -> None:
    """Seed weight initialisation and eager randomness (Dropout called outside ``fit``)."""
    _state["seed"] = int(seed)
    _state["eager_count"] = 0


def current_seed() -> int:
    return _state["seed"]


def base_key():
    return jax.random.PRNGKey(_state["seed"])


def next_eager_key():
    """A new key for randomness in eager calls (never used inside compiled steps)."""
    _state["eager_count"] += 1
    return jax.random.fold_in(jax.random.PRNGKey(_state["seed"] + 1_000_003),
                              _state["eager_count"])
