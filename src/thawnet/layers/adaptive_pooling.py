"""Adaptive pooling: average or max pooling to a fixed output size, 1-D to 3-D.

Along a spatial axis of length ``L`` pooled to ``n`` outputs, output ``i`` reduces the inputs
``floor(i * L / n) <= j < ceil((i + 1) * L / n)`` (PyTorch's and Keras 3's bins; neighbouring
bins may overlap by one when ``n`` does not divide ``L``). Each bin of the full output is the
product of one bin per axis, so the reduction is done one axis at a time.
"""

from __future__ import annotations

import jax.numpy as jnp

from thawnet.backend.types import Config, IntOrTuple, ShapeLike, TensorTree
from thawnet.layers import _conv_utils as cu
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register


def adaptive_bins(length: int, size: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` of the ``size`` bins that cover ``range(length)``.

    >>> adaptive_bins(5, 3)
    [(0, 2), (1, 4), (3, 5)]
    """
    # Integer ceiling: -(-a // b).
    return [((i * length) // size, -(-(i + 1) * length // size)) for i in range(size)]


def _reduce_axis(x, axis, size, mode):
    reduce = jnp.max if mode == "max" else jnp.mean
    parts = [reduce(x[(slice(None),) * axis + (slice(a, b),)], axis=axis, keepdims=True)
             for a, b in adaptive_bins(x.shape[axis], size)]
    return jnp.concatenate(parts, axis=axis)


class _AdaptivePooling(Layer):
    """Shared machinery: ``rank`` spatial axes pooled to ``output_size`` with ``mode``."""

    rank = None
    mode = None
    _size_names = {1: "(length,)", 2: "(height, width)", 3: "(depth, height, width)"}

    def __init__(self, output_size: IntOrTuple, data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        self.output_size = self._check_output_size(who, output_size)
        self.data_format = cu.data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _check_output_size(self, who, value):
        is_int = cu._is_int
        sizes = (value,) * self.rank if is_int(value) else value
        if not isinstance(sizes, (list, tuple)) or len(sizes) != self.rank or not all(
                is_int(v) for v in sizes):
            raise ArgumentTypeError(
                f"{who}: output_size must be an int or a tuple of {self.rank} ints "
                f"{self._size_names[self.rank]}; received output_size={value!r}.")
        if any(v <= 0 for v in sizes):
            raise ValueError(f"{who}: output_size must be positive; received "
                             f"output_size={value!r}.")
        return tuple(int(v) for v in sizes)

    def rank_hint(self, expected_rank: int) -> str:
        return cu.rank_hint(type(self).__name__, self.data_format, self.rank)

    def build(self, input_shape: ShapeLike) -> None:
        axes = cu.spatial_axes(self.data_format, self.rank)
        unknown = [a for a in axes if input_shape[a] is None]
        if unknown:
            raise ValueError(
                f'{type(self).__name__} "{self.name}" needs known spatial sizes to place its '
                f"bins; axis {unknown[0]} of shape {tuple(input_shape)} is unknown. Give the "
                "sizes in Input(shape=...).")

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        out = list(input_shape)
        for axis, size in zip(cu.spatial_axes(self.data_format, self.rank), self.output_size):
            out[axis] = size
        return tuple(out)

    def output_dtype(self, inputs: TensorTree) -> str:
        return inputs.dtype if self.mode == "max" else self.compute_dtype

    def call(self, inputs: TensorTree) -> TensorTree:
        x = inputs
        if self.mode == "average" and not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(self.compute_dtype)
        for axis, size in zip(cu.spatial_axes(self.data_format, self.rank), self.output_size):
            x = _reduce_axis(x, axis, size, self.mode)
        return x

    def get_config(self) -> Config:
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


_ARGS = """
    Args:
        output_size: int (the same on every spatial axis) or one int per spatial axis.
        data_format: "channels_last" (default, ``(batch, *spatial, channels)``) or
            "channels_first".
"""


@register
class AdaptiveAveragePooling1D(_AdaptivePooling):
    __doc__ = """Mean over adaptive bins of the steps axis, to ``output_size`` steps.
    """ + _ARGS + """
    >>> import numpy as np
    >>> from thawnet.layers import AdaptiveAveragePooling1D
    >>> AdaptiveAveragePooling1D(2)(np.arange(4.0).reshape(1, 4, 1))[0, :, 0].tolist()
    [0.5, 2.5]
    """
    rank, mode = 1, "average"


@register
class AdaptiveAveragePooling2D(_AdaptivePooling):
    __doc__ = """Mean over adaptive bins of the height and width axes.
    """ + _ARGS + """
    >>> import numpy as np
    >>> from thawnet.layers import AdaptiveAveragePooling2D
    >>> AdaptiveAveragePooling2D((2, 3))(np.ones((1, 5, 7, 2))).shape
    (1, 2, 3, 2)
    """
    rank, mode = 2, "average"


@register
class AdaptiveAveragePooling3D(_AdaptivePooling):
    __doc__ = """Mean over adaptive bins of the three spatial axes.
    """ + _ARGS + """
    >>> import numpy as np
    >>> from thawnet.layers import AdaptiveAveragePooling3D
    >>> AdaptiveAveragePooling3D(2)(np.ones((1, 3, 4, 5, 2))).shape
    (1, 2, 2, 2, 2)
    """
    rank, mode = 3, "average"


@register
class AdaptiveMaxPooling1D(_AdaptivePooling):
    __doc__ = """Maximum over adaptive bins of the steps axis, to ``output_size`` steps.
    """ + _ARGS + """
    >>> import numpy as np
    >>> from thawnet.layers import AdaptiveMaxPooling1D
    >>> AdaptiveMaxPooling1D(2)(np.arange(5.0).reshape(1, 5, 1))[0, :, 0].tolist()
    [2.0, 4.0]
    """
    rank, mode = 1, "max"


@register
class AdaptiveMaxPooling2D(_AdaptivePooling):
    __doc__ = """Maximum over adaptive bins of the height and width axes.
    """ + _ARGS + """
    >>> import numpy as np
    >>> from thawnet.layers import AdaptiveMaxPooling2D
    >>> AdaptiveMaxPooling2D(3)(np.ones((1, 8, 8, 2))).shape
    (1, 3, 3, 2)
    """
    rank, mode = 2, "max"


@register
class AdaptiveMaxPooling3D(_AdaptivePooling):
    __doc__ = """Maximum over adaptive bins of the three spatial axes.
    """ + _ARGS + """
    >>> import numpy as np
    >>> from thawnet.layers import AdaptiveMaxPooling3D
    >>> AdaptiveMaxPooling3D((1, 2, 2))(np.ones((1, 3, 4, 4, 2))).shape
    (1, 1, 2, 2, 2)
    """
    rank, mode = 3, "max"


__all__ = ["AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"]
