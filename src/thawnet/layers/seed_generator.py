"""``SeedGenerator``: a random stream whose position is a weight (``thawnet.random`` exports it).

It lives among the layers because it is one (its state is tracked like any weight of the
layer that holds it) and because layers that draw random numbers hold one, as Keras's do.
See :mod:`thawnet.random` for how ``seed=`` arguments use it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from thawnet.backend import random as random_lib
from thawnet.backend import scope as scope_lib
from thawnet.backend.types import Array, Config, TensorTree
from thawnet.layers.layer import Layer, register
from thawnet.variables import STATISTIC


@register
class SeedGenerator(Layer):
    """A random stream whose position is a weight: ``[seed, count]`` (uint32), advanced by one
    at every draw.

    It is a weightless-looking layer of its own so that the layer holding it as an attribute
    tracks its state like any other weight (saved, restored, carried through compiled steps).

    Args:
        seed: int, or None for one derived from the global seed.
        name: optional name.
    """

    holds_seed_state = True  # layer_weights: a variable, not a weight (Keras's lists)

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        if seed is not None and not isinstance(seed, int):
            raise ValueError(f'SeedGenerator "{self.name}": seed must be an int or None; '
                             f"received seed={seed!r} ({type(seed).__name__}).")
        self.seed = random_lib.next_generator_seed() if seed is None else seed
        initial = jnp.asarray([self.seed & 0xFFFFFFFF, 0], jnp.uint32)
        self.state = self.add_weight(name="seed_generator_state", shape=(2,), dtype="uint32",
                                     role=STATISTIC,
                                     initializer=lambda key, shape, dtype: initial)
        self.state.assign(initial)
        self.built = True

    def next(self, ordered: bool = True) -> Any:
        """The current state (a ``(2,)`` uint32 array), advancing the stored one.

        Args:
            ordered: kept for Keras's signature; the state always advances by one step.

        Returns:
            The state before the advance.
        """
        current = self.state.value
        advanced = current + jnp.asarray([0, 1], jnp.uint32)
        scope = scope_lib.current()
        if isinstance(advanced, jax.core.Tracer) and (scope is None or not scope.binds(self.state)):
            raise ValueError(
                f'SeedGenerator "{self.name}" was used inside a jit-compiled function that does '
                "not pass its state: its advanced state would be lost. Call the model through "
                "fit/predict/stateless_call (the generator must be an attribute of a layer of "
                "the model), or pass an int seed or a key instead.")
        self.state.assign(advanced)
        return current

    def key(self) -> Array:
        """A JAX key for the next draw (advances the state)."""
        state = self.next()
        return jax.random.fold_in(jax.random.PRNGKey(state[0]), state[1])

    def _keras_file_weights(self):
        return []  # Keras writes no seed state to .weights.h5 / .keras files

    def call(self, inputs: TensorTree) -> TensorTree:
        return inputs

    def get_config(self) -> Config:
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config: Config) -> SeedGenerator:
        return cls(**config)


def seed_holder(seed: int | None) -> "SeedGenerator":
    """The ``seed_generator`` of a built-in layer that draws (noise, recurrent and attention
    dropout): Keras counts one. thawnet's layers draw from the step's key, so it only holds
    the seed; its state does not advance (README, deliberate differences)."""
    return SeedGenerator(None if seed is None else int(seed), name="seed_generator")


__all__ = ["SeedGenerator", "seed_holder"]
