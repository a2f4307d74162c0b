"""Sequential: a plain stack of layers, each taking the previous one's output."""

from __future__ import annotations

from typing import Any, Sequence

from thawnet.backend import naming
from thawnet.layers.input_layer import InputLayer
from thawnet.layers.layer import Layer, register
from thawnet.layers.node import SymbolicTensor
from thawnet.models import architecture
from thawnet.models.graph import Graph
from thawnet.models.model import Model
from thawnet.backend.types import ShapeLike, TensorTree


@register
class Sequential(Model):
    """A linear stack of layers.

    The input shape comes from an ``Input(...)`` added first, from ``input_shape=`` on the
    first layer, or from the first call on data. Once it is known the model is a functional
    graph, so shapes and counts are available before any weight is materialised.

    >>> from thawnet.layers import Dense
    >>> model = Sequential([Dense(10, input_shape=(100,))])
    >>> model.count_params()
    1010
    """

    def __init__(self, layers: Sequence[Any] | None = None, name: str | None = None,
                 trainable: bool = True) -> None:
        base = "sequential" if type(self) is Sequential else naming.to_snake_case(
            type(self).__name__)
        super().__init__(name=name or naming.unique_name(base))
        self._stack = []
        self._input = None
        self._outputs = []
        for layer in layers or []:
            self.add(layer)
        if not trainable:
            self.trainable = False

    lists_layers_as_a_stack = True  # summaries show the seed's layout

    @property
    def layers(self) -> list:
        """The layers, without the InputLayer (as in Keras)."""
        return list(self._stack)

    def _children(self):
        return list(self._stack)

    def add(self, layer: Any) -> None:
        """Append a layer (or an ``Input`` tensor, as the first entry)."""
        if isinstance(layer, SymbolicTensor):
            source = layer.history[0] if layer.history else None
            if not isinstance(source, InputLayer) or self._stack or self._input is not None:
                raise ValueError(f'Sequential "{self.name}": an Input can only be added first.')
            self._input = layer
            return
        if isinstance(layer, InputLayer):
            self.add(layer.output)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f'Sequential "{self.name}".add expects a Layer; received {layer!r}.')
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(f'Sequential "{self.name}" already has a layer named '
                             f'"{layer.name}"; layer names must be unique within a model.')
        if not self._stack and self._input is None:
            known = _known_input_shape(layer)
            if known is not None:
                self._input = InputLayer(batch_shape=known, dtype=layer.dtype,
                                         name=naming.unique_name("input_layer")).output
        self._stack.append(layer)
        self._sublayers.append(layer)
        self._structure_changed()
        if self._input is not None:
            previous = self._outputs[-1] if self._outputs else self._input
            self._outputs.append(layer(previous))
            self._set_graph(Graph(self._input, self._outputs[-1], self.name))

    def pop(self) -> Any:
        """Remove the last layer."""
        if not self._stack:
            raise ValueError(f'Sequential "{self.name}" has no layers to pop.')
        layer = self._stack.pop()
        self._sublayers.remove(layer)
        self._structure_changed()
        if self._outputs:
            self._outputs.pop()
        if self._outputs:
            self._set_graph(Graph(self._input, self._outputs[-1], self.name))
        else:
            self._graph, self.built = None, False
            self._structure_changed()
        return layer

    def build(self, input_shape: ShapeLike | None = None) -> None:
        """Fix the input shape (``(None, 100)``) and build every layer for it."""
        if self._graph is not None:
            return
        if input_shape is None:
            raise ValueError(f'Sequential "{self.name}" has no input shape yet: add an Input, pass '
                             "input_shape= to the first layer, or call build(input_shape).")
        self._input = InputLayer(batch_shape=(None,) + tuple(input_shape)[1:],
                                 name=naming.unique_name("input_layer")).output
        stack, self._stack, self._outputs = self._stack, [], []
        self._sublayers.clear()
        self._structure_changed()
        for layer in stack:
            self.add(layer)
        self.built = True

    def call(self, inputs: TensorTree, training: bool | None = False) -> TensorTree:
        if self._graph is None:
            self._build_from_data(tuple(inputs.shape))
        return super().call(inputs, training=training)

    def _maybe_build(self, input_shape):
        if self._graph is None:
            self._build_from_data(input_shape)

    def _build_from_data(self, input_shape):
        # No shape was declared: the first batch's shape builds the layers, and later batches
        # of other non-batch sizes still run when the layers allow it (Keras does the same).
        self.build(input_shape)
        self._input_from_data = True

    def get_config(self) -> dict:
        """The input and the layers, in order, as plain JSON values."""
        return architecture.sequential_config(self)


def _known_input_shape(layer):
    """The batch input shape a first layer already knows: ``input_shape=`` given to it, the
    Input of a functional model, or the input of an earlier call (Keras rebuilds from these:
    ``Sequential(model.layers[:-1] + [Dense(2)])`` and ``Sequential([base_model, ...])``)."""
    if layer._batch_input_shape is not None:
        return layer._batch_input_shape
    graph = getattr(layer, "_graph", None)
    if graph is not None:
        tensors = graph.input_tensors
        return tuple(tensors[0].shape) if len(tensors) == 1 else None
    if layer._inbound_nodes and len(layer._inbound_nodes[0].input_tensors) == 1:
        return tuple(layer._inbound_nodes[0].input_tensors[0].shape)
    return None

