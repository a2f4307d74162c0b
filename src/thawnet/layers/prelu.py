"""PReLU: a leaky ReLU whose negative slope ``alpha`` is learned.

``f(x) = x`` for ``x >= 0`` and ``alpha * x`` below, computed as ``relu(x) - alpha * relu(-x)``.
"""

from __future__ import annotations

from typing import Sequence

import jax

from thawnet import constraints, initializers, regularizers
from thawnet.backend.types import Array, Config, Identifier, ShapeLike, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


@register
class PReLU(Layer):
    """Parametric ReLU with one learned slope per input element (or shared along axes).

    Weights: ``alpha``, a parameter with the shape of one sample, with size 1 on each axis
    of ``shared_axes``.

    Args:
        alpha_initializer: initializer of ``alpha`` (default zeros: starts as a ReLU).
        alpha_regularizer: penalty on ``alpha`` added to the training loss.
        alpha_constraint: projection applied to ``alpha`` after every optimizer step.
        shared_axes: int or list of ints (1-based, the batch axis is 0): axes along which
            one slope is shared, e.g. ``[1, 2]`` for one slope per channel of an image.

    >>> import numpy as np
    >>> from thawnet.layers import PReLU
    >>> layer = PReLU(alpha_initializer="ones", shared_axes=[1])
    >>> layer(np.array([[-2.0, 3.0]], "float32")).tolist(), layer.alpha.shape
    ([[-2.0, 3.0]], (1,))
    """

    supports_masking = True  # keeps the time axis: the mask passes through (Keras)

    def __init__(self, alpha_initializer: Identifier = "Zeros",
                 alpha_regularizer: Identifier = None, alpha_constraint: Identifier = None,
                 shared_axes: Sequence[int] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'PReLU "{self.name}"'
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint, f"{who}: alpha_constraint: ")
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(_is_int(a) for a in axes):
                raise ArgumentTypeError(f"{who}: shared_axes must be an int or a list of ints "
                                        f"(1-based axes); received shared_axes={shared_axes!r}.")
            if any(a < 1 for a in axes):
                raise ValueError(f"{who}: shared_axes are 1-based (the batch axis 0 cannot be "
                                 f"shared); received shared_axes={shared_axes!r}.")
            self.shared_axes = axes

    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        shared = self.shared_axes or []
        bad = [a for a in shared if a >= rank]
        if bad:
            raise ValueError(
                f'PReLU "{self.name}": shared_axes={self.shared_axes} names axis {bad[0]}, but '
                f"the inputs have rank {rank} (shape {input_shape}); use axes 1..{rank - 1}.")
        shape = [1 if axis in shared else d for axis, d in enumerate(input_shape) if axis > 0]
        if any(d is None for d in shape):
            raise ValueError(
                f'PReLU "{self.name}" needs known sizes on every non-shared axis; received '
                f"shape {input_shape}. Give the sizes in Input(shape=...) or share the unknown "
                "axes with shared_axes.")
        # alpha is a parameter, trained by the optimizer.
        self.alpha = self.add_weight("alpha", tuple(shape), self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        axes = {axis: input_shape[axis] for axis in range(1, rank) if axis not in shared}
        self.input_spec = InputSpec(ndim=rank, axes=axes)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def call(self, inputs: TensorTree) -> Array:
        alpha = self.alpha.value.astype(inputs.dtype)
        return jax.nn.relu(inputs) - alpha * jax.nn.relu(-inputs)

    def get_config(self) -> Config:
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


__all__ = ["PReLU"]
