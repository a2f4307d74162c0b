"""SpectralNormalization: divide a wrapped layer's kernel by its largest singular value.

Miyato et al. (2018). The largest singular value ``sigma`` of the kernel (reshaped to
``(-1, out)``) is estimated by power iteration from a persistent vector ``vector_u``. Each
training-mode call runs ``power_iterations`` steps, then the wrapped layer computes with
``kernel / sigma`` (gradients flow through ``sigma``; ``u`` and ``v`` are held constant, as in
Keras).

Roles: ``vector_u`` is a **statistic** (state the layer updates itself: never trained by
gradients, counted as non-trainable, and returned through the stateless bridge like
BatchNormalization's moving statistics). It and the kernel are updated only in training mode
while the wrapper is effectively trainable; a frozen wrapper runs as in inference and changes
nothing, bit for bit.

What training mode writes, exactly as Keras 3 does: ``vector_u`` and the kernel are assigned.
In an eager call both are stored; inside ``fit``/``stateless_call`` the normalised kernel is
what the wrapped layer computes with, but only statistics are returned, so the stored kernel
stays the optimizer's (un-normalised) value. Inference uses the stored kernel as it is.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp

from thawnet import initializers
from thawnet.backend.types import Config, ShapeLike, TensorTree
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register
from thawnet.layers.time_distributed import _layer_config, _layer_from_config
from thawnet.variables import STATISTIC, Variable, layer_trains_now


def _unit(x):
    """``x / ||x||`` over all entries; the inverse norm is capped at 1e7 (Keras's epsilon)
    so a zero vector stays zero instead of becoming NaN."""
    return x * jnp.minimum(1.0 / jnp.sqrt(jnp.sum(jnp.square(x))), 1e7)


@register
class SpectralNormalization(Layer):
    """Wraps a layer with a ``kernel`` (Dense, convolutions) or ``embeddings`` (Embedding).

    Weights, in Keras's order: the wrapped layer's kernel, ``vector_u`` (statistic, shape
    ``(1, out)``, truncated normal with stddev 0.02), then the wrapped layer's other weights.

    Args:
        layer: the Layer instance to wrap, e.g. ``Dense(8)`` or ``Conv2D(16, 3)``.
        power_iterations: int > 0, power-iteration steps per training call.

    >>> import numpy as np
    >>> from thawnet.layers import Dense, SpectralNormalization
    >>> sn = SpectralNormalization(Dense(2))
    >>> y = sn(np.ones((1, 3), "float32"))
    >>> [w.name for w in sn.weights], [w.name for w in sn.non_trainable_weights]
    (['kernel', 'vector_u', 'bias'], ['vector_u'])
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'SpectralNormalization "{self.name}"'
        if not isinstance(layer, Layer):
            raise ValueError(f"{who}: layer must be a Layer instance with a kernel (e.g. "
                             f"Dense(8)); received layer={layer!r:.80}.")
        if (not isinstance(power_iterations, numbers.Integral)
                or isinstance(power_iterations, bool) or power_iterations <= 0):
            raise ValueError(f"{who}: `power_iterations` should be greater than zero (an "
                             f"integer number of steps). Received: "
                             f"`power_iterations={power_iterations!r}`")
        self.layer = layer
        self.power_iterations = int(power_iterations)
        self.vector_u = None

    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        self.layer._build_checked(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(
                f'SpectralNormalization "{self.name}": {type(self.layer).__name__} object has '
                "no attribute 'kernel' nor 'embeddings'. Wrap a layer with a weight matrix "
                "(Dense, Conv*, Embedding).")
        if not isinstance(kernel, Variable):
            raise ValueError(
                f'SpectralNormalization "{self.name}": the kernel of {type(self.layer).__name__} '
                f'"{self.layer.name}" is not a plain weight (LoRA enabled?); wrap the layer '
                "before enable_lora, or merge its LoRA factors first.")
        self._kernel = kernel
        # State the layer updates itself (a statistic), never trained by gradients.
        self.vector_u = self.add_weight(
            name="vector_u", shape=(1, kernel.shape[-1]),
            initializer=initializers.TruncatedNormal(stddev=0.02), role=STATISTIC,
            trainable=False, dtype=kernel.dtype)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})

    def _walk(self, prefix=None, owners=(), seen=None, seed_states=False):
        # Keras tracks the wrapped kernel as one of the wrapper's own weights, so it lists it
        # first, then vector_u, then the wrapped layer's others: the same order here keeps
        # get_weights/set_weights interchangeable with Keras. Paths stay the inner layer's.
        items = list(super()._walk(prefix, owners, seen, seed_states))
        kernel = getattr(self, "_kernel", None)
        first = [item for item in items if item[1] is kernel]
        return iter(first + [item for item in items if item[1] is not kernel])

    def _keras_file_weights(self):
        # Keras 3 files store the wrapper's vars as [kernel, vector_u] (and the kernel again
        # under the wrapped layer).
        return [self._kernel, self.vector_u]

    def normalized_weights(self) -> tuple:
        """``(new_u, kernel / sigma)`` after ``power_iterations`` steps from ``vector_u``."""
        kernel = self._kernel.value
        w = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u.value.astype(w.dtype)
        v = None
        for _ in range(self.power_iterations):
            v = _unit(u @ w.T)
            u = _unit(v @ w)
        u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
        sigma = (v @ w) @ u.T  # (1, 1), the estimate of the largest singular value
        return u.astype(self.vector_u.dtype), (w / sigma).reshape(kernel.shape).astype(
            kernel.dtype)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return self.layer.compute_output_shape(input_shape)

    def call(self, inputs: TensorTree, training: bool | None = False) -> TensorTree:
        if training and layer_trains_now(self):
            kernel, u = self._kernel.value, self.vector_u.value
            # An all-zero kernel has no direction to estimate: keep both as they are (a cond,
            # not a where, so the division by sigma = 0 never reaches the gradients).
            new_u, new_kernel = jax.lax.cond(jnp.all(kernel == 0), lambda: (u, kernel),
                                             self.normalized_weights)
            self.vector_u.assign(new_u)
            self._kernel.assign(new_kernel)
        out = self.layer(inputs, training=training)
        return out.astype(inputs.dtype)

    def get_config(self) -> Config:
        return {**super().get_config(), "layer": _layer_config(self.layer),
                "power_iterations": self.power_iterations}

    @classmethod
    def from_config(cls, config: Config, custom_objects: dict[str, Any] | None = None
            ) -> SpectralNormalization:
        config = dict(config)
        layer = _layer_from_config(config.pop("layer"), custom_objects, "SpectralNormalization")
        return cls(layer, **config)


__all__ = ["SpectralNormalization"]
