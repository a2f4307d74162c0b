"""Learning-rate schedules with Keras 3's formulas.

A schedule is a callable ``step -> learning rate`` (float32 ``jnp`` scalar).
It is pure and jit-safe: ``step`` may be a Python int or a traced integer
array. Optimizers call it with the number of updates done so far (0 for the
first update).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import jax.numpy as jnp

from thawnet.backend.identifiers import IdentifierKind
from thawnet.backend.types import Array, Config, TensorLike


class LearningRateSchedule:
    """Base class of schedules: implement ``__call__(step)``."""

    def __call__(self, step: int) -> Array:
        raise NotImplementedError

    def get_config(self) -> Config:
        """Returns the constructor arguments as a dict."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: Config) -> LearningRateSchedule:
        """Builds a schedule from the output of ``get_config``."""
        return cls(**config)


def _f32(x):
    return jnp.asarray(x, jnp.float32)


def _check_decay_steps(decay_steps):
    if decay_steps <= 0:
        raise ValueError(
            f"Argument `decay_steps` must be > 0. Received: {decay_steps}"
        )


class ExponentialDecay(LearningRateSchedule):
    """``lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)``
    with the exponent floored if ``staircase``.

    Args:
        initial_learning_rate: float.
        decay_steps: int > 0.
        decay_rate: float.
        staircase: decay in discrete steps (default False).
        name: defaults to ``"ExponentialDecay"``.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: int) -> Array:
        p = _f32(step) / _f32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _f32(self.initial_learning_rate) * jnp.power(
            _f32(self.decay_rate), p
        )

    def get_config(self) -> Config:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``lr(step) = initial_learning_rate / (1 + decay_rate * step /
    decay_steps)``, with ``step / decay_steps`` floored if ``staircase``.

    Args:
        initial_learning_rate: float.
        decay_steps: int > 0.
        decay_rate: float.
        staircase: decay in discrete steps (default False).
        name: defaults to ``"InverseTimeDecay"``.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: int) -> Array:
        p = _f32(step) / _f32(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _f32(self.initial_learning_rate) / (
            1.0 + _f32(self.decay_rate) * p
        )

    def get_config(self) -> Config:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` for ``step <= boundaries[0]``, ``values[i]`` for
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the
    last boundary.

    Args:
        boundaries: increasing list of step numbers.
        values: list of learning rates, one longer than ``boundaries``.
        name: defaults to ``"PiecewiseConstant"``.
    """

    def __init__(self, boundaries: Sequence[int], values: TensorLike,
                 name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length "
                f"of values. Received: boundaries={boundaries}, "
                f"values={values}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: int) -> Array:
        # Number of boundaries strictly below the step = index of the value.
        step = jnp.asarray(step)
        bounds = jnp.asarray(self.boundaries).astype(step.dtype)
        index = jnp.sum(step > bounds)
        return jnp.asarray(self.values, jnp.float32)[index]

    def get_config(self) -> Config:
        return {"boundaries": self.boundaries, "values": self.values,
                "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to
    ``end_learning_rate`` over ``decay_steps``.

    ``lr(step) = (initial - end) * (1 - s / D) ** power + end`` where, without
    ``cycle``, ``s = min(step, decay_steps)`` and ``D = decay_steps``; with
    ``cycle``, ``s = step`` and ``D = decay_steps * max(1, ceil(step /
    decay_steps))``.

    Args:
        initial_learning_rate: float.
        decay_steps: int > 0.
        end_learning_rate: float (default 0.0001).
        power: float (default 1.0).
        cycle: restart after ``decay_steps`` (default False).
        name: defaults to ``"PolynomialDecay"``.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay") -> None:
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: int) -> Array:
        step = _f32(step)
        decay_steps = _f32(self.decay_steps)
        if self.cycle:
            multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = jnp.minimum(step, decay_steps)
        p = step / decay_steps
        initial = _f32(self.initial_learning_rate)
        end = _f32(self.end_learning_rate)
        return (initial - end) * jnp.power(1.0 - p, _f32(self.power)) + end

    def get_config(self) -> Config:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay, with optional linear warmup.

    Without warmup (``warmup_target is None``), with
    ``s = min(step, decay_steps)``:
    ``lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
    + alpha)``.

    With warmup, ``s = min(step, warmup_steps + decay_steps)``; for
    ``s < warmup_steps``: ``lr = initial + (warmup_target - initial) * s /
    warmup_steps``; afterwards the cosine formula above with ``s -
    warmup_steps`` and ``warmup_target`` in place of ``initial``.

    Args:
        initial_learning_rate: float.
        decay_steps: int > 0, length of the cosine part.
        alpha: minimum as a fraction of the decayed-from rate (default 0).
        name: defaults to ``"CosineDecay"``.
        warmup_target: rate reached after warmup, or None for no warmup.
        warmup_steps: length of the warmup (default 0).
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: Any = None, warmup_steps: int = 0
            ) -> None:
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step, decay_steps, from_lr):
        fraction = step / decay_steps
        cosine = 0.5 * (1.0 + jnp.cos(_f32(math.pi) * fraction))
        return from_lr * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> Array:
        initial = _f32(self.initial_learning_rate)
        decay_steps = _f32(self.decay_steps)
        step = _f32(step)
        if self.warmup_target is None:
            return self._decay(jnp.minimum(step, decay_steps), decay_steps,
                               initial)
        target = _f32(self.warmup_target)
        warmup_steps = _f32(self.warmup_steps)
        step = jnp.minimum(step, decay_steps + warmup_steps)
        # Guard the unused branch against 0/0 when warmup_steps == 0.
        safe_warmup = jnp.where(warmup_steps > 0, warmup_steps, 1.0)
        warmup = (target - initial) * (step / safe_warmup) + initial
        decayed = self._decay(step - warmup_steps, decay_steps, target)
        return jnp.where(step < warmup_steps, warmup, decayed)

    def get_config(self) -> Config:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay,
    PolynomialDecay, CosineDecay,
)}


def serialize(schedule: Callable[[int], float]) -> dict[str, Any]:
    """Returns ``{"class_name": ..., "config": ...}`` for a schedule."""
    return {"class_name": type(schedule).__name__,
            "config": schedule.get_config()}


def deserialize(config: Config, custom_objects: dict[str, Any] | None = None
                ) -> LearningRateSchedule:
    """Inverse of :func:`serialize`, through the one identifier resolver (registered and
    ``custom_objects`` schedules by class name too).

    Raises:
        ValueError: for an unknown ``class_name`` (the message lists the known ones).
    """
    return _KIND.deserialize(config, custom_objects=custom_objects)


_KIND = IdentifierKind("learning rate schedule", by_name=lambda name: None,
                       class_named=_SCHEDULES.get, known=lambda: _SCHEDULES,
                       base=(LearningRateSchedule,))
