"""What ``compile()`` sets up and ``fit`` carries: one object, ``model._training``.

The optimizer's Optax transformation and its state (for the weights of ``opt_paths``), the
training RNG and its seed, how many steps run per device call, and the data-parallel
strategy. ``compile()`` makes a fresh one; :meth:`reset` (``model.reset_training_state()``)
starts the optimizer slots, the step count and the RNG over while keeping the compiled
functions, which live in the model's :class:`~thawnet.training.function_registry.
FunctionRegistry`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import optax


@dataclasses.dataclass
class TrainingState:
    """The trainer's state between steps (see module docstring).

    Attributes:
        tx: the optimizer as an Optax transformation.
        seed: seed of the training randomness (Dropout masks, shuffling).
        rng: the key the next step splits.
        opt_state: Optax state for the weights in ``opt_paths`` (None before the first step).
        opt_paths: the trainable paths ``opt_state`` was made for.
        steps_per_execution: as given to ``compile()`` (an int or ``"auto"``).
        auto_steps: what ``"auto"`` chose so far.
        distribute: a :class:`thawnet.distribute.DataParallel` strategy, or None.
        stop_training: set by callbacks (EarlyStopping...) to end ``fit`` after the step.
        host_transfer: by batch size, how CPU steps receive their rows
            (:class:`~thawnet.training.host_transfer.HostTransfer`).
    """

    tx: optax.GradientTransformation
    seed: int = 0
    rng: Any = None
    opt_state: Any = None
    opt_paths: tuple | None = None
    steps_per_execution: int | str = 1
    auto_steps: int = 1
    distribute: Any = None
    stop_training: bool = False
    host_transfer: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rng is None:
            self.rng = jax.random.PRNGKey(self.seed)

    def reset(self) -> None:
        """Fresh optimizer slots and step count (made at the next step) and the RNG of
        ``seed``, so the next ``fit`` draws the same Dropout masks and shuffles as the first."""
        self.opt_state, self.opt_paths = None, None
        self.rng = jax.random.PRNGKey(self.seed)


class TrainingField:
    """``model._opt_state`` and friends: the field of ``model._training`` they name.

    The file formats and checkpoints read and restore these names; they all point into the
    one :class:`TrainingState` (before ``compile()``: ``default``, and writing fails).
    """

    def __init__(self, field: str, default: Any = None) -> None:
        self.field, self.default = field, default

    def __get__(self, model: Any, owner: type | None = None) -> Any:
        if model is None:
            return self
        state = model.__dict__.get("_training")
        return self.default if state is None else getattr(state, self.field)

    def __set__(self, model: Any, value: Any) -> None:
        state = model.__dict__.get("_training")
        if state is None:
            raise RuntimeError(f'Model "{model.name}": call compile() before setting its '
                               f"training state ({self.field}).")
        setattr(state, self.field, value)
