"""Volumetric reshaping layers: ZeroPadding3D, Cropping3D, UpSampling3D.

Inputs are ``(batch, depth, height, width, channels)`` with ``data_format="channels_last"``
(the default) or ``(batch, channels, depth, height, width)`` with ``"channels_first"``. None
has weights; all are index arithmetic on the three spatial axes.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.backend.types import Array, Config, IntOrTuple, ShapeLike, TensorTree
from thawnet.layers._reshaping_args import _data_format, _int_tuple, _pairs_3d
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import register
from thawnet.layers.reshaping import _Cropping, _Reshaping


@register
class ZeroPadding3D(_Reshaping):
    """Pads the three spatial axes of volumes with zeros.

    Args:
        padding: int (all sides), ``(d, h, w)`` (symmetric per axis) or
            ``((front, back), (top, bottom), (left, right))``.
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np
    >>> from thawnet.layers import ZeroPadding3D
    >>> ZeroPadding3D(((1, 0), (0, 0), (2, 2)))(np.ones((1, 2, 3, 4, 1))).shape
    (1, 3, 3, 8, 1)
    """

    def __init__(self, padding: str = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.padding = _pairs_3d(self._who(), "padding", padding)
        self.data_format = _data_format(self._who(), data_format)
        self.input_spec = InputSpec(ndim=5)

    def rank_hint(self, expected_rank: int) -> str:
        return "ZeroPadding3D takes volumes (batch, depth, height, width, channels)."

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        out = list(input_shape)
        for axis, (a, b) in zip(self._spatial_axes(3), self.padding):
            out[axis] = None if out[axis] is None else out[axis] + a + b
        return tuple(out)

    def call(self, inputs: TensorTree) -> Array:
        pads = [(0, 0)] * 5
        for axis, pair in zip(self._spatial_axes(3), self.padding):
            pads[axis] = pair
        return jnp.pad(inputs, pads)

    def get_config(self) -> Config:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


@register
class Cropping3D(_Cropping):
    """Removes planes from the borders of the three spatial axes.

    Args:
        cropping: int (all sides), ``(d, h, w)`` (symmetric per axis) or
            ``((front, back), (top, bottom), (left, right))``.
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np
    >>> from thawnet.layers import Cropping3D
    >>> Cropping3D(((1, 1), (0, 1), (2, 0)))(np.ones((1, 4, 4, 4, 2))).shape
    (1, 2, 3, 2, 2)
    """

    def __init__(self, cropping: IntOrTuple = ((1, 1), (1, 1), (1, 1)),
                 data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs_3d(self._who(), "cropping", cropping)
        self.cropping_pairs = self.cropping
        self.data_format = _data_format(self._who(), data_format)
        self.input_spec = InputSpec(ndim=5)

    def rank_hint(self, expected_rank: int) -> str:
        return "Cropping3D takes volumes (batch, depth, height, width, channels)."

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        self._check(input_shape)
        out = list(input_shape)
        for axis, (a, b) in zip(self._spatial_axes(3), self.cropping):
            out[axis] = None if out[axis] is None else out[axis] - a - b
        return tuple(out)

    def get_config(self) -> Config:
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}


@register
class UpSampling3D(_Reshaping):
    """Repeats each voxel ``size = (d, h, w)`` times along the three spatial axes.

    Args:
        size: int or ``(d, h, w)`` positive factors (default ``(2, 2, 2)``).
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np
    >>> from thawnet.layers import UpSampling3D
    >>> UpSampling3D((1, 2, 3))(np.ones((1, 2, 2, 2, 1))).shape
    (1, 2, 4, 6, 1)
    """

    def __init__(self, size: IntOrTuple = (2, 2, 2), data_format: str | None = None, **kwargs
            ) -> None:
        super().__init__(**kwargs)
        self.size = _int_tuple(self._who(), "size", size, 3)
        self.data_format = _data_format(self._who(), data_format)
        self.input_spec = InputSpec(ndim=5)

    def rank_hint(self, expected_rank: int) -> str:
        return "UpSampling3D takes volumes (batch, depth, height, width, channels)."

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        out = list(input_shape)
        for axis, factor in zip(self._spatial_axes(3), self.size):
            out[axis] = None if out[axis] is None else out[axis] * factor
        return tuple(out)

    def call(self, inputs: TensorTree) -> TensorTree:
        out = inputs
        for axis, factor in zip(self._spatial_axes(3), self.size):
            out = jnp.repeat(out, factor, axis=axis)
        return out

    def get_config(self) -> Config:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


__all__ = ["ZeroPadding3D", "Cropping3D", "UpSampling3D"]
