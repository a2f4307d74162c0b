"""Model inputs: ``Input(shape=...)`` makes the symbolic tensor a functional model starts from."""

from __future__ import annotations

from thawnet.layers.layer import Layer, register
from thawnet.layers.node import Node, SymbolicTensor


@register
class InputLayer(Layer):
    """The layer behind ``Input``: no weights, one node with no inputs.

    Args:
        shape: shape of one sample (without the batch axis), e.g. ``(28, 28, 1)``.
        batch_size: optional fixed batch size.
        dtype: input dtype (default float32).
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
                 input_shape=None, batch_input_shape=None, **kwargs):
        if shape is None and input_shape is not None:
            shape = input_shape
        if batch_shape is None and batch_input_shape is not None:
            batch_shape = batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs a shape: pass shape=(...) for one sample, e.g. "
                                 "Input(shape=(784,)).")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.batch_shape = tuple(batch_shape)
        for d in self.batch_shape[1:]:
            if d is not None and (not isinstance(d, int) or d <= 0):
                raise ValueError(f'Input "{self.name}": every dimension must be a positive int '
                                 f"or None; received shape={self.batch_shape[1:]}.")
        self.built = True
        # Its one node has no inputs; ``self.output`` (Layer's) is that node's tensor.
        Node(self, [], SymbolicTensor(self.batch_shape, self.dtype, name=self.name), {})

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype.name, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """A symbolic input tensor for the functional API: ``x = Input(shape=(784,))``."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape)
    return layer.output
