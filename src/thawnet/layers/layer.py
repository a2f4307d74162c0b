"""The Layer base class: config in ``__init__``, weights in ``build``, math in ``call``.

A layer owns :class:`~thawnet.variables.Variable` objects (created with :meth:`Layer.add_weight`,
each with a role) and may own sublayers (any Layer assigned as an attribute). Calling a layer on
arrays computes eagerly from the stored values; calling it on symbolic tensors records a node of
a functional graph; :meth:`Layer.stateless_call` runs it as a pure function of explicit values.
"""

from __future__ import annotations

import contextvars

import jax
import jax.numpy as jnp
import numpy as np

from thawnet import initializers as initializers_lib
from thawnet import regularizers as regularizers_lib
from thawnet.backend import naming, shapes
from thawnet.backend import random as random_lib
from thawnet.backend import scope as scope_lib
from thawnet.layers import input_spec as input_spec_lib
from thawnet.layers import node as node_lib
from thawnet.layers._layer_helpers import _accepts, _check_paths, _layers_in, _shapes_of
from thawnet.variables import PARAMETER, STATISTIC, Variable, is_effectively_trainable

# The ``training`` flag given to the outermost call, inherited by inner calls that pass None.
_training_context = contextvars.ContextVar("thawnet_training", default=None)

_REGISTRY: dict[str, type] = {}


def register(cls):
    """Make a layer class resolvable by name when configs are loaded (no imports by path)."""
    _REGISTRY[cls.__name__] = cls
    return cls


def registered(name):
    return _REGISTRY.get(name)


