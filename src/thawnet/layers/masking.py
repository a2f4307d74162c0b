"""Masking: marks the timesteps whose features all equal ``mask_value`` as padding."""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.backend.masking import set_keras_mask
from thawnet.backend.types import ShapeLike, TensorTree
from thawnet.layers.layer import Layer, register


@register
class Masking(Layer):
    """Skips padded timesteps in the layers after it.

    A timestep (axis 1 of ``(batch, timesteps, features)``) is padding when *every* feature
    equals ``mask_value``. The output is the input with padded timesteps set to 0, and it
    carries the mask ``(batch, timesteps)`` (``True`` = a real timestep), which the next
    layers that take ``mask`` (RNNs, pooling, attention) and the compiled loss use.

    Args:
        mask_value: the padding value (default 0.0).

    >>> import numpy as np
    >>> from thawnet.backend.masking import get_keras_mask
    >>> x = np.array([[[1.0, 2.0], [0.0, 0.0]]])
    >>> get_keras_mask(Masking()(x)).tolist()
    [[True, False]]
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise ValueError(f'Masking "{self.name}": mask_value must be a number (the padding '
                             f"value, e.g. 0.0); received mask_value={mask_value!r}.")
        self.mask_value = mask_value

    def _keep(self, inputs):
        """True where a timestep has at least one feature other than ``mask_value``."""
        return jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs: TensorTree) -> TensorTree:
        keep = self._keep(inputs)
        outputs = jnp.where(keep[..., None], inputs, jnp.zeros((), inputs.dtype))
        set_keras_mask(outputs, keep)  # computed once here, rather than again in compute_mask
        return outputs

    def compute_mask(self, inputs: TensorTree, mask: TensorTree | None = None) -> TensorTree | None:
        return self._keep(inputs)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}


__all__ = ["Masking"]
