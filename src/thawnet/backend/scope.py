"""The stateless scope: lets object-style layers run as pure functions.

Inside ``with StatelessScope(values):`` every read of a bound variable returns the value given
in ``values`` (an array or a JAX tracer) instead of the stored one, and every ``assign`` is
recorded in ``scope.updates`` instead of being written. Layers also report their losses
(activity regularisation) and draw random keys here. This is how ``stateless_call`` turns a
model into a function that ``jax.jit`` and ``jax.grad`` can see through.
"""

from __future__ import annotations

import contextlib
import contextvars

import jax

_current = contextvars.ContextVar("thawnet_stateless_scope", default=None)
# While a compiled step is traced: the names of the layers that drew a key (see
# ``counting_key_draws``).
_key_draws = contextvars.ContextVar("thawnet_key_draws", default=None)


@contextlib.contextmanager
def counting_key_draws():
    """Record, while a step is traced, which layers draw a key from a scope's rng.

    A training step carries its key from step to step; when no layer drew one (a model
    without Dropout, noise or augmentation), the step hands the old key on unchanged and
    XLA drops the split, which otherwise costs a small loop of its own every step.
    Yields the list of the drawing layers' names.
    """
    drawn: list = []
    token = _key_draws.set(drawn)
    try:
        yield drawn
    finally:
        _key_draws.reset(token)


def current():
    """The innermost active scope, or None."""
    return _current.get()


class StatelessScope:
    """Bind variables to values for the duration of a ``with`` block.

    Args:
        values: mapping ``Variable -> array``.
        rng: optional JAX key; stochastic layers (Dropout) draw from it. Under ``jit`` pass a
            fresh key each step, or the same mask would be used every time.
        collect_losses: collect activity-regularisation losses added with ``add_loss``.
        abstract: shape inference only; unmaterialised variables read as placeholders.
    """

    def __init__(self, values=None, rng=None, collect_losses=False, abstract=False):
        self.values = dict(values or {})
        self.abstract = abstract
        self.traced = False  # set by stateless_call when it runs under a JAX transformation
        self.updates = {}
        self.losses = []
        self.loss_owners = []  # the layer that added each entry of ``losses``
        self.collect_losses = collect_losses
        self._rng = rng
        self._rng_count = 0
        self._token = None

    def binds(self, variable) -> bool:
        return variable in self.values or variable in self.updates

    def read(self, variable):
        if variable in self.updates:
            return self.updates[variable]
        return self.values.get(variable)

    def write(self, variable, value):
        self.updates[variable] = value

    def add_loss(self, value, owner=None):
        if self.collect_losses:
            self.losses.append(value)
            self.loss_owners.append(owner)

    def next_rng(self, who: str):
        """A fresh key for one random draw; ``who`` names the layer for the error message."""
        if self._rng is None:
            return None
        self._rng_count += 1
        drawn = _key_draws.get()
        if drawn is not None:
            drawn.append(who)
        return jax.random.fold_in(self._rng, self._rng_count)

    def __enter__(self):
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc):
        _current.reset(self._token)
        return False
