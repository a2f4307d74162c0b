"""SGD, RMSprop, Adagrad, Adadelta and Lion, built from optax pieces.

In the formulas ``g`` is the (clipped) gradient, ``lr`` the current learning
rate and ``p`` the parameter; ``p <- p + update``. Common arguments
(``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``,
``name``) are described on :class:`thawnet.optimizers.Optimizer`.
"""

from __future__ import annotations

from typing import Callable

import optax

from thawnet.optimizers.argument_checks import checked_factor
from thawnet.optimizers.base import Optimizer
from thawnet.optimizers.hyperparameters import StateHyperparameter
from thawnet.backend.types import Config


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Without momentum: ``update = -lr * g``. With momentum, as in Keras the
    velocity accumulates learning-rate-scaled gradients:
    ``v = momentum * v - lr * g``; ``update = v``, or with Nesterov
    ``update = momentum * v - lr * g``. (optax: ``scale(-lr)`` then
    ``trace(momentum, nesterov)``.)

    Args:
        learning_rate: float or schedule (default 0.01).
        momentum: float >= 0 (default 0). A non-zero momentum is kept in the
            optimizer state, so it can be assigned between steps.
        nesterov: use Nesterov momentum (default False).
    """

    momentum = StateHyperparameter(checked_factor("momentum"))
    state_hyperparameters = ("momentum",)

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = momentum
        self.nesterov = nesterov

    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        scale = optax.scale(-learning_rate)
        if not self._has_term("momentum"):
            return scale
        return optax.chain(scale, optax.trace(self._hp("momentum"), self.nesterov))

    def rule_config(self) -> Config:
        return {"momentum": self.config_value("momentum"), "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop.

    ``v = rho * v + (1 - rho) * g^2``; ``step = lr * g / sqrt(v + eps)``, or
    if ``centered`` (with ``a = rho * a + (1 - rho) * g``)
    ``step = lr * g / sqrt(v - a^2 + eps)``. Then ``update = -step``, or with
    momentum ``s = momentum * s + step``; ``update = -s``.
    (optax: ``scale_by_rms``/``scale_by_stddev`` with ``eps_in_sqrt`` and
    zero initial scale, then ``scale(-lr)`` and ``trace(momentum)``.)

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: decay of the moving averages (default 0.9).
        momentum: float >= 0 (default 0).
        epsilon: added inside the square root (default 1e-7).
        centered: normalise by the estimated variance (default False).

    ``rho`` and a non-zero ``momentum`` are kept in the optimizer state.
    """

    rho = StateHyperparameter(checked_factor("rho"))
    momentum = StateHyperparameter(checked_factor("momentum"))
    state_hyperparameters = ("rho", "momentum")

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        scale_by = optax.scale_by_stddev if self.centered else \
            optax.scale_by_rms
        parts = [
            scale_by(decay=self._hp("rho"), eps=self.epsilon, initial_scale=0.0,
                     eps_in_sqrt=True, bias_correction=False),
            optax.scale(-learning_rate),
        ]
        if self._has_term("momentum"):
            parts.append(optax.trace(self._hp("momentum")))
        return optax.chain(*parts)

    def rule_config(self) -> Config:
        return {"rho": self.config_value("rho"), "momentum": self.config_value("momentum"),
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad.

    ``acc = acc + g^2`` (``acc`` starts at ``initial_accumulator_value``);
    ``update = -lr * g / sqrt(acc + eps)``. (optax: ``scale_by_rss``.)

    Args:
        learning_rate: float or schedule (default 0.001).
        initial_accumulator_value: starting accumulator (default 0.1).
        epsilon: added inside the square root (default 1e-7).
    """

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001,
                 initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_rss(self.initial_accumulator_value, self.epsilon),
            optax.scale(-learning_rate),
        )

    def rule_config(self) -> Config:
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Adadelta.

    ``Eg = rho * Eg + (1 - rho) * g^2``;
    ``dx = sqrt(Edx + eps) / sqrt(Eg + eps) * g``;
    ``Edx = rho * Edx + (1 - rho) * dx^2``; ``update = -lr * dx``.
    (optax: ``scale_by_adadelta``.)

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: decay rate (default 0.95).
        epsilon: added inside the square roots (default 1e-7).

    ``rho`` is kept in the optimizer state.
    """

    rho = StateHyperparameter(checked_factor("rho"))
    state_hyperparameters = ("rho",)

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001, rho: float = 0.95,
                 epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_adadelta(rho=self._hp("rho"), eps=self.epsilon),
            optax.scale(-learning_rate),
        )

    def rule_config(self) -> Config:
        return {"rho": self.config_value("rho"), "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion (evolved sign momentum).

    ``update = -lr * sign(beta_1 * m + (1 - beta_1) * g)``, then
    ``m = beta_2 * m + (1 - beta_2) * g``. (optax: ``scale_by_lion``.)

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: interpolation for the update direction (default 0.9).
        beta_2: decay of the momentum (default 0.99).

    ``beta_1`` and ``beta_2`` are kept in the optimizer state.
    """

    beta_1 = StateHyperparameter(checked_factor("beta_1"))
    beta_2 = StateHyperparameter(checked_factor("beta_2"))
    state_hyperparameters = ("beta_1", "beta_2")

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.99, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name=name, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(
                f"`beta_1` must be in (0, 1]. Received: beta_1={beta_1}."
            )
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        return optax.chain(
            optax.scale_by_lion(b1=self._hp("beta_1"), b2=self._hp("beta_2")),
            optax.scale(-learning_rate),
        )

    def rule_config(self) -> Config:
        return {"beta_1": self.config_value("beta_1"),
                "beta_2": self.config_value("beta_2")}
