"""Variables: weights with a role.

Every weight in thawnet is a :class:`Variable` with a **role**:

* ``"parameter"`` — trained by gradients, unless it (or a layer that owns it) is frozen;
* ``"statistic"`` — updated by its own layer (e.g. BatchNormalization's moving mean), never by
  gradients, and therefore never trainable.

Whether a variable is *effectively* trainable is derived in exactly one place,
:func:`is_effectively_trainable`, from the role, the variable's own flag and the ``trainable``
flags of the layers that own it; whether a *layer* is, in one place too,
:func:`is_layer_effectively_trainable` (its own flag and every owner's). A running model hands
the layer answer to its layers through the stateless scope (:func:`layer_trains_now`), which is
how BatchNormalization decides whether to update its statistics. Nothing else stores either
answer, so neither can go stale.

Values are materialised lazily: a variable knows its shape, dtype and initializer from the
moment its layer is built, but allocates memory only when a value is first needed. That is what
lets ``summary()`` describe a model far larger than memory.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from thawnet import initializers
from thawnet.backend import dtype_policy as dtype_policy_lib
from thawnet.backend import scope as scope_lib
from thawnet.backend import random as random_lib
from thawnet.backend.types import Array, DTypeLike, PathLike, ShapeLike
from thawnet.backend.initial_values import host_sample as _host_sample
from thawnet.backend.initial_values import materialize_all, path_hash  # noqa: F401 (re-exported)

PARAMETER = "parameter"
STATISTIC = "statistic"
ROLES = (PARAMETER, STATISTIC)


def is_layer_effectively_trainable(layer, owners=()) -> bool:
    """The single definition of a layer's effective trainability.

    A layer is effectively trainable when its own ``trainable`` flag and the flag of every
    layer or model in ``owners`` (the chain from the root being asked down to, but not
    including, ``layer``) are set. Its parameters then get gradients (unless their own flag
    is off) and its statistics are updated in training mode; otherwise neither happens.

    >>> from thawnet.layers import Dense
    >>> outer, inner = Dense(2), Dense(2)
    >>> outer.trainable = False
    >>> is_layer_effectively_trainable(inner, owners=(outer,))
    False
    """
    return bool(layer.trainable) and all(bool(owner.trainable) for owner in owners)


def is_effectively_trainable(variable: "Variable", owners: tuple = ()) -> bool:
    """The single definition of a variable's effective trainability.

    A variable is trained by gradients when its role is ``parameter``, its own ``trainable``
    flag is set, and the layer that created it is effectively trainable
    (:func:`is_layer_effectively_trainable`): ``owners`` is the chain from the root being
    asked down to that layer.
    """
    if variable.role != PARAMETER or not variable.own_trainable:
        return False
    return not owners or is_layer_effectively_trainable(owners[-1], owners[:-1])


def layer_trainability(root, enclosing=None) -> dict:
    """``{id(layer): effectively trainable}`` for ``root`` and every layer below it.

    A shared layer is decided by the first chain that reaches it, in weight order (the chain
    by which ``root`` lists its weights). ``enclosing`` is the map of an outer call (a custom
    train step calling ``stateless_call`` inside ``fit``): a root frozen there freezes
    everything below it.
    """
    frozen_above = enclosing is not None and not enclosing.get(id(root), True)
    found: dict = {}

    def visit(layer, owners):
        if id(layer) in found:
            return
        found[id(layer)] = not frozen_above and is_layer_effectively_trainable(layer, owners)
        for child in layer._children():
            visit(child, owners + (layer,))

    visit(root, ())
    return found


def layer_trains_now(layer) -> bool:
    """Whether ``layer`` is effectively trainable in the call now running.

    Inside a stateless call (``fit``, ``model(x)``, ``stateless_call``) this is the one rule
    applied to the chain from the model being run down to ``layer``, read from the active
    stateless scope; this is what BatchNormalization asks before updating its statistics.
    Outside one (a layer called on its own) it is the layer's own flag.
    """
    scope = scope_lib.current()
    trainability = getattr(scope, "layer_trainability", None) if scope is not None else None
    if trainability is not None and id(layer) in trainability:
        return trainability[id(layer)]
    return bool(layer.trainable)


class Variable:
    """A named, shaped weight with a role; its value may be materialised lazily.

    Args:
        name: short name within its layer, e.g. ``"kernel"``.
        shape: tuple of ints.
        dtype: a JAX/NumPy dtype.
        initializer: callable ``(key, shape, dtype) -> array``, used when the value is first
            needed; or ``None`` when ``value`` is given.
        role: ``"parameter"`` or ``"statistic"``.
        trainable: the variable's own flag (ignored for statistics, which never train).
            ``variable.trainable`` reads this flag *and* the owning layer's, as in Keras:
            after ``layer.trainable = False`` every weight of the layer reads False.
        path: the variable's own path, ``"<layer name>/<name>"``; it also seeds the variable's
            random initialisation, so initial values do not depend on construction order.
        regularizer: optional callable ``value -> scalar`` added to the training loss.
    """

    def __init__(self, name: str | None = None, shape: ShapeLike | None = None,
                 dtype: DTypeLike | None = None, initializer: Any = None, role: Any = PARAMETER,
                 trainable: bool = True, path: PathLike | None = None, regularizer: Any = None,
                 value: Any = None, constraint: Any = None, autocast: bool = True,
                 aggregation: Any = None, synchronization: Any = None) -> None:
        if name is not None and not isinstance(name, str):
            # Keras 3's form: Variable(initializer_or_value, shape=None, dtype=None, ...).
            name, initializer = None, name
        if initializer is not None and not callable(initializer) and not isinstance(
                initializer, str):
            value, initializer = initializer, None  # an array: the initial value itself
        if isinstance(initializer, str):
            initializer = _initializer_by_name(initializer)
        if value is not None:
            value = jnp.asarray(value) if dtype is None else jnp.asarray(value, dtype)
            shape = value.shape if shape is None else shape
            dtype = value.dtype if dtype is None else dtype
        name = name or "variable"
        if shape is None:
            raise ValueError(f'Variable "{name}": give a shape, or an initial value to take it '
                             "from.")
        dtype = "float32" if dtype is None else dtype
        if role not in ROLES:
            raise ValueError(
                f'Variable "{name}": role must be one of {ROLES}; received role={role!r}.')
        self.name = name
        self.shape = tuple(int(d) for d in shape)
        self._dtype = jnp.dtype(dtype)
        self.initializer = initializer
        self.role = role
        self.own_trainable = bool(trainable) and role == PARAMETER
        self.autocast = bool(autocast)  # False: never read in a mixed policy's compute dtype
        self.owner = None  # the layer that created this variable (set by Layer.add_weight)
        # Keras 3's add_weight(trainable=False): state the layer updates itself.
        self.declared_untrainable = False
        # What turned the own flag off, when a layer mechanism did (e.g. "enable_lora"):
        # the summary's explanation names it; None when the user (or creation) did.
        self.frozen_by = None
        # A statistic that also changes in inference calls (a stateful RNN's carried state):
        # model(x) and predict write it back after every batch, not only in training.
        self.carried_in_inference = False
        self.path = path or name
        self.regularizer = regularizer
        self.constraint = constraint
        self._value = None
        if value is not None:
            self._value = self._checked(value)
        elif initializer is None:
            raise ValueError(f'Variable "{self.path}" needs an initializer or a value.')

    @property
    def dtype(self) -> Any:
        """The storage dtype; while a mixed-precision layer runs, an autocast float weight
        reports the compute dtype it is read in (as Keras's variables do)."""
        cast = dtype_policy_lib.autocast_dtype()
        if cast is not None and getattr(self, "autocast", True) and \
                jnp.issubdtype(self._dtype, jnp.floating):
            return cast
        return self._dtype

    @dtype.setter
    def dtype(self, value: Any) -> None:
        self._dtype = jnp.dtype(value)

    # -- values ---------------------------------------------------------------------------
    @property
    def is_materialized(self) -> bool:
        return self._value is not None

    @property
    def value(self) -> Any:
        """The current value: the one bound by an active stateless scope, else the stored one.
        While a mixed-precision layer runs, a float weight reads in its compute dtype."""
        value = self._current_value()
        cast = dtype_policy_lib.autocast_dtype()
        if cast is not None and self.autocast and value.dtype != cast and \
                jnp.issubdtype(value.dtype, jnp.floating):
            return value.astype(cast)
        return value

    def _current_value(self):
        scope = scope_lib.current()
        if scope is not None:
            bound = scope.read(self)
            if bound is not None:
                return bound
            if self._value is None:
                if scope.abstract:
                    # Shape inference only: a placeholder, never stored, never allocated.
                    return jnp.zeros(self.shape, self._dtype)
                # Created while tracing (a subclassed model built inside jit): initialise
                # concretely, outside the trace, so no tracer is ever stored.
                with jax.ensure_compile_time_eval():
                    self.materialize()
        if self._value is None:
            self.materialize()
        return self._value

    def materialize(self, key: Array | None = None) -> Any:
        """Allocate and initialise the stored value (once)."""
        if self._value is None:
            host = _host_sample(self) if key is None else None
            if host is not None:
                self._value = jnp.asarray(host, self._dtype)
            else:
                key = self.init_key() if key is None else key
                self._value = jnp.asarray(self.initializer(key, self.shape, self._dtype),
                                          self._dtype)
        return self._value

    def init_key(self) -> Array:
        """This variable's initialisation key: the global seed folded with a hash of its path."""
        return jax.random.fold_in(random_lib.base_key(), path_hash(self.path))

    def assign(self, value: Any) -> None:
        """Set the value; inside a stateless scope the new value is recorded, not stored."""
        scope = scope_lib.current()
        if scope is not None and scope.binds(self):
            scope.write(self, jnp.asarray(value, self._dtype))
            return
        self._value = self._checked(value)

    def _checked(self, value):
        arr = jnp.asarray(value)
        if tuple(arr.shape) != self.shape:
            raise ValueError(
                f'Variable "{self.path}" has shape {self.shape}; received a value of shape '
                f'{tuple(arr.shape)}.')
        return arr if arr.dtype == self._dtype else arr.astype(self._dtype)

    def assign_add(self, delta: float) -> None:
        self.assign(self.value + jnp.asarray(delta, self._dtype))

    def assign_sub(self, delta: float) -> None:
        self.assign(self.value - jnp.asarray(delta, self._dtype))

    def numpy(self) -> Array:
        return np.asarray(self.value)

    # -- trainability, derived (never stored twice) -----------------------------------------
    @property
    def trainable(self) -> bool:
        """The own flag and the creating layer's effective trainability (the one rule,
        :func:`layer_trains_now`: inside a running model, every owner's flag counts)."""
        if not self.own_trainable:
            return False
        return self.owner is None or layer_trains_now(self.owner)

    @trainable.setter
    def trainable(self, value: Any) -> None:
        if value and self.role != PARAMETER:
            raise ValueError(
                f'Variable "{self.path}" is a statistic (state its layer updates itself, e.g. '
                "created with add_weight(trainable=False)); it can never be trained by "
                "gradients. Create it with add_weight(..., trainable=True) to train it.")
        self.own_trainable = bool(value)

    # -- array protocol, so a variable can be used where an array is expected --------------
    def __array__(self, dtype=None, copy=None):
        arr = np.asarray(self.value)
        return arr.astype(dtype) if dtype is not None else arr

    def __jax_array__(self):
        return self.value

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self._dtype.itemsize

    def abstract(self) -> Array:
        return jax.ShapeDtypeStruct(self.shape, self._dtype)

    def __repr__(self):
        state = "" if self.is_materialized else ", unmaterialized"
        return (f"<Variable path={self.path} shape={self.shape} dtype={self._dtype.name} "
                f"role={self.role} trainable={self.trainable}{state}>")


def _binary(op, reflected=False):
    def method(self, other):
        other = other.value if isinstance(other, Variable) else other
        return op(other, self.value) if reflected else op(self.value, other)
    return method


# Arithmetic reads the value (Keras variables behave like their arrays). Equality stays
# identity, so variables remain usable as dict keys and in ``in`` tests.
for _name, _op in {"add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply,
                   "truediv": jnp.true_divide, "floordiv": jnp.floor_divide, "mod": jnp.mod,
                   "pow": jnp.power, "matmul": jnp.matmul, "and": jnp.logical_and,
                   "or": jnp.logical_or}.items():
    setattr(Variable, f"__{_name}__", _binary(_op))
    setattr(Variable, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in {"lt": jnp.less, "le": jnp.less_equal, "gt": jnp.greater,
                   "ge": jnp.greater_equal}.items():
    setattr(Variable, f"__{_name}__", _binary(_op))
Variable.__neg__ = lambda self: -self.value
Variable.__pos__ = lambda self: self.value
Variable.__abs__ = lambda self: jnp.abs(self.value)
Variable.__getitem__ = lambda self, index: self.value[index]
Variable.__float__ = lambda self: float(self.value)
Variable.__int__ = lambda self: int(self.value)


def _initializer_by_name(name):
    # A Keras-style Variable("zeros", shape=...) is the one place that needs a name resolved.
    return initializers.get(name)
