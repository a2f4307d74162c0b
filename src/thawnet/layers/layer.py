"""The Layer base class: config in ``__init__``, weights in ``build``, math in ``call``.

A layer owns :class:`~thawnet.variables.Variable` objects (created with :meth:`Layer.add_weight`,
each with a role) and may own sublayers (any Layer assigned as an attribute). Calling a layer on
arrays computes eagerly from the stored values; calling it on symbolic tensors records a node of
a functional graph; :meth:`Layer.stateless_call` runs it as a pure function of explicit values.

The parts that read on their own live beside this file and are mixed in (methods only, no
shared state): add_weight, weight lists and paths (``layer_weights.py``), added losses
(``layer_losses.py``), the place in a functional graph (``graph_position.py``) and the
stateless bridge (``stateless_bridge.py``).
"""

from __future__ import annotations

import contextvars
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from thawnet import regularizers as regularizers_lib
from thawnet.backend import dtype_policy as dtype_policy_lib
from thawnet.backend import naming, shapes
from thawnet.backend import scope as scope_lib
from thawnet.layers import build_call, call_context
from thawnet.layers import auto_config
from thawnet.layers import input_spec as input_spec_lib
from thawnet.layers import remat as remat_lib
from thawnet.layers import node as node_lib
from thawnet.backend.registry import register, registered
from thawnet.backend.types import Axis, Config, DTypeLike, Identifier, ShapeLike, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.call_inspection import accepts_argument, shapes_of
from thawnet.layers.graph_position import GraphPosition
from thawnet.layers.layer_losses import LayerLosses
from thawnet.layers.layer_weights import LayerWeights
from thawnet.layers import masking_support
from thawnet.layers.masking_support import MaskingSupport
from thawnet.layers.stateless_bridge import StatelessBridge
from thawnet.variables import PARAMETER, STATISTIC, Variable

# The ``training`` flag given to the outermost call, inherited by inner calls that pass None.
_training_context = contextvars.ContextVar("thawnet_training", default=None)

