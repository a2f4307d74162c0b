"""Model: a layer made of layers — functional (``Model(inputs, outputs)``) or subclassed.

A functional model is defined by its graph; a subclassed model by its ``call`` and the layers
assigned as its attributes. Either way a model is also a Layer: it can be called on symbolic
tensors and nested in another model, and its weights are its layers' weights, each counted once.
Eager calls on arrays run through a compiled :meth:`stateless_call`, so ``model(x)`` costs one
device call rather than one per layer.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp

from thawnet.backend import naming
from thawnet.backend import random as random_lib
from thawnet.backend import scope as scope_lib
from thawnet.backend.shapes import specs_from_shapes
from thawnet.backend.types import Array, ShapeLike, Tensor, TensorLike, TensorTree
from thawnet.layers.layer import Layer, register
from thawnet.layers.node import flatten, is_symbolic
from thawnet.models import architecture
from thawnet.models.graph import Graph
from thawnet.models.model_files import ModelFiles
from thawnet.models.summary import print_summary
from thawnet.training.trainer import Trainer
from thawnet.variables import STATISTIC, materialize_all


@register
class Model(Trainer, ModelFiles, Layer):
    """A model: ``Model(inputs, outputs)`` for a graph, or a subclass that defines ``call``.

    Args:
        inputs: the Input tensor(s) (a tensor, list or dict) — functional models only.
        outputs: the output tensor(s) — functional models only.
        name: model name (default ``model_1``, ``model_2``, ... or the subclass name).
        trainable: sets ``trainable`` on every layer of the model.

    >>> from thawnet.layers import Input, Dense
    >>> x = Input(shape=(3,))
    >>> model = Model(x, Dense(2)(x))
    >>> model.count_params()
    8
    """

    def __init__(self, inputs: TensorTree | None = None, outputs: TensorTree | None = None,
                 name: str | None = None, trainable: bool = True, **kwargs) -> None:
        if name is None:
            base = "model" if type(self) in (Model,) else naming.to_snake_case(type(self).__name__)
            name = naming.unique_name(base)
        super().__init__(name=name, **kwargs)
        self._graph = None
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError(f'Model "{self.name}": pass both inputs and outputs for a '
                                 "functional model, or neither for a subclassed one.")
            self._set_graph(Graph(inputs, outputs, self.name))
        if not trainable:
            self.trainable = False

    # -- structure ---------------------------------------------------------------------------
    def _set_graph(self, graph):
        self._graph = graph
        self.built = True
        self._structure_changed()

    def _structure_changed(self):
        """The one hook of a structural change (a layer added, popped or assigned, a graph
        set): the compiled functions, all kinds, and the layer list are made anew."""
        registry = self.__dict__.get("_function_registry")
        if registry is not None:
            registry.clear()
        self._all_layers_cache = None

    @property
    def is_functional(self) -> bool:
        return self._graph is not None

    @property
    def lists_layers_as_a_stack(self) -> bool:
        """Whether the summary lists the layers as a stack (Sequential, subclassed) rather
        than as a graph with a "Connected to" column (functional)."""
        return self._graph is None

    @property
    def layers(self) -> list:
        """The model's layers: for functional models in Keras's order, InputLayers included."""
        if self._graph is not None:
            return list(self._graph.layers)
        return list(self._sublayers)

    def _children(self):
        if self._graph is not None:
            return [layer for layer in self._graph.layers if layer is not self]
        return super()._children()

    def _path_prefix(self):
        # Inside a model, paths are relative to it: "dense_1/kernel", not "model_1/dense_1/kernel".
        return ""

    @property
    def inputs(self) -> list[Tensor] | None:
        return self._graph.input_tensors if self._graph else None

    @property
    def outputs(self) -> list[Tensor] | None:
        return self._graph.output_tensors if self._graph else None

    @property
    def input(self) -> TensorTree:
        """The model's input tensor (a list for several), as in Keras."""
        tensors = self._graph.input_tensors if self._graph else super().input
        return tensors[0] if isinstance(tensors, list) and len(tensors) == 1 else tensors

    @property
    def output(self) -> TensorTree:
        tensors = self._graph.output_tensors if self._graph else super().output
        return tensors[0] if isinstance(tensors, list) and len(tensors) == 1 else tensors

    @property
    def input_shape(self) -> ShapeLike:
        shapes = [t.shape for t in self._graph.input_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> ShapeLike:
        shapes = [t.shape for t in self._graph.output_tensors]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by position ``index`` in ``model.layers``."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f'Model "{self.name}" has {len(layers)} layers; received '
                                 f"index={index}.")
            return layers[index]
        if name is None:
            raise ValueError("get_layer needs a name or an index.")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f'Model "{self.name}" has no layer named "{name}". Layers: '
                         f"{[layer.name for layer in layers]}.")

    # -- building ----------------------------------------------------------------------------
    def build(self, input_shape: ShapeLike) -> None:
        if self._graph is not None:
            return
        # A subclassed model: trace call() abstractly; sublayers create their (lazy) weights.
        specs = specs_from_shapes(input_shape)
        self.built = True
        self.compute_output_spec(specs)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        if self._graph is not None:
            declared = [t.shape for t in self._graph.input_tensors]
            given = input_shape if isinstance(input_shape, list) else [input_shape]
            if [tuple(s) for s in given] == declared:
                shapes = [t.shape for t in self._graph.output_tensors]
                return shapes[0] if len(shapes) == 1 else shapes
        return super().compute_output_shape(input_shape)

    def call(self, inputs: TensorTree, training: bool | None = False) -> TensorTree:
        if self._graph is None:
            raise NotImplementedError(
                f'Model "{self.name}" has no graph and no call(): pass inputs and outputs, or '
                "subclass Model and define call(self, inputs, training=False).")
        return self._graph.run(self._flatten_inputs(inputs), training)

    def _flatten_inputs(self, inputs):
        expected = self._graph.input_tensors
        if isinstance(inputs, dict):
            names = [t.name for t in expected]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f'Model "{self.name}" expects inputs named {names}; missing '
                                 f"{missing}.")
            values = [inputs[n] for n in names]
        else:
            values = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(values) != len(expected):
            raise ValueError(f'Model "{self.name}" expects {len(expected)} input(s); received '
                             f"{len(values)}. Pass a list of arrays in the order of model.inputs.")
        out = []
        for t, x in zip(expected, values):
            x = jnp.asarray(x)
            if x.dtype != t.dtype:
                x = x.astype(t.dtype)
            _check_input_shape(self, t, x.shape)
            out.append(x)
        return out

    # -- eager calls -------------------------------------------------------------------------
    def __call__(self, inputs: TensorTree, *args, training: bool | None = None, **kwargs
                 ) -> TensorTree:
        leaves = flatten(inputs)
        eager = (not any(is_symbolic(t) for t in leaves) and scope_lib.current() is None
                 and not any(isinstance(t, jax.core.Tracer) for t in leaves)
                 and not args and not kwargs and self.built)
        if not eager:
            return super().__call__(inputs, *args, training=training, **kwargs)
        return self._compiled_eager_call(inputs, bool(training))

    def _compiled_eager_call(self, inputs, training):
        """``model(x)`` on arrays: one compiled call; statistic updates written back."""
        # Cached per trainable flags too: BatchNormalization's behaviour depends on them.
        # (A layer's weight count too: enable_lora/merge_lora change what call() reads.)
        entry = self._functions.get("eager", self._layer_flags(), (bool(training),),
                                    lambda: self._build_eager_call(training))
        paths, variables, fn, owners, fixed_training = entry
        materialize_all(variables)
        # A fresh key only when something random can run (Dropout in training mode).
        rng = random_lib.next_eager_key() if training or fixed_training else None
        # NumPy inputs go straight to the compiled call: its transfer is cheaper than an
        # eager jnp.asarray per input.
        outputs, new_values, added = fn([v._value for v in variables], inputs, rng)
        for p, value in new_values.items():
            variables[paths.index(p)].assign(value)
        self._losses = []
        for layer in owners:  # only these can hold losses of a compiled call
            layer._losses = []
        for layer, loss in zip(owners, added):
            layer._losses.append(loss)
        return outputs

    def _build_eager_call(self, training):
        """The compiled pure function behind ``model(x)``, with what reads its results."""
        by_path = self.variables_by_path()
        paths, variables = list(by_path), list(by_path.values())
        statistics = [p for p, v in by_path.items() if v.role == STATISTIC]
        # In inference only carried state (a stateful RNN's) changes and is written back.
        written = statistics if training else [
            p for p in statistics if by_path[p].carried_in_inference]

        owners = []  # the layers that add losses in call(), found while tracing

        def pure(values, x, rng):
            out, new, _, added, added_by = self._run_stateless(
                {}, dict(zip(paths, values)), x, training, rng, True, {})
            owners[:] = added_by
            # Return only what can change: passing weights through would copy them.
            return out, {p: new[p] for p in written}, added
        # A layer whose training flag is fixed in the graph may draw randomly even here.
        fixed = any(n.call_kwargs.get("training") for n in self._graph.nodes) \
            if self._graph is not None else False
        return paths, variables, jax.jit(pure), owners, fixed

    def _all_layers(self):
        """Every layer inside this model (nested ones too), each once; cached until the
        structure changes (a layer added, popped or assigned)."""
        cached = self.__dict__.get("_all_layers_cache")
        if cached is not None:
            return cached
        out, stack, seen = [], list(self._children()), set()
        while stack:
            layer = stack.pop()
            if id(layer) not in seen:
                seen.add(id(layer))
                out.append(layer)
                stack.extend(layer._children())
        self._all_layers_cache = out
        return out

    def predict_on_batch(self, x: TensorLike) -> Array:
        return jax.device_get(self(x, training=False))

    # -- summary -----------------------------------------------------------------------------
    def summary(self, line_length: int | None = None, positions: Sequence[float] | None = None,
                print_fn: Callable[..., None] | None = None,
                expand_nested: bool = False, show_trainable: bool = False, explain: bool = False,
                show_bytes: bool = False) -> None:
        """Print the layers, their output shapes and parameter counts (never runs the model).

        Args:
            line_length: total width (65 for Sequential models, 98 for functional ones).
            positions: relative or absolute column ends.
            print_fn: called with each line (default ``print``).
            expand_nested: also list the layers of nested models.
            show_trainable: add a column telling whether each layer is trainable.
            explain: add a section accounting for every non-trainable parameter.
            show_bytes: add the memory size of each count.
        """
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      explain=explain, show_bytes=show_bytes)

    # -- config ------------------------------------------------------------------------------
    accepts_custom_objects = True  # from_config takes them, for the layers inside

    def get_config(self) -> dict:
        """The architecture as plain JSON values (functional models: every layer and its
        inbound nodes); a subclassed model gives its name and flag, as in Keras."""
        if self._graph is not None:
            return architecture.functional_config(self)
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Model":
        """Rebuild a model from :meth:`get_config` (fresh weights)."""
        if isinstance(config.get("layers"), list):
            return architecture.model_from_config(cls, config, custom_objects)
        return cls(**config)

    def to_json(self, **kwargs) -> str:
        """The architecture as a JSON string (``thawnet.models.model_from_json`` reads it)."""
        return json.dumps(architecture.describe(self), **kwargs)


def _check_input_shape(model, tensor, shape):
    expected = tensor.shape
    ok = len(shape) == len(expected) and (getattr(model, "_input_from_data", False) or all(
        e is None or e == g for e, g in zip(expected, shape)))
    if not ok:
        raise ValueError(
            f'Model "{model.name}": input "{tensor.name}" expects shape {expected}; received '
            f"shape {tuple(shape)}. Reshape the data to (batch, {', '.join(map(str, expected[1:]))})"
            " or build the model with a matching Input shape.")
