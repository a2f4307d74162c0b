"""The weights of a layer: created by ``add_weight``, listed as Keras lists them (own
weights then sublayers', each once).

Mixed into :class:`~thawnet.layers.layer.Layer`. Effective trainability is never stored:
every list here is derived from the variables' roles and flags and the owners' flags at the
moment it is asked for (:func:`~thawnet.variables.is_effectively_trainable`).
"""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from thawnet import constraints as constraints_lib
from thawnet import initializers as initializers_lib
from thawnet import regularizers as regularizers_lib
from thawnet.backend.types import ArrayLike
from thawnet.layers.weight_arguments import weight_arguments
from thawnet.variables import (PARAMETER, STATISTIC, Variable, is_effectively_trainable,
                               materialize_all)


class LayerWeights:
    """Weight creation, lists, paths and values of a layer (and its sublayers)."""

    # -- weights -----------------------------------------------------------------------------
    def add_weight(self, *args, **kwargs) -> Variable:
        """Create a weight of this layer (Keras 3's signature; thawnet's older positional
        form ``add_weight(name, shape, initializer, ...)`` works too).

        Args:
            shape: tuple of ints; default ``()`` (a scalar).
            initializer: name, Initializer or callable ``(key, shape, dtype)``; by default
                ``"glorot_uniform"`` for float weights and ``"zeros"`` for int/bool ones and
                for weights declared ``role="statistic"``.
            dtype: default the layer's dtype.
            trainable: ``False`` declares state the layer updates itself (a counter, a
                moving mean): role ``"statistic"``, as Keras 3 means it. To hold a
                *parameter* constant, freeze it instead (``layer.trainable = False``, or
                ``role="parameter", trainable=False``).
            regularizer: penalty on the value added to the training loss.
            constraint: applied to the value after every optimizer step.
            name: unique in the layer; automatic (``variable``, ``variable_1``) if omitted.
            role: ``"parameter"`` or ``"statistic"``, overriding what ``trainable`` implies.

        Returns:
            The new :class:`~thawnet.variables.Variable`.
        """
        if self.__dict__.get("_in_call"):
            raise ValueError(
                f'Layer "{self.name}": You cannot add new elements of state (variables or '
                "sub-layers) to a layer while it runs call(): all state must be created in "
                "__init__() or build(). Move this add_weight there.")
        a = weight_arguments(self, args, kwargs)
        name = a["name"] or self._free_weight_name()
        if any(v.name == name for v in self._own_variables):
            raise ValueError(f'Layer "{self.name}" already has a weight named "{name}". Give '
                             "each weight its own name=, or leave name= out for an automatic "
                             "one.")
        dtype = jnp.dtype(a["dtype"] or self.dtype)
        role = a["role"] or (PARAMETER if a["trainable"] else STATISTIC)
        initializer = a["initializer"]
        if initializer is None:
            floating = jnp.issubdtype(dtype, jnp.floating)
            initializer = "glorot_uniform" if floating and a["role"] != STATISTIC else "zeros"
        var = Variable(name, a["shape"], dtype, initializers_lib.get(initializer), role=role,
                       trainable=a["trainable"], path=f"{self.name}/{name}",
                       regularizer=regularizers_lib.get(a["regularizer"]),
                       constraint=constraints_lib.get(a["constraint"]),
                       # a layer with autocast=False (normalizations) keeps its weights' dtype
                       autocast=a["autocast"] and getattr(self, "autocast", True))
        var.owner = self
        var.declared_untrainable = a["role"] is None and not a["trainable"]
        self._own_variables.append(var)
        return var

    def _free_weight_name(self):
        taken = {v.name for v in self._own_variables}
        name, k = "variable", 0
        while name in taken:
            k += 1
            name = f"variable_{k}"
        return name

    def _own_weights_in_order(self):
        # Keras lists the weights created trainable first, then the others, each in creation
        # order (BatchNormalization: gamma, beta, moving_mean, moving_variance). A parameter
        # frozen by a layer mechanism (frozen_by, e.g. LoRA's base kernel) keeps its place.
        first = [v for v in self._own_variables
                 if v.role == PARAMETER and (v.trainable or v.frozen_by is not None)]
        return first + [v for v in self._own_variables if all(v is not f for f in first)]

    def _keras_file_weights(self):
        """This layer's own weights as Keras 3 weight files store them, in order (all own
        weights by default; LoRA layers store their matrix merged, see ``lora.py``)."""
        return self._own_weights_in_order()

    def _walk(self, prefix=None, owners=(), seen=None, seed_states=False):
        """Yield ``(path, variable, owners)`` for every weight once, in Keras's weight order.

        ``owners`` is the chain of layers from this one down to the variable's layer, which
        :func:`~thawnet.variables.is_effectively_trainable` needs. ``seed_states`` adds the
        state of ``random.SeedGenerator`` sublayers: Keras's variables that are not weights
        (in stateless paths and native files; not in weights, counts or Keras files).
        """
        if getattr(self, "holds_seed_state", False) and not seed_states:
            return
        seen = set() if seen is None else seen
        prefix = self._path_prefix() if prefix is None else prefix
        owners = owners + (self,)
        for v in self._own_weights_in_order():
            if id(v) not in seen:
                seen.add(id(v))
                yield prefix + v.name, v, owners
        for child in self._children():
            yield from child._walk(prefix + child.name + "/", owners, seen, seed_states)

    def _path_prefix(self):
        return self.name + "/"

    def variables_by_path(self) -> dict[str, Any]:
        """``{path: Variable}`` for all weights; paths are the keys of ``stateless_call``."""
        return {path: v for path, v, _ in self._walk(seed_states=True)}

    def weights_by_path(self) -> dict[str, Any]:
        """``{path: Variable}`` for the weights only: what files hold. Seed-generator states
        are left out, as Keras's files leave them out (layers draw from the step's key), so
        a file loads into the same architecture whatever automatic names its layers got."""
        return {path: v for path, v, _ in self._walk()}

    def trainable_split(self) -> tuple:
        """``(trainable_paths, non_trainable_paths)`` as the model stands now."""
        train, frozen = [], []
        for path, v, owners in self._walk(seed_states=True):
            (train if is_effectively_trainable(v, owners) else frozen).append(path)
        return train, frozen

    @property
    def weights(self) -> list:
        return [v for _, v, _ in self._walk()]

    @property
    def trainable_weights(self) -> list:
        return [v for _, v, owners in self._walk() if is_effectively_trainable(v, owners)]

    @property
    def non_trainable_weights(self) -> list:
        return [v for _, v, owners in self._walk() if not is_effectively_trainable(v, owners)]

    # Keras's variables: the weights plus SeedGenerator states (see ``_walk``).
    @property
    def variables(self) -> list:
        return [v for _, v, _ in self._walk(seed_states=True)]

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights  # a seed state is never trainable

    @property
    def non_trainable_variables(self) -> list:
        return [v for _, v, owners in self._walk(seed_states=True)
                if not is_effectively_trainable(v, owners)]

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f'Layer "{self.name}" is not built yet, so it has no weights to count. '
                             "Call it on an input or build it with an input shape first.")
        return int(sum(v.size for v in self.weights))

    def get_weights(self) -> list[Any]:
        """Values as NumPy arrays, in Keras's weight order."""
        materialize_all(self.weights)
        return [np.asarray(v.value) for v in self.weights]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Set all weights at once (Keras order). Checks everything before writing anything."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f'Layer "{self.name}" has {len(own)} weight(s) '
                f"{[v.path for v in own]}; set_weights received {len(weights)} array(s). Pass "
                "one array per weight, in the order of layer.weights. The layer keeps its old "
                "weights.")
        for v, w in zip(own, weights):
            if tuple(np.shape(w)) != v.shape:
                raise ValueError(
                    f'Layer "{self.name}": weight "{v.path}" has shape {v.shape}; set_weights '
                    f"received an array of shape {tuple(np.shape(w))}. The layer keeps its old "
                    "weights.")
        for v, w in zip(own, weights):
            v.assign(jnp.asarray(w, v.dtype))

    # Keras-private names that Keras 3 code (its own tests, some libraries) reaches for.
    def _build_at_init(self):
        """Mark a weightless layer built at construction (Keras's helper for custom layers)."""
        self.built = True

    def _untrack_variable(self, variable: Variable) -> None:
        """Stop listing ``variable`` among this layer's weights (Keras's helper:
        ``self.w = self._untrack_variable(self.w)``); returns None."""
        self._own_variables[:] = [v for v in self._own_variables if v is not variable]

    def _adopt_attribute_variables(self) -> None:
        """Make Variables created on their own and assigned as public attributes (also
        before ``super().__init__()``) weights of this layer, as Keras tracks them."""
        for key, value in list(self.__dict__.items()):
            if (isinstance(value, Variable) and value.owner is None and not key.startswith("_")
                    and all(value is not v for v in self._own_variables)):
                if any(v.name == value.name for v in self._own_variables):
                    value.name = self._free_weight_name()
                value.owner, value.path = self, f"{self.name}/{value.name}"
                self._own_variables.append(value)

    @property
    def _layers(self):
        # Keras tracks seed generators apart from layers (random.SeedGenerator holds state).
        return [c for c in self._children() if not getattr(c, "holds_seed_state", False)]

    @property
    def metrics(self) -> list:
        """Metrics held as attributes of this layer and its sublayers (Keras 3's list); their
        state is not among the layer's weights."""
        found = [v for v in self.__dict__.values() if _is_metric(v)]
        for child in self._children():
            found.extend(m for m in child.metrics if all(m is not f for f in found))
        return found

    @property
    def metrics_variables(self) -> list:
        return [v for m in self.metrics for v in m.variables]

    @property
    def _trainable_variables(self):
        return [v for v in self._own_variables if v.role == PARAMETER and v.own_trainable]

    @property
    def _non_trainable_variables(self):
        return [v for v in self._own_variables if not (v.role == PARAMETER and v.own_trainable)]


def _is_metric(value) -> bool:
    # Duck-typed: metrics live above layers in the dependency order (thawnet.metrics).
    return all(callable(getattr(value, n, None))
               for n in ("update_state", "result", "reset_state")) and not isinstance(value, type)
