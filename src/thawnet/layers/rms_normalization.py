"""RMSNormalization and UnitNormalization: rescale each sample by a norm over some axes.

* RMSNormalization: ``x / sqrt(mean(x**2) + epsilon) * scale`` (Zhang & Sennrich, 2019), the
  normalisation of most recent Transformers; one parameter ``scale``.
* UnitNormalization: ``x / ||x||_2`` over ``axis``; no weights.

Neither keeps state: training and inference are the same computation.
"""

from __future__ import annotations

import numbers

import jax.numpy as jnp

from thawnet.backend.types import Axis, Config, ShapeLike, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.layer import Layer, register


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_axis(who: str, axis):
    """An int, or a list of ints (tuples become lists, as Keras stores them)."""
    if isinstance(axis, (list, tuple)):
        if not axis or not all(_is_int(a) for a in axis):
            raise ArgumentTypeError(f"{who}: axis must be an int or a non-empty list/tuple of "
                                    f"ints; received axis={axis!r}.")
        return [int(a) for a in axis]
    if not _is_int(axis):
        raise ArgumentTypeError(f"{who}: axis must be an int or a list/tuple of ints; "
                                f"received axis={axis!r}.")
    return int(axis)


def _positive_axes(who: str, axis, input_shape) -> tuple:
    rank = len(input_shape)
    axes = axis if isinstance(axis, list) else [axis]
    bad = [a for a in axes if not -rank <= a < rank]
    if bad:
        raise ValueError(f"{who}: axis={axis} is out of bounds for inputs of shape "
                         f"{tuple(input_shape)} (rank {rank}).")
    return tuple(sorted({a % rank for a in axes}))


@register
class RMSNormalization(Layer):
    """``x * rsqrt(mean(x**2, axis) + epsilon) * scale``.

    Weights: ``scale`` (a parameter, initialised to ones) with the sizes of the normalised
    axes, in sorted order.

    Args:
        axis: int or list of ints, the axes to normalise over (default -1).
        epsilon: small float added to the mean square.

    >>> import numpy as np
    >>> from thawnet.layers import RMSNormalization
    >>> y = RMSNormalization()(np.array([[3.0, 4.0]], "float32"))
    >>> [round(float(v), 4) for v in y[0]]
    [0.8485, 1.1314]
    """

    def __init__(self, axis: Axis = -1, epsilon: float = 1e-6, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'RMSNormalization "{self.name}"'
        self.axis = _check_axis(who, axis)
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or epsilon < 0:
            raise ValueError(f"{who}: epsilon must be a non-negative number; received "
                             f"epsilon={epsilon!r}.")
        self.epsilon = epsilon
        self.scale = None

    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        who = f'RMSNormalization "{self.name}"'
        _positive_axes(who, self.axis, input_shape)
        # Keras stores the axes as a sorted list once built, and sizes the weight in that order.
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        shape = tuple(input_shape[a] for a in self.axis)
        if any(s is None for s in shape):
            raise ValueError(f"{who}: the normalised axes {self.axis} need known sizes; "
                             f"received shape {input_shape}.")
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        _positive_axes(f'RMSNormalization "{self.name}"', self.axis, input_shape)
        return input_shape

    def _scale_for(self, ndim: int, dtype):
        """``scale`` laid out to broadcast against inputs of rank ``ndim``. The axes are
        resolved against the inputs at each call (negative axes count from the end, as in
        Keras, so a layer built on rank 3 also serves rank 4), and the weight's axes are put
        into the inputs' order when the sorted list mixes signs (``[-1, 1]``)."""
        positions = [a % ndim for a in self.axis]
        scale = self.scale.value.astype(dtype)
        order = sorted(range(len(positions)), key=positions.__getitem__)
        if order != list(range(len(positions))):
            scale = jnp.transpose(scale, order)
        shape = [1] * ndim
        for axis_pos, size in zip(sorted(positions), scale.shape):
            shape[axis_pos] = size
        return scale.reshape(shape), tuple(sorted(positions))

    def call(self, inputs: TensorTree) -> TensorTree:
        x = inputs.astype(jnp.result_type(inputs.dtype, jnp.float32))
        scale, axes = self._scale_for(x.ndim, x.dtype)
        inv_rms = 1.0 / jnp.sqrt(jnp.mean(jnp.square(x), axis=axes, keepdims=True)
                                 + self.epsilon)
        return (x * inv_rms * scale).astype(inputs.dtype)

    def get_config(self) -> Config:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


@register
class UnitNormalization(Layer):
    """``x / ||x||_2`` over ``axis`` (the norm floored at 1e-12, so zeros stay zeros).

    Args:
        axis: int or list of ints, the axes the norm is taken over (default -1).

    >>> import numpy as np
    >>> from thawnet.layers import UnitNormalization
    >>> [float(v) for v in UnitNormalization()(np.array([[3.0, 4.0]], "float32"))[0]]
    [0.6000000238418579, 0.800000011920929]
    """

    supports_masking = True

    def __init__(self, axis: Axis = -1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.axis = _check_axis(f'UnitNormalization "{self.name}"', axis)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        _positive_axes(f'UnitNormalization "{self.name}"', self.axis, input_shape)
        return input_shape

    def call(self, inputs: TensorTree) -> TensorTree:
        x = jnp.asarray(inputs)
        axes = _positive_axes(f'UnitNormalization "{self.name}"', self.axis, x.shape)
        # rsqrt of the squared norm, capped at 1/epsilon: an all-zero row stays zero.
        inv_norm = jnp.minimum(1.0 / jnp.sqrt(jnp.sum(jnp.square(x), axis=axes, keepdims=True)),
                               1e12)
        return (x * inv_norm).astype(x.dtype)

    def get_config(self) -> Config:
        return {**super().get_config(), "axis": self.axis}


__all__ = ["RMSNormalization", "UnitNormalization"]
