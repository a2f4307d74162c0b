"""The checks on an optimizer's constructor arguments: learning rates, finite factors, and the
Keras arguments thawnet does not implement.

Each check returns the value to store (ints become floats, so the optimizer state stays float32)
or raises a ValueError that names the optimizer, the argument and what it received.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable

# Keras optimizer arguments thawnet does not implement, with the value that means "off":
# passing that value is accepted, any other raises.
UNSUPPORTED_ARGUMENTS = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def checked_learning_rate(optimizer: Any, value: float | Callable[[int], float]
                          ) -> float | Callable[[int], float]:
    """``value`` if it is a usable learning rate (ints become floats), else raise.

    A rate must be a finite number ``>= 0`` or a callable schedule: a negative rate climbs
    the loss instead of descending it, and Keras accepts one without a word.
    """
    who = type(optimizer).__name__
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{who}: learning_rate must be a float or a callable schedule; "
            f"received learning_rate={value!r} (a {type(value).__name__})."
        )
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{who}: learning_rate must be a finite number >= 0 (the step "
            f"size; a negative one climbs the loss); received "
            f"learning_rate={value}. Pass a positive rate, e.g. "
            f"learning_rate={abs(value) if math.isfinite(value) else 0.001}."
        )
    return float(value)  # keep the state float32, whatever number came in


def checked_number(optimizer: Any, value: float | None, name: str, optional: bool = False
                   ) -> float | None:
    """``value`` as a float if it is a finite number (None passes when ``optional``), else raise."""
    who = type(optimizer).__name__
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value):
        raise ValueError(
            f"{who}: {name} must be a finite float; received {name}={value!r}."
        )
    return float(value)


def checked_factor(name: str, optional: bool = False) -> Callable[[Any, Any], float | None]:
    """A ``check(optimizer, value)`` for :class:`StateHyperparameter`: a finite
    float (or None when ``optional``)."""
    return lambda optimizer, value: checked_number(optimizer, value, name,
                                                    optional)