class Layer:
    """Base class of all layers.

    Args:
        name: unique name; by default the class name in snake case numbered from 1
            (``dense_1``).
        trainable: whether the layer's parameters are trained. Setting it later also sets it
            on every sublayer (Keras semantics).
        dtype: dtype of the weights and computation (default float32).
        input_shape: shape of one sample, for the first layer of a Sequential model.
        activity_regularizer: penalty on the layer's outputs added to the training loss.
    """

    def __init__(self, *, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, batch_size=None, input_dim=None,
                 activity_regularizer=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{sorted(kwargs)}. Check the spelling against the documentation.")
        object.__setattr__(self, "_sublayers", [])
        self._own_variables: list[Variable] = []
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = jnp.dtype(dtype or "float32")
        self.built = False
        self.input_spec = None
        self.activity_regularizer = regularizers_lib.get(activity_regularizer)
        self._inbound_nodes: list = []
        self._last_output_shape = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        else:
            self._batch_input_shape = None

    # -- sublayer tracking -------------------------------------------------------------------
    def __setattr__(self, key, value):
        if (isinstance(value, (Layer, list, tuple, dict)) and not key.startswith("_")
                and "_sublayers" in self.__dict__):
            for layer in _layers_in(value):
                if layer is not self and all(layer is not s for s in self._sublayers):
                    self._sublayers.append(layer)
                    self._structure_changed()
        object.__setattr__(self, key, value)

    def _structure_changed(self):
        """Hook for caches that depend on the set of sublayers (models keep some)."""

    def _children(self):
        """Direct sublayers, in the order their weights are listed."""
        return list(self._sublayers)

    # -- trainability ------------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for child in self._children():
            child.trainable = value

    # -- weights -----------------------------------------------------------------------------
    def add_weight(self, name, shape, initializer=None, dtype=None, trainable=True,
                   role=PARAMETER, regularizer=None, constraint=None):
        """Create a weight of this layer.

        Args:
            name: short name, unique in the layer (``"kernel"``).
            shape: tuple of ints.
            initializer: name, Initializer or callable ``(key, shape, dtype)``; default
                ``"glorot_uniform"`` for parameters, ``"zeros"`` for statistics.
            trainable: the weight's own flag; ``False`` makes a frozen parameter.
            role: ``"parameter"`` (trained by gradients) or ``"statistic"`` (updated by this
                layer, never by gradients).
            regularizer: penalty on the value added to the training loss.
        """
        if any(v.name == name for v in self._own_variables):
            raise ValueError(f'Layer "{self.name}" already has a weight named "{name}".')
        if initializer is None:
            initializer = "glorot_uniform" if role == PARAMETER else "zeros"
        var = Variable(name, shape, dtype or self.dtype, initializers_lib.get(initializer),
                       role=role, trainable=trainable, path=f"{self.name}/{name}",
                       regularizer=regularizers_lib.get(regularizer), constraint=constraint)
        self._own_variables.append(var)
        return var

    def _own_weights_in_order(self):
        # Keras lists the weights created trainable first, then the others, each in creation
        # order (BatchNormalization: gamma, beta, moving_mean, moving_variance).
        first = [v for v in self._own_variables if v.role == PARAMETER and v.trainable]
        return first + [v for v in self._own_variables if not (v.role == PARAMETER and v.trainable)]

    def _walk(self, prefix=None, owners=(), seen=None):
        """Yield ``(path, variable, owners)`` for every weight once, in Keras's weight order.

        ``owners`` is the chain of layers from this one down to the variable's layer, which
        :func:`~thawnet.variables.is_effectively_trainable` needs.
        """
        seen = set() if seen is None else seen
        prefix = self._path_prefix() if prefix is None else prefix
        owners = owners + (self,)
        for v in self._own_weights_in_order():
            if id(v) not in seen:
                seen.add(id(v))
                yield prefix + v.name, v, owners
        for child in self._children():
            yield from child._walk(prefix + child.name + "/", owners, seen)

    def _path_prefix(self):
        return self.name + "/"

    def variables_by_path(self):
        """``{path: Variable}`` for all weights; paths are the keys of ``stateless_call``."""
        return {path: v for path, v, _ in self._walk()}

    def trainable_split(self):
        """``(trainable_paths, non_trainable_paths)`` as the model stands now."""
        train, frozen = [], []
        for path, v, owners in self._walk():
            (train if is_effectively_trainable(v, owners) else frozen).append(path)
        return train, frozen

    @property
    def weights(self):
        return [v for _, v, _ in self._walk()]

    variables = weights

    @property
    def trainable_weights(self):
        return [v for _, v, owners in self._walk() if is_effectively_trainable(v, owners)]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        return [v for _, v, owners in self._walk() if not is_effectively_trainable(v, owners)]

    non_trainable_variables = non_trainable_weights

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f'Layer "{self.name}" is not built yet, so it has no weights to count. '
                             "Call it on an input or build it with an input shape first.")
        return int(sum(v.size for v in self.weights))

    def get_weights(self):
        """Values as NumPy arrays, in Keras's weight order."""
        from thawnet.variables import materialize_all
        materialize_all(self.weights)
        return [np.asarray(v.value) for v in self.weights]

    def set_weights(self, weights):
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

    def regularization_loss(self):
        """Sum of the weight regularizers of effectively trainable weights (Keras semantics)."""
        total = jnp.zeros((), jnp.float32)
        for _, v, owners in self._walk():
            if v.regularizer is not None and is_effectively_trainable(v, owners):
                total = total + v.regularizer(v.value)
        return total

    # -- building ----------------------------------------------------------------------------
    def build(self, input_shape):
        """Create weights for inputs of ``input_shape``; the default creates none."""

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True

    def rank_hint(self, expected_rank):
        return "Check the input_shape of the model and the output of the previous layer."

    def axis_hint(self, axis):
        return "Check the previous layer's output size or the input_shape."

    # -- calling -----------------------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def __call__(self, inputs, *args, **kwargs):
        if any(node_lib.is_symbolic(t) for t in node_lib.flatten(inputs)):
            return self._symbolic_call(inputs, *args, **kwargs)
        inputs = jax.tree_util.tree_map(
            lambda x: x.value if isinstance(x, Variable) else jnp.asarray(x), inputs,
            is_leaf=lambda x: isinstance(x, Variable))
        shapes_in = _shapes_of(inputs)
        self._build_checked(shapes_in)
        return self._run(inputs, *args, **kwargs)

    def _build_checked(self, shapes_in):
        """Check the inputs against the spec known so far, build, then check the built spec
        (a wrong rank is reported before ``build`` could trip over it)."""
        if not self.built:
            input_spec_lib.check(self, self.input_spec, shapes_in)
            self._maybe_build(shapes_in)
        input_spec_lib.check(self, self.input_spec, shapes_in)

    def _run(self, inputs, *args, training=None, **kwargs):
        if training is None:
            training = _training_context.get()
        training = bool(training)
        token = _training_context.set(training)
        try:
            if _accepts(self.call, "training"):
                kwargs["training"] = training
            outputs = self.call(inputs, *args, **kwargs)
        finally:
            _training_context.reset(token)
        if self.activity_regularizer is not None:
            scope = scope_lib.current()
            if scope is not None:
                for out in jax.tree_util.tree_leaves(outputs):
                    scope.add_loss(self.activity_regularizer(out) / out.shape[0])
        self._last_output_shape = _shapes_of(outputs)
        return outputs

    def _symbolic_call(self, inputs, *args, **kwargs):
        kwargs.pop("training", None)
        self._build_checked(_shapes_of(inputs))
        if type(self).compute_output_shape is not Layer.compute_output_shape and not args \
                and not kwargs:
            # The layer states its shape rule: no tracing needed (the fast path for summaries).
            out_shapes = self.compute_output_shape(_shapes_of(inputs))
            out_specs = shapes.specs_from_shapes(out_shapes, self.output_dtype(inputs))
        else:
            out_specs = self.compute_output_spec(inputs, *args, **kwargs)
        outputs = node_lib.tree_map(
            lambda s: node_lib.SymbolicTensor(s.shape, s.dtype), out_specs)
        node_lib.Node(self, inputs, outputs, dict(kwargs, _args=args))
        self._last_output_shape = _shapes_of(outputs)
        return outputs

    def compute_output_spec(self, inputs, *args, **kwargs):
        """Output TensorSpecs for symbolic ``inputs``, by abstract evaluation of ``call``."""
        variables = self.weights
        abstract_values = [v.abstract() for v in variables]

        def run(values, x):
            with scope_lib.StatelessScope(dict(zip(variables, values)), abstract=True):
                return self._run(x, *args, training=False, **kwargs)

        specs_in = node_lib.tree_map(lambda t: shapes.TensorSpec(t.shape, t.dtype), inputs)
        return shapes.infer(run, specs_in, abstract_values)

    def output_dtype(self, inputs):
        """Dtype of outputs when ``compute_output_shape`` gives the shape (float layers)."""
        return self.dtype

    def compute_output_shape(self, input_shape):
        """Output shape(s) for ``input_shape``; by default by abstract evaluation of ``call``.

        Layers with a simple shape rule override this: symbolic calls (functional models,
        summaries) then skip tracing altogether.
        """
        self._maybe_build(input_shape)
        out = self.compute_output_spec(shapes.specs_from_shapes(input_shape))
        return _shapes_of(out)

    # -- the stateless bridge ----------------------------------------------------------------
    def stateless_call(self, trainable, non_trainable, inputs, training=False, rng=None,
                       return_losses=False, **kwargs):
        """Run as a pure function of explicit weight values.

        Args:
            trainable: ``{path: array}`` for the weights to differentiate.
            non_trainable: ``{path: array}`` for all other weights.
            inputs: the inputs, as for ``__call__``.
            training: training mode (Dropout active, BatchNormalization on batch statistics).
            rng: JAX key for stochastic layers; required under ``jit`` when ``training`` and
                the model has Dropout with a non-zero rate.
            return_losses: also return the regularisation losses (weights + activity).

        Returns:
            ``(outputs, new_non_trainable)``, or ``(outputs, new_non_trainable, losses)``: the
            non-trainable values after this call (statistics updated in training mode), with the
            same paths as ``non_trainable``.
        """
        by_path = self.variables_by_path()
        _check_paths(self, by_path, trainable, non_trainable)
        bound = {by_path[p]: v for p, v in trainable.items()}
        bound.update({by_path[p]: v for p, v in non_trainable.items()})
        with scope_lib.StatelessScope(bound, rng=rng, collect_losses=return_losses) as scope:
            scope.traced = any(isinstance(leaf, jax.core.Tracer) for leaf in
                               jax.tree_util.tree_leaves((trainable, non_trainable, inputs)))
            outputs = self.__call__(inputs, training=training, **kwargs)
            losses = self.regularization_loss() + sum(scope.losses) if return_losses else None
        new_nt = {p: scope.updates.get(by_path[p], v) for p, v in non_trainable.items()}
        if return_losses:
            return outputs, new_nt, losses
        return outputs, new_nt

    def next_rng(self):
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

    # -- config ------------------------------------------------------------------------------
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers_lib.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


__all__ = ["Layer", "register", "registered", "STATISTIC", "PARAMETER"]
