"""Identity: returns its inputs unchanged (a placeholder where no operation is wanted)."""

from __future__ import annotations

from typing import Any

from thawnet.backend import shapes
from thawnet.backend.types import TensorTree
from thawnet.layers import node as node_lib
from thawnet.layers.layer import Layer, register


@register
class Identity(Layer):
    """Returns ``inputs`` as they are: any structure, any shape and dtype; no weights.

    >>> import numpy as np
    >>> from thawnet.layers import Identity
    >>> Identity()(np.array([1, 2], "int32")).tolist()
    [1, 2]
    """

    supports_masking = True  # keeps the time axis: the mask passes through (Keras)

    def call(self, inputs: TensorTree) -> TensorTree:
        return inputs

    def compute_output_spec(self, inputs: TensorTree, *args, **kwargs) -> Any:
        # Shapes and dtypes pass through (an int input stays int), with no tracing.
        return node_lib.tree_map(lambda t: shapes.TensorSpec(t.shape, t.dtype), inputs)


__all__ = ["Identity"]
