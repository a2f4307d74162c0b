"""Small optax transformations for the places where Keras's math differs
from optax's built-ins.

* Adam/AdamW/Amsgrad: Keras adds epsilon to ``sqrt(v)`` *before* bias
  correction (``lr * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)``), optax
  adds it after (``m_hat / (sqrt(v_hat) + eps)``); Keras's AMSGrad keeps the
  maximum of the raw ``v``.
* Adamax: optax folds epsilon into the infinity norm
  (``max(b2 u, |g| + eps)``); Keras adds it to the denominator.
* Nadam: Keras uses Dozat's momentum schedule ``mu_t = b1 (1 - 0.5 *
  0.96^t)``; optax's ``nadam`` uses the simplified form.
* ``clipnorm``: Keras clips each tensor to an L2 norm; optax has no per-tensor
  L2 clip, so we apply ``optax.clip_by_global_norm`` to each leaf.

Each ``scale_by_*`` here returns a *direction* ``d``: the final update is
``-learning_rate * d`` (the caller appends the learning-rate scaling), like
optax's own ``scale_by_*`` transformations. Moment updates reuse
``optax.tree`` helpers.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


def clip_by_norm_per_tensor(max_norm):
    """Clips every gradient tensor separately to L2 norm ``max_norm``.

    ``g <- g * max_norm / max(||g||_2, max_norm)`` for each leaf (Keras's
    ``clipnorm``).

    Args:
        max_norm: the largest allowed L2 norm of each tensor.

    Returns:
        An ``optax.GradientTransformation``.
    """
    per_leaf = optax.clip_by_global_norm(max_norm)

    def update_fn(updates, state, params=None):
        del params
        clipped = jax.tree.map(
            lambda g: per_leaf.update(g, optax.EmptyState())[0], updates
        )
        return clipped, state

    return optax.GradientTransformation(
        lambda params: optax.EmptyState(), update_fn
    )


def _moment(updates, moments, decay, complement, order):
    """``decay * m + complement * g**order`` per leaf. ``complement`` is ``1 - decay``
    computed on the host when given: in float32, ``1 - float32(0.999)`` is 5e-5 off the
    float32 nearest to 0.001 that Keras uses, and that error shows in every step."""
    if complement is None:
        complement = 1.0 - decay
    return jax.tree.map(lambda g, m: complement * (g ** order) + decay * m,
                        updates, moments)


def _step_powers(count, *betas):
    t = count.astype(jnp.float32)
    return [jnp.power(jnp.asarray(b, jnp.float32), t) for b in betas]


class KerasAdamState(NamedTuple):
    """State of :func:`scale_by_keras_adam`."""

    count: jnp.ndarray  # int32 number of steps taken
    mu: Any  # first moment
    nu: Any  # second moment
    nu_max: Any  # running max of nu (AMSGrad), else None


def scale_by_keras_adam(b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, c1=None,
                        c2=None):
    """Adam direction with Keras's epsilon placement.

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``; with AMSGrad
    ``v = max(v_max, v)``; then
    ``d = sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``.

    Args:
        b1: decay of the first moment.
        b2: decay of the second moment.
        eps: added to ``sqrt(v)``.
        amsgrad: use the running maximum of ``v``.
        c1, c2: ``1 - b1`` and ``1 - b2`` when computed apart (see ``_moment``).

    Returns:
        An ``optax.GradientTransformation``.
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like
        return KerasAdamState(
            count=jnp.zeros([], jnp.int32), mu=zeros(params), nu=zeros(params),
            nu_max=zeros(params) if amsgrad else None,
        )

    def update_fn(updates, state, params=None):
        del params
        count = optax.safe_increment(state.count)
        mu = _moment(updates, state.mu, b1, c1, 1)
        nu = _moment(updates, state.nu, b2, c2, 2)
        nu_max, denom_v = None, nu
        if amsgrad:
            nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu)
            denom_v = nu_max
        b1_t, b2_t = _step_powers(count, b1, b2)
        correction = jnp.sqrt(1.0 - b2_t) / (1.0 - b1_t)
        direction = jax.tree.map(
            lambda m, v: (m * correction) / (jnp.sqrt(v) + eps), mu, denom_v
        )
        return direction, KerasAdamState(count, mu, nu, nu_max)

    return optax.GradientTransformation(init_fn, update_fn)


