"""The Layer base class: config in ``__init__``, weights in ``build``, math in ``call``.

A layer owns :class:`~thawnet.variables.Variable` objects (created with :meth:`Layer.add_weight`,
each with a role) and may own sublayers (any Layer assigned as an attribute). Calling a layer on
arrays computes eagerly from the stored values; calling it on symbolic tensors records a node of
a functional graph; :meth:`Layer.stateless_call` runs it as a pure function of explicit values.
"""

from __future__ import annotations

import contextvars
import functools

import jax
import jax.numpy as jnp
import numpy as np

from thawnet import constraints as constraints_lib
from thawnet import initializers as initializers_lib
from thawnet import regularizers as regularizers_lib
from thawnet.backend import dtype_policy as dtype_policy_lib
from thawnet.backend import naming, shapes
from thawnet.backend import random as random_lib
from thawnet.backend import scope as scope_lib
from thawnet.layers import input_spec as input_spec_lib
from thawnet.layers import node as node_lib
from thawnet.backend.registry import register, registered
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.call_inspection import accepts_argument, check_weight_maps, shapes_of
from thawnet.layers.weight_arguments import weight_arguments
from thawnet.variables import (PARAMETER, STATISTIC, Variable, is_effectively_trainable,
                               materialize_all)

# The ``training`` flag given to the outermost call, inherited by inner calls that pass None.
_training_context = contextvars.ContextVar("thawnet_training", default=None)

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
        who = type(self).__name__
        if kwargs:
            raise ArgumentTypeError(f"{who}: unexpected keyword argument(s) {sorted(kwargs)}. "
                                    "Check the spelling against the documentation.")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{who}: name must be a string; received name={name!r}.")
        try:
            policy = dtype_policy_lib.get(dtype)
        except ValueError:
            raise ValueError(f"{who}: dtype must be a dtype name such as 'float32' or a dtype "
                             f"policy such as 'mixed_float16'; received dtype={dtype!r}.") from None
        if not isinstance(trainable, (bool, np.bool_)):
            raise ValueError(
                f"{type(self).__name__}: expected the `trainable` argument to be a boolean "
                f"(True or False); received trainable={trainable!r}.")
        object.__setattr__(self, "_sublayers", [])
        self._own_variables: list[Variable] = []
        self._losses: list = []  # add_loss values of the last eager call
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype_policy = policy
        # A layer without a build() of its own has no weights to create: built at once (Keras).
        self.built = type(self).build is Layer.build
        self._build_input_shape = None
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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "marks_built", False):
            cls.build = _marking_built(build)

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

    # Keras-private names that Keras 3 code (its own tests, some libraries) reaches for.
    def _build_at_init(self):
        """Mark a weightless layer built at construction (Keras's helper for custom layers)."""
        self.built = True

    @property
    def _layers(self):
        return self._children()

    @property
    def _trainable_variables(self):
        return [v for v in self._own_variables if v.role == PARAMETER and v.own_trainable]

    @property
    def _non_trainable_variables(self):
        return [v for v in self._own_variables if not (v.role == PARAMETER and v.own_trainable)]

    def _children(self):
        """Direct sublayers, in the order their weights are listed: those assigned as
        attributes, then any appended later to a list, tuple or dict attribute (derived at
        each call, so ``self.blocks.append(Dense(4))`` in ``build`` is tracked too)."""
        found = list(self._sublayers)
        for key, value in self.__dict__.items():
            if key.startswith("_") or not isinstance(value, (list, tuple, dict)):
                continue
            for layer in _layers_in(value):
                if layer is not self and all(layer is not s for s in found):
                    found.append(layer)
        return found

    # -- trainability ------------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        if not isinstance(value, (bool, np.bool_, int)) or value not in (0, 1):
            raise ValueError(f'Layer "{self.name}": trainable must be True or False; received '
                             f"{value!r}.")
        self._trainable = bool(value)
        for child in self._children():
            child.trainable = value

    # -- dtypes (a policy: compute dtype and variable dtype) --------------------------------
    @property
    def dtype_policy(self) -> dtype_policy_lib.DTypePolicy:
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        """Set from a policy, a name (``"mixed_float16"``) or a dtype; weights created later
        use its variable dtype."""
        self._dtype_policy = dtype_policy_lib.get(value)

    @property
    def dtype(self):
        """The dtype of the layer's weights (the policy's variable dtype, as in Keras)."""
        return jnp.dtype(self.dtype_policy.variable_dtype)

    @property
    def variable_dtype(self):
        return jnp.dtype(self.dtype_policy.variable_dtype)

    @property
    def compute_dtype(self):
        """The dtype ``call`` computes in: floating inputs are cast to it, float weights are
        read in it (``"mixed_float16"``: float16 compute, float32 weights)."""
        return jnp.dtype(self.dtype_policy.compute_dtype)

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
                       constraint=constraints_lib.get(a["constraint"]))
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

    # -- losses added in call (activity regularizers, VAE-style terms) --------------------------
    def add_loss(self, loss) -> None:
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
        if any(node_lib.is_symbolic(t) for t in node_lib.flatten((inputs, args, kwargs))):
            return self._symbolic_call(inputs, *args, **kwargs)
        inputs = jax.tree_util.tree_map(
            lambda x: x.value if isinstance(x, Variable) else jnp.asarray(x), inputs,
            is_leaf=lambda x: isinstance(x, Variable))
        shapes_in = shapes_of(inputs)
        self._build_checked(shapes_in)
        if scope_lib.current() is None:
            self._clear_losses()  # an eager call: losses describe this call only (Keras)
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
        compute = self.compute_dtype
        inputs = jax.tree_util.tree_map(
            lambda x: x.astype(compute) if hasattr(x, "dtype") and x.dtype != compute
            and jnp.issubdtype(x.dtype, jnp.floating) else x, inputs)
        token = _training_context.set(training)
        cast_token = dtype_policy_lib.autocasting(
            compute if self.dtype_policy.is_mixed else None)
        try:
            if accepts_argument(self.call, "training"):
                kwargs["training"] = training
            outputs = self.call(inputs, *args, **kwargs)
        finally:
            dtype_policy_lib.reset_autocast(cast_token)
            _training_context.reset(token)
        if self.activity_regularizer is not None:
            for out in jax.tree_util.tree_leaves(outputs):
                self.add_loss(self.activity_regularizer(out) / out.shape[0])
        self._last_output_shape = shapes_of(outputs)
        return outputs

    def _symbolic_call(self, inputs, *args, **kwargs):
        # A training flag given here is fixed in the graph (Keras: Dropout(0.5)(x,
        # training=True) stays active in inference too); otherwise the model's call decides.
        training = kwargs.pop("training", None)
        self._build_checked(shapes_of(inputs))
        if type(self).compute_output_shape is not Layer.compute_output_shape and not args \
                and not kwargs:
            # The layer states its shape rule: no tracing needed (the fast path for summaries).
            out_shapes = self.compute_output_shape(shapes_of(inputs))
            out_specs = shapes.specs_from_shapes(out_shapes, self.output_dtype(inputs))
        else:
            out_specs = self.compute_output_spec(inputs, *args, **kwargs)
        outputs = node_lib.tree_map(
            lambda s: node_lib.SymbolicTensor(s.shape, s.dtype), out_specs)
        call_kwargs = dict(kwargs, _args=args)
        if training is not None:
            call_kwargs["training"] = bool(training)
        node_lib.Node(self, inputs, outputs, call_kwargs)
        self._last_output_shape = shapes_of(outputs)
        return outputs

    def compute_output_spec(self, inputs, *args, **kwargs):
        """Output TensorSpecs for symbolic ``inputs`` (and symbolic positional or keyword
        arguments), by abstract evaluation of ``call``; other arguments stay as they are."""
        variables = self.weights
        abstract_values = [v.abstract() for v in variables]
        leaves, treedef = jax.tree_util.tree_flatten(
            (inputs, args, kwargs), is_leaf=lambda x: isinstance(x, shapes.TensorSpec))
        positions = [i for i, leaf in enumerate(leaves) if isinstance(leaf, shapes.TensorSpec)]
        specs_in = [shapes.TensorSpec(leaves[i].shape, leaves[i].dtype) for i in positions]

        def run(values, tensors):
            filled = list(leaves)
            for i, tensor in zip(positions, tensors):
                filled[i] = tensor
            x, a, k = jax.tree_util.tree_unflatten(treedef, filled)
            with scope_lib.StatelessScope(dict(zip(variables, values)), abstract=True):
                return self._run(x, *a, training=False, **k)

        return shapes.infer(run, specs_in, abstract_values)

    def output_dtype(self, inputs):
        """Dtype of outputs when ``compute_output_shape`` gives the shape (float layers)."""
        return self.compute_dtype

    def compute_output_shape(self, input_shape):
        """Output shape(s) for ``input_shape``; by default by abstract evaluation of ``call``.

        Layers with a simple shape rule override this: symbolic calls (functional models,
        summaries) then skip tracing altogether.
        """
        self._maybe_build(input_shape)
        out = self.compute_output_spec(shapes.specs_from_shapes(input_shape))
        return shapes_of(out)

    # -- where the layer sits in a functional graph (Keras: from its first call) -------------
    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f'Layer "{self.name}" has never been called on a symbolic '
                                 f"tensor, so it has no {what}. Call it on Input(...) first.")
        return self._inbound_nodes[0]

    @property
    def input(self):
        """The symbolic input(s) of the layer's first call (a list when there are several)."""
        tensors = self._first_node("input").input_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def output(self):
        """The symbolic output(s) of the layer's first call (a list when there are several)."""
        tensors = self._first_node("output").output_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def input_shape(self):
        """The shape(s) of :attr:`input`, batch axis included (``None``)."""
        tensors = self._first_node("input shape").input_tensors
        shapes_in = [t.shape for t in tensors]
        return shapes_in[0] if len(shapes_in) == 1 else shapes_in

    @property
    def output_shape(self):
        """The shape(s) of :attr:`output`, batch axis included (``None``)."""
        tensors = self._first_node("output shape").output_tensors
        shapes_out = [t.shape for t in tensors]
        return shapes_out[0] if len(shapes_out) == 1 else shapes_out

    # -- the stateless bridge ----------------------------------------------------------------
    def stateless_call(self, trainable, non_trainable, inputs, training=False, rng=None,
                       return_losses=False, **kwargs):
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
        bound = {by_path[p]: v for p, v in trainable.items()}
        bound.update({by_path[p]: v for p, v in non_trainable.items()})
        if rng is None and scope_lib.current() is not None:
            # Inside an enclosing scope (fit running a custom train_step): draw from its key.
            rng = scope_lib.current().next_rng(self.name)
        with scope_lib.StatelessScope(bound, rng=rng, collect_losses=collect_losses) as scope:
            scope.traced = any(isinstance(leaf, jax.core.Tracer) for leaf in
                               jax.tree_util.tree_leaves((trainable, non_trainable, inputs)))
            outputs = self.__call__(inputs, training=training, **kwargs)
            reg = self.regularization_loss() if collect_losses else None
        new_nt = {p: scope.updates.get(by_path[p], v) for p, v in non_trainable.items()}
        return outputs, new_nt, reg, list(scope.losses), list(scope.loss_owners)

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
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": self.dtype_policy.name}
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


def _marking_built(build):
    """Wrap a subclass's ``build`` so that calling it directly marks the layer built, as in
    Keras (``layer.build((None, 3))`` then ``layer(x)`` must not build a second time)."""

    @functools.wraps(build)
    def build_and_mark(self, *args, **kwargs):
        build(self, *args, **kwargs)
        if args and self._build_input_shape is None:
            self._build_input_shape = args[0]
        self.built = True

    build_and_mark.marks_built = True
    return build_and_mark


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


def _layers_in(value):
    """The layers held directly in an attribute value: a layer, or a list/tuple/dict of them."""
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Layer)]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, Layer)]
    return []


__all__ = ["Layer", "register", "registered", "STATISTIC", "PARAMETER"]
