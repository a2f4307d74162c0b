"""The stateless bridge: a layer (or model) run as a pure function of explicit weight values.

Mixed into :class:`~thawnet.layers.layer.Layer`. While it runs, every read of a variable comes
from the maps given (arrays or JAX tracers) and statistic updates are collected and returned,
not written: this is what ``jax.jit`` and ``jax.grad`` see (DESIGN.md section 2).
"""

from __future__ import annotations

from typing import Any

import jax

from thawnet.backend import random as random_lib
from thawnet.backend import scope as scope_lib
from thawnet.backend.types import Array, TensorTree
from thawnet.layers.call_inspection import check_weight_maps
from thawnet.variables import Variable, layer_trainability


class StatelessBridge:
    """``stateless_call`` (path maps or Keras 3's lists) and the random keys layers draw."""

    def stateless_call(self, trainable: dict[str, Array] | list[Array],
                       non_trainable: dict[str, Array] | list[Array], inputs: TensorTree,
                       training: bool | None = False, rng: Array | None = None,
                       return_losses: bool = False, **kwargs) -> tuple:
        """Run as a pure function of explicit weight values.

        Args:
            trainable: ``{path: array}`` for the weights to differentiate, or a list in the
                order of ``trainable_variables`` (Keras 3's form).
            non_trainable: ``{path: array}`` for all other weights, or a list in the order
                of ``non_trainable_variables``.
            inputs: the inputs, as for ``__call__``.
            training: training mode (Dropout active, BatchNormalization on batch statistics).
            rng: JAX key for stochastic layers; required under ``jit`` when ``training`` and
                the model has Dropout with a non-zero rate.
            return_losses: also return the regularisation losses (weights + activity).

        Returns:
            ``(outputs, new_non_trainable)``, or ``(outputs, new_non_trainable, losses)``: the
            non-trainable values after this call (statistics updated in training mode), with the
            same paths as ``non_trainable``. Given lists, the new values are a list in the same
            order and ``losses`` is a list (the ``add_loss`` values, then the weight penalties).
        """
        as_lists = isinstance(trainable, (list, tuple)) or isinstance(non_trainable,
                                                                     (list, tuple))
        if as_lists:
            trainable, non_trainable = keras_lists_to_maps(self, trainable, non_trainable)
        outputs, new_nt, reg, added, _ = self._run_stateless(
            trainable, non_trainable, inputs, training, rng, return_losses, kwargs)
        if as_lists:
            new_nt = [new_nt[p] for p in non_trainable]
            if return_losses:
                penalized = any(v.regularizer is not None for v in self.trainable_weights)
                return outputs, new_nt, list(added) + ([reg] if penalized else [])
        if return_losses:
            return outputs, new_nt, reg + sum(added)
        return outputs, new_nt

    def _run_stateless(self, trainable, non_trainable, inputs, training, rng, collect_losses,
                       kwargs):
        """The body of :meth:`stateless_call`; also returns the losses added in ``call`` and
        the layers that added them (eager model calls hand those back to the layers)."""
        by_path = self.variables_by_path()
        check_weight_maps(self, by_path, trainable, non_trainable)
        # Keras code passes the Variable objects themselves (layer.trainable_variables): their
        # current values are what it means.
        trainable = {p: _value_of(v) for p, v in trainable.items()}
        non_trainable = {p: _value_of(v) for p, v in non_trainable.items()}
        bound = {by_path[p]: v for p, v in trainable.items()}
        bound.update({by_path[p]: v for p, v in non_trainable.items()})
        if rng is None and scope_lib.current() is not None:
            # Inside an enclosing scope (fit running a custom train_step): draw from its key.
            rng = scope_lib.current().next_rng(self.name)
        # The one layer rule, for the chain from this model down (BatchNormalization reads it).
        outer = getattr(scope_lib.current(), "layer_trainability", None)
        with scope_lib.StatelessScope(bound, rng=rng, collect_losses=collect_losses) as scope:
            scope.layer_trainability = layer_trainability(self, outer)
            scope.traced = any(isinstance(leaf, jax.core.Tracer) for leaf in
                               jax.tree_util.tree_leaves((trainable, non_trainable, inputs)))
            outputs = self.__call__(inputs, training=training, **kwargs)
            reg = self.regularization_loss() if collect_losses else None
        new_nt = {p: scope.updates.get(by_path[p], v) for p, v in non_trainable.items()}
        return outputs, new_nt, reg, list(scope.losses), list(scope.loss_owners)

    def next_rng(self) -> Any:
        """A key for this layer's random draw (Dropout)."""
        scope = scope_lib.current()
        if scope is not None:
            key = scope.next_rng(self.name)
            if key is not None:
                return key
            if scope.traced:
                raise ValueError(
                    f'{type(self).__name__} "{self.name}" needs randomness in training mode, '
                    "but no rng was given to stateless_call. Pass rng=jax.random.PRNGKey(...), "
                    "a new key for every step.")
        return random_lib.next_eager_key()


def keras_lists_to_maps(layer, trainable, non_trainable):
    """``{path: value}`` maps from lists in Keras's order (``trainable_variables``,
    ``non_trainable_variables``); a map given for either side is kept as it is."""
    train_paths, frozen_paths = layer.trainable_split()
    maps = []
    for what, paths, values in (("trainable", train_paths, trainable),
                                ("non_trainable", frozen_paths, non_trainable)):
        if isinstance(values, dict):
            maps.append(values)
            continue
        if len(values) != len(paths):
            raise ValueError(
                f'stateless_call of "{layer.name}": {what}_variables has {len(values)} '
                f"value(s), but the layer has {len(paths)} {what} weight(s) {paths[:5]}"
                f"{' ...' if len(paths) > 5 else ''}. Pass one value per entry of "
                f"layer.{what}_variables, in that order (a trainable flag changed since "
                "the lists were made?).")
        maps.append(dict(zip(paths, values)))
    return maps[0], maps[1]


def _value_of(value):
    return value.value if isinstance(value, Variable) else value