class KerasAdamaxState(NamedTuple):
    """State of :func:`scale_by_keras_adamax`."""

    count: jnp.ndarray
    mu: Any  # first moment
    nu: Any  # exponentially weighted infinity norm


def scale_by_keras_adamax(b1=0.9, b2=0.999, eps=1e-7, c1=None):
    """Adamax direction as Keras computes it.

    ``m = b1 m + (1 - b1) g``; ``u = max(b2 u, |g|)``;
    ``d = m / ((1 - b1^t) (u + eps))``.

    Args:
        b1: decay of the first moment.
        b2: decay of the infinity norm.
        eps: added to ``u``.
        c1: ``1 - b1`` when computed apart (see ``_moment``).

    Returns:
        An ``optax.GradientTransformation``.
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like
        return KerasAdamaxState(jnp.zeros([], jnp.int32), zeros(params),
                                zeros(params))

    def update_fn(updates, state, params=None):
        del params
        count = optax.safe_increment(state.count)
        mu = _moment(updates, state.mu, b1, c1, 1)
        # eps=0: Keras keeps eps out of the running maximum.
        nu = optax.tree.update_infinity_moment(updates, state.nu, b2, 0.0)
        (b1_t,) = _step_powers(count, b1)
        direction = jax.tree.map(
            lambda m, u: m / ((1.0 - b1_t) * (u + eps)), mu, nu
        )
        return direction, KerasAdamaxState(count, mu, nu)

    return optax.GradientTransformation(init_fn, update_fn)


class KerasNadamState(NamedTuple):
    """State of :func:`scale_by_keras_nadam`."""

    count: jnp.ndarray
    mu: Any
    nu: Any
    mu_product: jnp.ndarray  # prod_{s<=t} mu_s


def scale_by_keras_nadam(b1=0.9, b2=0.999, eps=1e-7, c1=None, c2=None):
    """Nadam direction with Dozat's momentum schedule (as in Keras).

    With ``mu_t = b1 (1 - 0.5 * 0.96^t)`` and ``P_t = prod_{s<=t} mu_s``:
    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)``;
    ``v_hat = v / (1 - b2^t)``; ``d = m_hat / (sqrt(v_hat) + eps)``.

    Args:
        b1: decay of the first moment.
        b2: decay of the second moment.
        eps: added to ``sqrt(v_hat)``.
        c1, c2: ``1 - b1`` and ``1 - b2`` when computed apart (see ``_moment``).

    Returns:
        An ``optax.GradientTransformation``.
    """

    def init_fn(params):
        zeros = optax.tree.zeros_like
        return KerasNadamState(jnp.zeros([], jnp.int32), zeros(params),
                               zeros(params), jnp.ones([], jnp.float32))

    def update_fn(updates, state, params=None):
        del params
        count = optax.safe_increment(state.count)
        t = count.astype(jnp.float32)
        decay = jnp.float32(0.96)
        mu_t = b1 * (1.0 - 0.5 * jnp.power(decay, t))
        mu_next = b1 * (1.0 - 0.5 * jnp.power(decay, t + 1.0))
        product = state.mu_product * mu_t
        product_next = product * mu_next
        mu = _moment(updates, state.mu, b1, c1, 1)
        nu = _moment(updates, state.nu, b2, c2, 2)
        (b2_t,) = _step_powers(count, b2)

        def direction(g, m, v):
            m_hat = mu_next * m / (1.0 - product_next) + (
                (1.0 - mu_t) * g / (1.0 - product)
            )
            return m_hat / (jnp.sqrt(v / (1.0 - b2_t)) + eps)

        out = jax.tree.map(direction, updates, mu, nu)
        return out, KerasNadamState(count, mu, nu, product)

    return optax.GradientTransformation(init_fn, update_fn)