class Layer(LayerWeights, LayerLosses, GraphPosition, StatelessBridge, MaskingSupport,
            call_context.CallContextArgs, remat_lib.Rematerialization):
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

    autocast = True  # cast floating inputs to the compute dtype, read weights in it (Keras)

    def __init__(self, *, name: str | None = None, trainable: bool = True,
                 dtype: DTypeLike | None = None, input_shape: ShapeLike | None = None,
                 batch_input_shape: ShapeLike | None = None, batch_size: int | None = None,
                 input_dim: int | None = None, activity_regularizer: Identifier = None, **kwargs
            ) -> None:
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
        self._adopt_attribute_variables()  # any assigned before super().__init__() (Keras)
        self._trainable = bool(trainable)
        self._dtype_policy = policy
        # A layer without a build() of its own has no weights to create: built at once (Keras).
        self.built = type(self).build is Layer.build
        self._build_input_shape = None
        self._remat_scope = remat_lib.current_scope()  # taken at creation, as in Keras
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

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        # Keras records plain constructor arguments for classes without a get_config
        # (auto_config.py); only those classes pay for the signature inspection.
        # (A class without its own __init__ passes its arguments to Layer: nothing to record.)
        if cls.get_config is Layer.get_config and cls.__init__ is not Layer.__init__:
            object.__setattr__(instance, "_auto_config", auto_config.record(cls, args, kwargs))
        return instance

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "marks_built", False):
            cls.build = build_call.marking_built(build)

    # -- sublayer tracking -------------------------------------------------------------------
    def __setattr__(self, key, value):
        if (isinstance(value, (Layer, list, tuple, dict)) and not key.startswith("_")
                and "_sublayers" in self.__dict__):
            for layer in _layers_in(value):
                if layer is not self and all(layer is not s for s in self._sublayers):
                    self._sublayers.append(layer)
                    self._structure_changed()
        object.__setattr__(self, key, value)
        if isinstance(value, Variable) and value.owner is None and "_own_variables" in \
                self.__dict__:
            self._adopt_attribute_variables()

    def _structure_changed(self):
        """Hook for caches that depend on the set of sublayers (models keep some)."""

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
    def trainable(self, value: bool) -> None:
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
    def dtype_policy(self, value: dtype_policy_lib.DTypePolicy | DTypeLike) -> None:
        """Set from a policy, a name (``"mixed_float16"``) or a dtype; weights created later
        use its variable dtype."""
        self._dtype_policy = dtype_policy_lib.get(value)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the layer's weights (the policy's variable dtype, as in Keras)."""
        return jnp.dtype(self.dtype_policy.variable_dtype)

    @property
    def variable_dtype(self) -> np.dtype:
        return jnp.dtype(self.dtype_policy.variable_dtype)

    @property
    def compute_dtype(self) -> np.dtype:
        """The dtype ``call`` computes in: floating inputs are cast to it, float weights are
        read in it (``"mixed_float16"``: float16 compute, float32 weights)."""
        return jnp.dtype(self.dtype_policy.compute_dtype)

    # -- building ----------------------------------------------------------------------------
    def build(self, input_shape: ShapeLike) -> None:
        """Create weights for inputs of ``input_shape``; the default creates none."""

    def _maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self.built = True

    def rank_hint(self, expected_rank: int) -> str:
        return "Check the input_shape of the model and the output of the previous layer."

    def axis_hint(self, axis: Axis) -> str:
        return "Check the previous layer's output size or the input_shape."

    # -- calling -----------------------------------------------------------------------------
    def call(self, inputs: TensorTree, *args, **kwargs) -> TensorTree:
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def __call__(self, *args, **kwargs) -> TensorTree:
        inputs, args, kwargs = call_context.split_inputs(self, args, kwargs)
        token = call_context.enter(self, kwargs)  # call-context arguments handed down
        try:
            if any(node_lib.is_symbolic(t) for t in node_lib.flatten((inputs, args, kwargs))):
                return self._symbolic_call(inputs, *args, **kwargs)
            return self._eager_call(inputs, *args, **kwargs)
        finally:
            call_context.leave(token)

    def _eager_call(self, inputs, *args, **kwargs):
        # Masks ride on the given tensors: read them before any conversion (masking_support).
        training = kwargs.pop("training", None)
        kwargs, previous_mask = masking_support.populate_masks(self, inputs, args, kwargs)
        given = inputs
        inputs = jax.tree_util.tree_map(
            lambda x: x.value if isinstance(x, Variable) else jnp.asarray(x), inputs,
            is_leaf=lambda x: isinstance(x, Variable))
        masking_support.carry_masks(given, inputs)
        shapes_in = shapes_of(inputs)
        self._build_checked(shapes_in, None if self.built else
                            build_call.shapes_by_name(self, inputs, args, kwargs))
        if scope_lib.current() is None:
            self._clear_losses()  # an eager call: losses describe this call only (Keras)
        outputs = self._run(inputs, *args, training=training, **kwargs)
        masking_support.attach_output_masks(self, inputs, outputs, previous_mask)
        return outputs

    def _build_checked(self, shapes_in, by_name=None):
        """Check the inputs against the spec known so far, build, then check the built spec
        (a wrong rank is reported before ``build`` could trip over it). ``by_name``: the
        shapes for a ``build`` of several arguments (``build_call.shapes_by_name``)."""
        if not self.built:
            input_spec_lib.check(self, self.input_spec, shapes_in)
            if by_name is not None:
                self.build(**by_name)
            self._maybe_build(shapes_in)
        input_spec_lib.check(self, self.input_spec, shapes_in)

    def _run(self, inputs, *args, training=None, **kwargs):
        if training is None:
            training = _training_context.get()
        training = bool(training)
        compute = self.compute_dtype
        autocast = self.autocast  # False (normalizations): inputs and weights keep dtypes
        given = inputs
        inputs = jax.tree_util.tree_map(
            lambda x: x.astype(compute) if autocast and hasattr(x, "dtype")
            and x.dtype != compute and jnp.issubdtype(x.dtype, jnp.floating) else x, inputs)
        masking_support.carry_masks(given, inputs)
        token = _training_context.set(training)
        cast_token = dtype_policy_lib.autocasting(
            compute if autocast and self.dtype_policy.is_mixed else None)
        try:
            if accepts_argument(self.call, "training"):
                kwargs["training"] = training
            call = self.rematerialized_call(self.call, inputs, *args)
            object.__setattr__(self, "_in_call", True)  # add_weight refuses new state now
            outputs = call(inputs, *args, **kwargs)
        finally:
            object.__setattr__(self, "_in_call", False)
            dtype_policy_lib.reset_autocast(cast_token)
            _training_context.reset(token)
        if self.activity_regularizer is not None:
            for out in jax.tree_util.tree_leaves(outputs):
                # An empty batch adds no penalty (Keras: 0, not 0/0).
                self.add_loss(self.activity_regularizer(out) / max(out.shape[0], 1))
        self._last_output_shape = shapes_of(outputs)
        return outputs

    def _symbolic_call(self, inputs, *args, **kwargs):
        # A training flag given here is fixed in the graph (Keras: Dropout(0.5)(x,
        # training=True) stays active in inference too); otherwise the model's call decides.
        training = kwargs.pop("training", None)
        self._build_checked(shapes_of(inputs), None if self.built else
                            build_call.shapes_by_name(self, inputs, args, kwargs))
        given_kwargs = kwargs  # the node records these; automatic masks are not graph inputs
        kwargs, previous_mask = masking_support.populate_masks(self, inputs, args, kwargs)
        if type(self).compute_output_shape is not Layer.compute_output_shape and not args \
                and not given_kwargs:
            # The layer states its shape rule: no tracing needed (the fast path for summaries).
            out_shapes = self.compute_output_shape(shapes_of(inputs))
            out_specs = shapes.specs_from_shapes(out_shapes, self.output_dtype(inputs))
        else:
            out_specs = self.compute_output_spec(inputs, *args, **kwargs)
        outputs = node_lib.tree_map(
            lambda s: node_lib.SymbolicTensor(s.shape, s.dtype), out_specs)
        call_kwargs = dict(given_kwargs, _args=args)
        if training is not None:
            call_kwargs["training"] = bool(training)
        node_lib.Node(self, inputs, outputs, call_kwargs)
        masking_support.attach_symbolic_masks(self, inputs, outputs, previous_mask)
        self._last_output_shape = shapes_of(outputs)
        return outputs

    def compute_output_spec(self, inputs: TensorTree, *args, **kwargs) -> Any:
        """Output TensorSpecs for symbolic ``inputs`` (and symbolic positional or keyword
        arguments): from ``compute_output_shape`` when the layer states one (Keras), else
        by abstract evaluation of ``call``; other arguments stay as they are."""
        if type(self).compute_output_shape is not Layer.compute_output_shape and not args \
                and not kwargs:
            return shapes.specs_from_shapes(self.compute_output_shape(shapes_of(inputs)),
                                            self.output_dtype(inputs))
        return self._traced_output_spec(inputs, *args, **kwargs)

    def _traced_output_spec(self, inputs, *args, **kwargs):
        variables = self.variables
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

    def output_dtype(self, inputs: TensorTree) -> str:
        """Dtype of outputs when ``compute_output_shape`` gives the shape (float layers)."""
        return self.compute_dtype

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        """Output shape(s) for ``input_shape``; by default by abstract evaluation of ``call``.

        Layers with a simple shape rule override this: symbolic calls (functional models,
        summaries) then skip tracing altogether.
        """
        self._maybe_build(input_shape)
        out = self._traced_output_spec(shapes.specs_from_shapes(input_shape))
        return shapes_of(out)

    # -- config ------------------------------------------------------------------------------
    def get_config(self) -> Config:
        config = {"name": self.name, "trainable": self.trainable,
                  "dtype": self.dtype_policy.name}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers_lib.serialize(self.activity_regularizer)
        recorded = self.__dict__.get("_auto_config") if type(self).get_config is Layer.get_config \
            else None
        return config if recorded is None else {**recorded, **config}

    @classmethod
    def from_config(cls, config: Config) -> Layer:
        """The layer for ``config`` (``get_config``'s dict). A config the constructor refuses
        raises a TypeError naming the class (as in Keras; also a ValueError)."""
        try:
            return cls(**config)
        except (TypeError, ValueError) as error:
            if type(error) not in (TypeError, ValueError):
                raise  # a specific error (a file format error, ...) keeps its type
            raise ArgumentTypeError(f"{cls.__name__}.from_config could not rebuild the layer "
                                    f"from its config: {error}") from error

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


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
