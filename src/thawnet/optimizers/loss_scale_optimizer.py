"""Dynamic loss scaling for float16 training (Keras 3's ``LossScaleOptimizer``).

float16 gradients underflow to zero below about 6e-8. The training step therefore
differentiates ``loss * scale`` instead of ``loss``; this optimizer divides the gradients by
``scale`` again before the wrapped optimizer sees them, and adapts ``scale``:

* non-finite gradients (the scale was too large: float16 overflowed): the step is skipped
  (weights and the inner optimizer's state stay as they were), ``scale /= 2``, counter ``= 0``;
* finite gradients: the inner optimizer steps on ``grads / scale``; after
  ``dynamic_growth_steps`` finite steps in a row ``scale *= 2`` and the counter restarts.

The skip is Optax's ``apply_if_finite`` (told never to give up); the scale and the counter
live next to it in the optimizer state (:class:`LossScaleState`), so they are saved and
restored with it and a resumed run continues with the same scale.
``Model.compile`` wraps the optimizer in one automatically when the model's dtype policy is
``"mixed_float16"`` (``auto_scale_loss=True``), as Keras does.

>>> from thawnet import optimizers
>>> opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0)
>>> tx = opt.to_optax()
>>> state = tx.init({"w": jnp.zeros(2)})
>>> updates, state = tx.update({"w": jnp.array([8.0, jnp.inf])}, state)
>>> updates["w"].tolist(), float(state.dynamic_scale)   # skipped, scale halved
([0.0, 0.0], 4.0)
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from thawnet.optimizers.base import OptaxOptimizer, Optimizer

# apply_if_finite gives up (applies a non-finite update) after this many failures in a row;
# Keras never does, and the counter saturates below this bound.
_NEVER = int(jnp.iinfo(jnp.int32).max)
# Keras's base-optimizer arguments a LossScaleOptimizer accepts only at their defaults
# (files written by Keras carry them).
_INNER_ONLY = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
               "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
               "ema_overwrite_frequency": None, "loss_scale_factor": None,
               "gradient_accumulation_steps": None}


class LossScaleState(NamedTuple):
    """The optimizer state of a :class:`LossScaleOptimizer`.

    Attributes:
        inner: Optax's ``ApplyIfFiniteState`` around the wrapped optimizer's state.
        step_counter: int32, finite steps since the scale last changed (Keras's variable).
        dynamic_scale: float32, the factor the loss is multiplied by in the next step.
    """

    inner: Any
    step_counter: jax.Array
    dynamic_scale: jax.Array


def _find_state(opt_state: Any) -> LossScaleState | None:
    if isinstance(opt_state, LossScaleState):
        return opt_state
    if isinstance(opt_state, (tuple, list)):
        children = opt_state
    elif isinstance(opt_state, dict):
        children = opt_state.values()
    else:
        return None
    for child in children:
        found = _find_state(child)
        if found is not None:
            return found
    return None


def current_loss_scale(opt_state: Any) -> jax.Array | None:
    """The loss scale held in ``opt_state`` (anywhere in it), or None without one.

    The training step multiplies the loss by it before differentiating.
    """
    found = _find_state(opt_state)
    return None if found is None else found.dynamic_scale


def _checked(name: str, value, minimum, kind=numbers.Real):
    if isinstance(value, bool) or not isinstance(value, kind) or not value >= minimum:
        raise ValueError(f"LossScaleOptimizer: {name} must be a number >= {minimum}; "
                         f"received {name}={value!r}.")
    return value


class LossScaleOptimizer(Optimizer):
    """Wraps an optimizer with dynamic loss scaling (see the module docstring).

    Args:
        inner_optimizer: the optimizer to wrap (a name, an Optimizer or an optax
            transformation, as ``compile`` accepts).
        initial_scale: the first loss scale (Keras's default ``2**15``).
        dynamic_growth_steps: finite steps after which the scale doubles (default 2000).
        name: optional name.
    """

    # Resolves an inner optimizer given by name or config (``thawnet.optimizers.get``): set
    # by the package, whose registry of names imports this module.
    resolve_inner = None

    def __init__(self, inner_optimizer: Any, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None,
                 **kwargs: Any) -> None:
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer: dynamic=False is not supported (as in Keras "
                             "3); set a fixed loss scale on the inner optimizer instead.")
        for key, default in _INNER_ONLY.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{key}`: set it on the "
                                 "inner optimizer instead.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer: unexpected argument(s) {sorted(kwargs)}.")
        if isinstance(inner_optimizer, optax.GradientTransformation):
            inner_optimizer = OptaxOptimizer(inner_optimizer)
        elif not isinstance(inner_optimizer, Optimizer):
            inner_optimizer = type(self).resolve_inner(inner_optimizer)
        self.inner_optimizer = inner_optimizer
        if isinstance(self.inner_optimizer, LossScaleOptimizer):
            raise ValueError("LossScaleOptimizer: the inner optimizer is already a "
                             "LossScaleOptimizer; wrap the plain optimizer once.")
        self.initial_scale = float(_checked("initial_scale", initial_scale, 0))
        if self.initial_scale == 0:
            raise ValueError("LossScaleOptimizer: initial_scale must be > 0; received "
                             "initial_scale=0.")
        self.dynamic_growth_steps = int(_checked("dynamic_growth_steps", dynamic_growth_steps,
                                                 1, numbers.Integral))
        self.name = name or "loss_scale_optimizer"
        self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self._exclude_pattern = None
        self._hyper = {}

    # -- hyperparameters are the inner optimizer's -------------------------------------------
    @property
    def learning_rate(self) -> Any:
        """The inner optimizer's learning rate (read and assigned through it, as Keras)."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self.inner_optimizer.learning_rate = value

    @property
    def weight_decay(self) -> Any:
        return self.inner_optimizer.weight_decay

    @property
    def learning_rate_schedule(self) -> Any:
        return self.inner_optimizer.learning_rate_schedule

    def _attach(self, owner: Any) -> None:
        # The inner optimizer finds its injected hyperparameters inside this state.
        super()._attach(owner)
        self.inner_optimizer._attach(owner)

    def exclude_from_weight_decay(self, var_names: list[str] | None = None) -> None:
        self.inner_optimizer.exclude_from_weight_decay(var_names)

    # -- optax -------------------------------------------------------------------------------
    def to_optax(self) -> optax.GradientTransformationExtraArgs:
        """``init`` / ``update`` of the wrapped rule with loss scaling (gradients given to
        ``update`` are those of the *scaled* loss)."""
        inner = optax.apply_if_finite(self.inner_optimizer.to_optax(), _NEVER)
        initial, growth = self.initial_scale, self.dynamic_growth_steps

        def init(params):
            return LossScaleState(inner.init(params), jnp.zeros((), jnp.int32),
                                  jnp.asarray(initial, jnp.float32))

        def update(grads, state, params=None, **extra):
            scale = state.dynamic_scale
            unscaled = jax.tree_util.tree_map(lambda g: g / scale.astype(g.dtype), grads)
            updates, inner_state = inner.update(unscaled, state.inner, params, **extra)
            finite = inner_state.last_finite
            grow = finite & (state.step_counter == growth - 1)
            counter = jnp.where(finite & ~grow, state.step_counter + 1, 0).astype(jnp.int32)
            factor = jnp.where(finite, jnp.where(grow, 2.0, 1.0), 0.5).astype(jnp.float32)
            return updates, LossScaleState(inner_state, counter, scale * factor)

        return optax.GradientTransformationExtraArgs(init, update)

    def scale_loss(self, loss: Any) -> Any:
        """``loss`` times the loss scale of the attached model's current state (the
        initial scale before the first step), as Keras's ``scale_loss``. Eager only: the
        value is read on the host, so a compiled custom step would see a constant."""
        state = self._live_state()
        scale = current_loss_scale(state) if state is not None else None
        return loss * (self.initial_scale if scale is None else scale)

    @property
    def dynamic_scale(self) -> float:
        """The current loss scale (from the attached model's optimizer state)."""
        state = self._live_state()
        scale = current_loss_scale(state) if state is not None else None
        return self.initial_scale if scale is None else float(jax.device_get(scale))

    @property
    def step_counter(self) -> int:
        """Finite steps since the scale last changed (from the attached model's state)."""
        state = self._live_state()
        found = _find_state(state) if state is not None else None
        return 0 if found is None else int(jax.device_get(found.step_counter))

    # -- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        inner = self.inner_optimizer
        return {"name": self.name,
                "inner_optimizer": {"module": "keras.optimizers",
                                    "class_name": type(inner).__name__,
                                    "config": inner.get_config(), "registered_name": None},
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict) -> "LossScaleOptimizer":
        config = dict(config)
        return cls(config.pop("inner_optimizer"), **config)

    def __repr__(self) -> str:
        return (f"<LossScaleOptimizer inner={self.inner_optimizer!r} "
                f"initial_scale={self.initial_scale}>")


__all__ = ["LossScaleOptimizer", "LossScaleState", "current_loss_scale"]
