"""ActivityRegularization: passes its input through and adds an L1/L2 penalty on it."""

from __future__ import annotations

from thawnet import regularizers
from thawnet.backend.types import ShapeLike, TensorTree
from thawnet.layers.layer import Layer, register


@register
class ActivityRegularization(Layer):
    """Identity whose output adds ``(l1 * sum|x| + l2 * sum x^2) / batch`` to the loss.

    Args:
        l1: L1 factor (>= 0).
        l2: L2 factor (>= 0).
    """

    supports_masking = True  # keeps the time axis: the mask passes through (Keras)

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs) -> None:
        for arg, value in (("l1", l1), ("l2", l2)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"ActivityRegularization: {arg} must be a number >= 0; "
                                 f"received {arg}={value!r}.")
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2

    def call(self, inputs: TensorTree) -> TensorTree:
        return inputs

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}


__all__ = ["ActivityRegularization"]
