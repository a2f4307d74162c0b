"""Model inputs: ``Input(shape=...)`` makes the symbolic tensor a functional model starts from."""

from __future__ import annotations

import warnings

import numpy as np

from thawnet.backend.types import Config, DTypeLike, ShapeLike, Tensor, TensorLike, TensorTree
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

    def __init__(self, shape: ShapeLike | None = None, batch_size: int | None = None,
                 dtype: DTypeLike | None = None, name: str | None = None,
                 batch_shape: ShapeLike | None = None, input_shape: ShapeLike | None = None,
                 batch_input_shape: ShapeLike | None = None, sparse: bool | None = None,
                 ragged: bool | None = None, input_tensor: Tensor | None = None,
                 optional: bool = False, **kwargs) -> None:
        who = "InputLayer" if name is None else f'InputLayer "{name}"'
        if input_shape is not None:
            warnings.warn(f"{who}: input_shape= is the old name of shape=; use shape=.",
                          UserWarning, stacklevel=2)
            shape = input_shape if shape is None else shape
        if batch_shape is None and batch_input_shape is not None:
            batch_shape = batch_input_shape
        if sparse or ragged:
            raise ValueError(f"{who}: thawnet has no sparse or ragged tensors; received "
                             f"sparse={sparse!r}, ragged={ragged!r}. Pass dense arrays (pad "
                             "ragged sequences) and leave these arguments out.")
        if shape is not None and batch_shape is not None:
            raise ValueError(f"{who}: give shape= (one sample) or batch_shape= (with the batch "
                             f"axis), not both; received shape={shape!r}, "
                             f"batch_shape={batch_shape!r}.")
        if batch_size is not None and batch_shape is not None and input_tensor is None:
            raise ValueError(f"{who}: batch_shape= already holds the batch size; do not also "
                             f"give batch_size={batch_size!r}.")
        if input_tensor is not None:
            if not isinstance(input_tensor, SymbolicTensor):
                raise ValueError(f"{who}: input_tensor must be a symbolic tensor (from "
                                 f"Input(...)); received {type(input_tensor).__name__}.")
            given = tuple(input_tensor.shape)
            if shape is not None and tuple(shape) != given[1:]:
                raise ValueError(f"{who}: shape={tuple(shape)} does not match input_tensor's "
                                 f"shape {given}; leave shape= out.")
            if batch_shape is not None and tuple(batch_shape) != given:
                raise ValueError(f"{who}: batch_shape={tuple(batch_shape)} does not match "
                                 f"input_tensor's shape {given}; leave batch_shape= out.")
            if batch_size is not None and batch_size != given[0]:
                raise ValueError(f"{who}: batch_size={batch_size!r} does not match "
                                 f"input_tensor's shape {given}; leave batch_size= out.")
            if dtype is not None and np.dtype(dtype) != np.dtype(input_tensor.dtype):
                raise ValueError(f"{who}: dtype={dtype!r} does not match input_tensor's dtype "
                                 f"{input_tensor.dtype}; leave dtype= out.")
            batch_shape, dtype, batch_size = given, dtype or input_tensor.dtype, None
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs a shape: pass shape=(...) for one sample, e.g. "
                                 "Input(shape=(784,)).")
            if isinstance(shape, (int, np.integer)):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.batch_shape = tuple(None if d is None else _dimension(d, self.name)
                                 for d in batch_shape)
        for d in self.batch_shape[1:]:
            if d is not None and d < 0:  # 0 is a size (an empty axis), as in Keras
                raise ValueError(f'Input "{self.name}": every dimension must be an int >= 0 '
                                 f"or None; received shape={self.batch_shape[1:]}.")
        self.optional = bool(optional)
        self.sparse = self.ragged = False
        self.built = True
        # Its one node has no inputs; ``self.output`` (Layer's) is that node's tensor: the
        # given input_tensor itself, or a new one.
        tensor = input_tensor if input_tensor is not None else SymbolicTensor(
            self.batch_shape, self.dtype, name=self.name)
        Node(self, [], tensor, {})

    def call(self, inputs: TensorTree | None = None) -> TensorTree:
        return inputs

    def get_config(self) -> Config:
        return {"batch_shape": self.batch_shape, "dtype": self.dtype.name, "name": self.name}


def _dimension(d, name):
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise ValueError(f'Input "{name}": every dimension must be an int >= 0 or None; '
                         f"received {d!r}.")
    return int(d)


def Input(shape: ShapeLike | None = None, batch_size: int | None = None,
          dtype: DTypeLike | None = None, sparse: bool | None = None,
          batch_shape: ShapeLike | None = None, name: str | None = None,
          tensor: TensorLike | None = None, optional: bool = False) -> Tensor:
    """A symbolic input tensor for the functional API: ``x = Input(shape=(784,))``
    (Keras 3's arguments and order)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape, sparse=sparse, input_tensor=tensor,
                       optional=optional)
    return layer.output
