"""Where a layer sits in a functional graph: its input and output tensors and their shapes, as
Keras reads them from the layer's first call. Mixed into :class:`~thawnet.layers.layer.Layer`.
"""

from __future__ import annotations

from thawnet.backend.types import ShapeLike, TensorTree


class GraphPosition:
    """``input``, ``output``, ``input_shape``, ``output_shape`` from the first inbound node."""

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f'Layer "{self.name}" has never been called on a symbolic '
                                 f"tensor, so it has no {what}. Call it on Input(...) first.")
        return self._inbound_nodes[0]

    @property
    def input(self) -> TensorTree:
        """The symbolic input(s) of the layer's first call (a list when there are several)."""
        tensors = self._first_node("input").input_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def output(self) -> TensorTree:
        """The symbolic output(s) of the layer's first call (a list when there are several)."""
        tensors = self._first_node("output").output_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def input_shape(self) -> ShapeLike:
        """The shape(s) of :attr:`input`, batch axis included (``None``)."""
        tensors = self._first_node("input shape").input_tensors
        shapes_in = [t.shape for t in tensors]
        return shapes_in[0] if len(shapes_in) == 1 else shapes_in

    @property
    def output_shape(self) -> ShapeLike:
        """The shape(s) of :attr:`output`, batch axis included (``None``)."""
        tensors = self._first_node("output shape").output_tensors
        shapes_out = [t.shape for t in tensors]
        return shapes_out[0] if len(shapes_out) == 1 else shapes_out
