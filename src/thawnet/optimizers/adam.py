"""The Adam family: Adam, AdamW, Adamax and Nadam (Keras 3 math).

In the formulas ``g`` is the (clipped) gradient, ``lr`` the current learning
rate, ``t`` the 1-based step and ``p <- p + update``. The rules come from
:mod:`thawnet.optimizers.transforms` (Keras's epsilon placement) followed by
``optax.scale(-lr)``. Common arguments (``weight_decay``, ``clipnorm``,
``clipvalue``, ``global_clipnorm``, ``name``) are described on
:class:`thawnet.optimizers.Optimizer`.
"""

from __future__ import annotations

from typing import Callable

import optax

from thawnet.optimizers.argument_checks import checked_factor
from thawnet.optimizers.base import Optimizer
from thawnet.optimizers.hyperparameters import StateHyperparameter
from thawnet.optimizers.transforms import (
    scale_by_keras_adam,
    scale_by_keras_adamax,
    scale_by_keras_nadam,
)
from thawnet.backend.types import Config


class _BetaOptimizer(Optimizer):
    """Shared constructor of the Adam family; ``beta_1`` and ``beta_2`` are
    kept in the optimizer state (assignable between steps)."""

    beta_1 = StateHyperparameter(checked_factor("beta_1"))
    beta_2 = StateHyperparameter(checked_factor("beta_2"))
    state_hyperparameters = ("beta_1", "beta_2")
    complemented = ("beta_1", "beta_2")

    def __init__(self, learning_rate: float | Callable[[int], float], beta_1: float, beta_2: float,
                 epsilon: float, weight_decay: float | None, clipnorm: float | None,
                 clipvalue: float | None, global_clipnorm: float | None, name: str | None, **kwargs
            ) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def rule_config(self) -> Config:
        return {"beta_1": self.config_value("beta_1"),
                "beta_2": self.config_value("beta_2"), "epsilon": self.epsilon}


class Adam(_BetaOptimizer):
    """Adam.

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``update = -lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``.
    With ``amsgrad``, ``v`` is replaced by its running maximum.

    Note Keras's epsilon is added to ``sqrt(v)`` before bias correction;
    ``optax.adam`` adds it after, so a small custom transformation
    (:func:`scale_by_keras_adam`) is used.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: decay of the first moment (default 0.9).
        beta_2: decay of the second moment (default 0.999).
        epsilon: stabiliser (default 1e-7).
        amsgrad: use AMSGrad (default False).
    """

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name, **kwargs)
        self.amsgrad = amsgrad

    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        return optax.chain(
            scale_by_keras_adam(self._hp("beta_1"), self._hp("beta_2"),
                                self.epsilon, self.amsgrad,
                                self._hp("one_minus_beta_1"),
                                self._hp("one_minus_beta_2")),
            optax.scale(-learning_rate),
        )

    def rule_config(self) -> Config:
        return {**super().rule_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004).

    ``update = adam_update - lr * weight_decay * p``.

    Args:
        learning_rate: float or schedule (default 0.001).
        weight_decay: decay rate (default 0.004); must not be None.
        beta_1, beta_2, epsilon, amsgrad: as in :class:`Adam`.
    """

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001,
                 weight_decay: float | None = 0.004, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs) -> None:
        if weight_decay is None:
            raise ValueError(
                "Argument `weight_decay` must be a float. Received: "
                "weight_decay=None"
            )
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)


class Adamax(_BetaOptimizer):
    """Adamax (Adam with the infinity norm).

    ``m = b1 m + (1 - b1) g``; ``u = max(b2 u, |g|)``;
    ``update = -lr * m / ((1 - b1^t) (u + eps))``.

    ``optax.adamax`` puts eps inside the maximum (``max(b2 u, |g| + eps)``),
    so :func:`scale_by_keras_adamax` is used.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: decay of the first moment (default 0.9).
        beta_2: decay of the infinity norm (default 0.999).
        epsilon: stabiliser (default 1e-7).
    """

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name, **kwargs)

    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        return optax.chain(
            scale_by_keras_adamax(self._hp("beta_1"), self._hp("beta_2"),
                                  self.epsilon, self._hp("one_minus_beta_1")),
            optax.scale(-learning_rate),
        )


class Nadam(_BetaOptimizer):
    """Nadam (Adam with Nesterov momentum, Dozat's momentum schedule).

    With ``mu_t = b1 (1 - 0.5 * 0.96^t)`` and ``P_t = mu_1 ... mu_t``:
    ``m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)``,
    ``v_hat = v / (1 - b2^t)``,
    ``update = -lr * m_hat / (sqrt(v_hat) + eps)``.

    ``optax.nadam`` uses the simplified (constant-momentum) form, so
    :func:`scale_by_keras_nadam` is used.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: decay of the first moment (default 0.9).
        beta_2: decay of the second moment (default 0.999).
        epsilon: stabiliser (default 1e-7).
    """

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name, **kwargs)

    def update_rule(self, learning_rate: float | Callable[[int], float]
                    ) -> optax.GradientTransformation:
        return optax.chain(
            scale_by_keras_nadam(self._hp("beta_1"), self._hp("beta_2"),
                                 self.epsilon, self._hp("one_minus_beta_1"),
                                 self._hp("one_minus_beta_2")),
            optax.scale(-learning_rate),
        )
