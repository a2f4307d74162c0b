"""Losses a layer adds while it runs (``add_loss``, activity regularizers) and the penalties
of its weights. Mixed into :class:`~thawnet.layers.layer.Layer`.

Inside ``fit`` (any ``stateless_call(..., return_losses=True)``) added losses are collected by
the stateless scope and enter the training loss; in an eager call they are kept on the layer
until its next call, in ``losses``.
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp

from thawnet.backend import scope as scope_lib
from thawnet.backend.types import Array, TensorLike
from thawnet.variables import is_effectively_trainable


class LayerLosses:
    """``add_loss``, ``losses`` and the weight regularization penalty."""

    def _all_layers(self):
        """Every layer below this one, each once (models cache it; a plain layer that mixes in
        the trainer, as Keras's ``class M(Trainer, layers.Dense)``, walks each time)."""
        return _all_sublayers(self)

    def add_loss(self, loss: TensorLike | Callable[[], TensorLike]) -> None:
        """Add a scalar loss computed in ``call``; ``fit`` adds it to the training loss.

        Inside ``fit`` (or any ``stateless_call(..., return_losses=True)``) it is collected by
        the stateless scope; in an eager call it is kept until the next call, in ``losses``.
        """
        scope = scope_lib.current()
        if scope is not None:
            scope.add_loss(jnp.asarray(loss), owner=self)
        else:
            self._losses.append(jnp.asarray(loss))

    @property
    def losses(self) -> list:
        """The losses of the last eager call (this layer's and its sublayers'), then the
        regularization penalties of the effectively trainable weights. Inside a stateless scope
        that collects losses (``compute_loss`` in a custom train step), the losses of that
        scope's forward pass instead, and the penalties of the values it binds."""
        scope = scope_lib.current()
        if scope is not None and scope.collect_losses:
            mine = {id(self)} | {id(layer) for layer in _all_sublayers(self)}
            out = [loss for loss, owner in zip(scope.losses, scope.loss_owners)
                   if id(owner) in mine]
        else:
            out = list(self._losses)
            for layer in _all_sublayers(self):
                out.extend(layer._losses)
        for _, v, owners in self._walk():
            if v.regularizer is not None and is_effectively_trainable(v, owners):
                out.append(v.regularizer(v.value))
        return out

    def _clear_losses(self):
        self._losses = []
        for layer in _all_sublayers(self):
            layer._losses = []

    def regularization_loss(self) -> Array:
        """Sum of the weight regularizers of effectively trainable weights (Keras semantics)."""
        total = jnp.zeros((), jnp.float32)
        for _, v, owners in self._walk():
            if v.regularizer is not None and is_effectively_trainable(v, owners):
                total = total + v.regularizer(v.value)
        return total


def _all_sublayers(layer):
    """Every layer below ``layer``, each once."""
    out, stack, seen = [], list(layer._children()), {id(layer)}
    while stack:
        child = stack.pop()
        if id(child) not in seen:
            seen.add(id(child))
            out.append(child)
            stack.extend(child._children())
    return out
