"""LayerNormalization: per-sample normalisation over the chosen axes.

It computes in at least float32 (half-precision inputs are upcast for the statistics) and
returns the layer's dtype, as Keras does.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet import constraints, initializers, regularizers
from thawnet.backend.types import Axis, Config, Identifier, ShapeLike, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register
from thawnet.layers.normalization_arguments import (check_epsilon, compute_dtype_of,
                                                    gamma_beta_config, is_int)


@register
class LayerNormalization(Layer):
    """Normalise each sample over ``axis``: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    Statistics are computed per sample (no batch statistics, no state), so training and
    inference behave the same. ``gamma`` and ``beta`` have the shape of the normalised axes.

    Args:
        axis: int or list of ints, the axes to normalise over (default -1). With several
            axes ``gamma``/``beta`` have the sizes of those axes in sorted order, as in Keras.
        epsilon: small float added to the variance.
        center: learn an offset ``beta``.
        scale: learn a scale ``gamma``.
        rms_scaling: Keras's deprecated option: ``x * rsqrt(var + epsilon) * gamma`` with no
            centring and no ``beta`` (note it divides by the variance, not the root mean
            square, exactly as Keras does).
        beta_initializer, gamma_initializer: initializers (zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the training loss.

    >>> import numpy as np
    >>> from thawnet.layers import LayerNormalization
    >>> y = LayerNormalization()(np.array([[1.0, 2.0, 3.0]], "float32"))
    >>> [round(float(v), 3) for v in y[0]]
    [-1.224, 0.0, 1.224]
    """

    autocast = False  # as Keras: inputs and weights keep their dtypes; stats in float32

    supports_masking = True  # per-sample statistics: a mask passes through unchanged (Keras)

    def __init__(self, axis: Axis = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False,
                 beta_initializer: Identifier = "zeros", gamma_initializer: Identifier = "ones",
                 beta_regularizer: Identifier = None, gamma_regularizer: Identifier = None,
                 beta_constraint: Identifier = None, gamma_constraint: Identifier = None, **kwargs
            ) -> None:
        super().__init__(**kwargs)
        who = f'LayerNormalization "{self.name}"'
        if isinstance(axis, (list, tuple)):
            if not axis or not all(is_int(a) for a in axis):
                raise ArgumentTypeError(f"{who}: axis must be an int or a non-empty list of "
                                        f"ints (or tuple); received axis={axis!r}.")
            axis = [int(a) for a in axis]
        elif not is_int(axis):
            raise ArgumentTypeError(f"{who}: axis must be an int or a list of ints (or tuple); "
                                    f"received axis={axis!r}.")
        else:
            axis = int(axis)
        self.axis = axis
        self.epsilon = check_epsilon(who, epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint, f"{who}: beta_constraint: ")
        self.gamma_constraint = constraints.get(gamma_constraint, f"{who}: gamma_constraint: ")
        self.gamma = self.beta = None

    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        bad = [a for a in axes if not -rank <= a < rank]
        if bad:
            raise ValueError(
                f'LayerNormalization "{self.name}": axis={self.axis} is out of range for inputs '
                f"of rank {rank} (shape {input_shape}).")
        self._axes = tuple(sorted({a % rank for a in axes}))
        if len(self._axes) != len(axes):
            raise ValueError(f'LayerNormalization "{self.name}": axis={self.axis} names the '
                             "same axis twice.")
        # Keras orders the weight shape by the axes as written, sorted (so axis=(1, -1) on rank
        # 4 gives (size[-1], size[1])) and reshapes it onto the sorted positive axes; the same
        # convention keeps weights interchangeable with Keras.
        shape = tuple(input_shape[d] for d in sorted(axes))
        if any(s is None for s in shape):
            raise ValueError(
                f'LayerNormalization "{self.name}" needs known sizes on the normalised axes '
                f"{self._axes}; received shape {input_shape}.")
        # gamma and beta are parameters, trained by the optimizer.
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self._bshape = tuple(input_shape[d] if d in self._axes else 1 for d in range(rank))
        # The axes as written (-1: the last) hold for inputs of any rank, as in Keras: a layer
        # built for rank 3 normalises rank-4 inputs over their last axis too.
        self.input_spec = InputSpec(min_ndim=max(a + 1 if a >= 0 else -a for a in axes),
                                    axes={a: input_shape[a] for a in axes})

    def _axes_for(self, ndim):
        """The normalised axes and the weights' broadcast shape for inputs of rank ``ndim``."""
        if ndim == len(self._bshape):
            return self._axes, self._bshape
        written = self.axis if isinstance(self.axis, list) else [self.axis]
        axes = tuple(sorted({a % ndim for a in written}))
        sizes = dict(zip(self._axes, (self._bshape[d] for d in self._axes)))
        by_written = {a % ndim: sizes[a % len(self._bshape)] for a in written}
        return axes, tuple(by_written.get(d, 1) for d in range(ndim))

    def axis_hint(self, axis: Axis) -> str:
        return ("The layer was built for different sizes on its normalised axes; check the "
                "previous layer's output or the axis argument.")

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def call(self, inputs: TensorTree) -> TensorTree:
        x = inputs.astype(compute_dtype_of(inputs))
        axes, bshape = self._axes_for(x.ndim)
        variance = jnp.var(x, axis=axes, keepdims=True)
        inv = 1.0 / jnp.sqrt(variance + self.epsilon)
        if self.rms_scaling:
            out = x * inv
            if self.gamma is not None:
                out = out * self.gamma.value.astype(x.dtype).reshape(bshape)
            return out.astype(self.compute_dtype)
        mean = jnp.mean(x, axis=axes, keepdims=True)
        if self.gamma is not None:
            inv = inv * self.gamma.value.astype(x.dtype).reshape(bshape)
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self.beta.value.astype(x.dtype).reshape(bshape)
        return (x * inv + shift).astype(self.compute_dtype)

    def get_config(self) -> Config:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": self.rms_scaling,
                **gamma_beta_config(self)}


__all__ = ["LayerNormalization"]
