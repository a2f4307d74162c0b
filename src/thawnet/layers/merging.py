"""Merging layers: combine a list of tensors (Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot) and their lowercase functional helpers (``add([a, b])``).

Shapes are checked when the layer is built (at graph construction for symbolic inputs), so an
incompatible pair of branches fails where the model is written, not when it first runs.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.backend.types import Axis, Config, ShapeLike, Tensor, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers import merging_masks
from thawnet.layers.layer import register
from thawnet.layers.merge_base import Merge, format_shapes, input_shapes


_MERGE_DOC = """{summary}

    Takes a list of tensors of the same shape (size-1 dimensions broadcast; a lower-rank input
    gets size-1 axes after the batch axis) and returns one tensor of that shape.

    >>> import numpy as np
    >>> from thawnet.layers import {cls}
    >>> {cls}()([np.array([[1., 4.]]), np.array([[3., 2.]])]).tolist()
    {example}
    """


@register
class Add(Merge):
    __doc__ = _MERGE_DOC.format(summary="Elementwise sum of the inputs.", cls="Add",
                                example="[[4.0, 6.0]]")

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


@register
class Subtract(Merge):
    __doc__ = _MERGE_DOC.format(summary="``inputs[0] - inputs[1]``; exactly two inputs.",
                                cls="Subtract", example="[[-2.0, 2.0]]")
    min_inputs = max_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


@register
class Multiply(Merge):
    __doc__ = _MERGE_DOC.format(summary="Elementwise product of the inputs.", cls="Multiply",
                                example="[[3.0, 8.0]]")
    masked_merge = staticmethod(merging_masks.masked_product)

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


@register
class Average(Merge):
    __doc__ = _MERGE_DOC.format(summary="Elementwise mean of the inputs.", cls="Average",
                                example="[[2.0, 3.0]]")

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


@register
class Maximum(Merge):
    __doc__ = _MERGE_DOC.format(summary="Elementwise maximum of the inputs.", cls="Maximum",
                                example="[[3.0, 4.0]]")
    masked_merge = staticmethod(merging_masks.masked_maximum)

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = jnp.maximum(out, x)
        return out


@register
class Minimum(Merge):
    __doc__ = _MERGE_DOC.format(summary="Elementwise minimum of the inputs.", cls="Minimum",
                                example="[[1.0, 2.0]]")
    masked_merge = staticmethod(merging_masks.masked_minimum)

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = jnp.minimum(out, x)
        return out


@register
class Concatenate(Merge):
    """Joins a list of tensors along one axis.

    All inputs must have the same rank and the same size on every axis except ``axis``.

    Args:
        axis: the axis to join along (default -1, the features).

    >>> import numpy as np
    >>> from thawnet.layers import Concatenate
    >>> Concatenate()([np.zeros((2, 3)), np.ones((2, 4))]).shape
    (2, 7)
    """

    def __init__(self, axis: Axis = -1, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise ValueError(f'Concatenate "{self.name}": axis must be an integer; received '
                             f"axis={axis!r}.")
        self.axis = int(axis)

    def _checks_batch(self):
        return False  # batch sizes are compared below, unless the batch is the joined axis

    def check_shapes(self, shapes: Sequence[ShapeLike]) -> tuple:
        self._check_list(shapes)
        shapes = [tuple(s) for s in shapes]
        ranks = {len(s) for s in shapes}
        rank = len(shapes[0])
        fix = (f"Reshape or crop the inputs so that only axis {self.axis} differs, or choose "
               "another axis.")
        head = (f"{self._who()} needs inputs whose dimensions match on every axis except the "
                f"concatenation axis (axis={self.axis}); received shapes {format_shapes(shapes)}")
        if len(ranks) > 1:
            raise ValueError(f"{head}: the ranks differ ({sorted(ranks)}). {fix}")
        if not -rank <= self.axis < rank:
            raise ValueError(f"{self._who()}: axis={self.axis} is out of range for inputs of "
                             f"rank {rank}; received shapes {format_shapes(shapes)}. Use an axis in "
                             f"[{-rank}, {rank - 1}].")
        axis = self.axis % rank
        out = []
        for d in range(rank):
            sizes = [s[d] for s in shapes]
            known = {v for v in sizes if v is not None}
            if d == axis:
                out.append(None if None in sizes else sum(sizes))
                continue
            if len(known) > 1:
                raise ValueError(f"{head}: axis {d} differs ({' vs '.join(map(str, sizes))}). "
                                 f"{fix}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def call(self, inputs: TensorTree) -> TensorTree:
        self.check_shapes(input_shapes(inputs))
        return self._merge(list(inputs))

    def _merge(self, inputs):
        return jnp.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs: TensorTree, mask: TensorTree | None = None) -> TensorTree | None:
        return merging_masks.concatenated_mask(self, inputs, mask, self.axis)

    def get_config(self) -> Config:
        return {**super().get_config(), "axis": self.axis}


@register
class Dot(Merge):
    """Per-sample dot product of two tensors along one axis of each.

    Args:
        axes: int, or a pair ``(axis_of_first, axis_of_second)``; never the batch axis 0.
        normalize: L2-normalize both inputs along their axis first (the output is then the
            cosine similarity).

    For inputs of shapes ``(b, 3, 5)`` and ``(b, 10, 3)`` with ``axes=(1, 2)`` the output has
    shape ``(b, 5, 10)``; two rank-2 inputs give ``(b, 1)``.

    >>> import numpy as np
    >>> from thawnet.layers import Dot
    >>> Dot(axes=1)([np.array([[1., 2.]]), np.array([[3., 4.]])]).tolist()
    [[11.0]]
    """

    min_inputs = max_inputs = 2

    def __init__(self, axes: Axis, normalize: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        ok = (isinstance(axes, int) and not isinstance(axes, bool)) or (
            isinstance(axes, (list, tuple)) and len(axes) == 2
            and all(isinstance(a, int) and not isinstance(a, bool) for a in axes))
        if not ok:
            # Keras raises TypeError for a value that is neither an int nor a sequence.
            error = ValueError if isinstance(axes, (list, tuple)) else ArgumentTypeError
            raise error(f'Dot "{self.name}": axes must be an int or a pair of ints '
                        f"(axis of the first input, axis of the second); received "
                        f"axes={axes!r}.")
        self.axes = axes if isinstance(axes, int) else tuple(axes)
        self.normalize = bool(normalize)

    def _resolved_axes(self, shapes):
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        out = []
        for a, s in zip(pair, shapes):
            if not -len(s) <= a < len(s):
                raise ValueError(f"{self._who()}: axis {a} is out of range for an input of "
                                 f"shape {tuple(s)}; received shapes {format_shapes(shapes)}.")
            out.append(a % len(s))
        return out

    def check_shapes(self, shapes: Sequence[ShapeLike]) -> Any:
        self._check_list(shapes)
        shapes = [tuple(s) for s in shapes]
        if any(len(s) < 2 for s in shapes):
            raise ValueError(f"{self._who()} needs inputs of rank >= 2 (batch and features); "
                             f"received shapes {format_shapes(shapes)}.")
        a0, a1 = self._resolved_axes(shapes)
        if 0 in (a0, a1):
            raise ValueError(f"{self._who()} cannot take the dot product over the batch axis 0 "
                             f"(axes={self.axes}); received shapes {format_shapes(shapes)}. Use axes "
                             "counted from 1 (or negative).")
        d0, d1 = shapes[0][a0], shapes[1][a1]
        if d0 is not None and d1 is not None and d0 != d1:
            raise ValueError(f"{self._who()} needs the dot axes to have the same size; axis "
                             f"{a0} of the first input is {d0} and axis {a1} of the second is "
                             f"{d1} (received shapes {format_shapes(shapes)}). Choose matching axes or "
                             "resize one input.")
        x, y = shapes
        out = (x[0] if x[0] is not None else y[0],) + x[1:a0] + x[a0 + 1:] + tuple(
            d for i, d in enumerate(y) if i not in (0, a1))
        return out if len(out) > 1 else out + (1,)

    def call(self, inputs: TensorTree) -> TensorTree:
        self.check_shapes(input_shapes(inputs))
        return self._merge(list(inputs))

    def _merge(self, inputs):
        x, y = inputs
        a0, a1 = self._resolved_axes([x.shape, y.shape])
        if self.normalize:
            x, y = _l2_normalize(x, a0), _l2_normalize(y, a1)
        out = jax.lax.dot_general(x, y, (((a0,), (a1,)), ((0,), (0,))))
        return out[:, None] if out.ndim == 1 else out

    # The contracted axes are gone: no mask.
    def compute_mask(self, inputs: TensorTree, mask: TensorTree | None = None
                     ) -> TensorTree | None:
        return None

    def get_config(self) -> Config:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x, axis, epsilon=1e-7):
    inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv, 1.0 / epsilon)


def add(inputs: TensorTree, **kwargs) -> Tensor:
    """Functional form of :class:`Add`: ``add([x1, x2])``."""
    return Add(**kwargs)(inputs)


def subtract(inputs: TensorTree, **kwargs) -> Tensor:
    """Functional form of :class:`Subtract`: ``subtract([x1, x2])``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: TensorTree, **kwargs) -> Tensor:
    """Functional form of :class:`Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs: TensorTree, **kwargs) -> Tensor:
    """Functional form of :class:`Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs: TensorTree, **kwargs) -> Tensor:
    """Functional form of :class:`Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: TensorTree, **kwargs) -> Tensor:
    """Functional form of :class:`Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: TensorTree, axis: Axis = -1, **kwargs) -> Tensor:
    """Functional form of :class:`Concatenate`: ``concatenate([x1, x2], axis=-1)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: TensorTree, axes: Axis = -1, **kwargs) -> Tensor:
    """Functional form of :class:`Dot`: ``dot([x1, x2], axes=1, normalize=False)``."""
    return Dot(axes=axes, **kwargs)(inputs)


__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]
