"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, ZeroPadding1D/2D, Cropping1D/2D,
UpSampling1D/2D. None has weights; all are pure index arithmetic on the inputs.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp

from thawnet.backend.types import Array, Config, IntOrTuple, ShapeLike, TensorTree
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.input_spec import InputSpec
from thawnet.layers._reshaping_args import _data_format, _int_pair, _is_int, _pairs_2d
from thawnet.layers.layer import Layer, register

_INTERPOLATIONS = {"nearest": None, "bilinear": "linear", "bicubic": "cubic",
                   "lanczos3": "lanczos3", "lanczos5": "lanczos5"}


class _Reshaping(Layer):
    def _who(self):
        return f'{type(self).__name__} "{self.name}"'

    def _spatial_axes(self, rank):
        """Positions of the spatial axes for this layer's data_format."""
        first = 2 if getattr(self, "data_format", "channels_last") == "channels_first" else 1
        return list(range(first, first + rank))


@register
class Flatten(_Reshaping):
    """Flattens each sample to a vector: ``(batch, d1, d2, ...)`` -> ``(batch, d1*d2*...)``.

    Args:
        data_format: "channels_last" (default) or "channels_first"; with channels_first the
            channels axis is moved last before flattening, so the order matches channels_last.

    >>> import numpy as np
    >>> from thawnet.layers import Flatten
    >>> Flatten()(np.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.data_format = _data_format(self._who(), data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs: TensorTree) -> Array:
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = jnp.moveaxis(inputs, 1, -1)
        return jnp.reshape(inputs, (inputs.shape[0], -1))

    def get_config(self) -> Config:
        return {**super().get_config(), "data_format": self.data_format}


@register
class Reshape(_Reshaping):
    """Reshapes each sample to ``target_shape`` (the batch axis is kept).

    Args:
        target_shape: tuple of positive ints, with at most one -1 for a size inferred from the
            others.

    >>> import numpy as np
    >>> from thawnet.layers import Reshape
    >>> Reshape((3, -1))(np.zeros((2, 12))).shape
    (2, 3, 4)
    """

    def __init__(self, target_shape: ShapeLike, **kwargs) -> None:
        super().__init__(**kwargs)
        if _is_int(target_shape):
            target_shape = (target_shape,)
        ok = isinstance(target_shape, (list, tuple)) and all(
            _is_int(d) and (d > 0 or d == -1) for d in target_shape)
        if not ok or list(target_shape).count(-1) > 1:
            raise ValueError(f"{self._who()}: target_shape must be a tuple of positive ints "
                             f"with at most one -1 (inferred size); received "
                             f"target_shape={target_shape!r}.")
        self.target_shape = tuple(target_shape)

    def _check(self, input_shape):
        sample = tuple(input_shape)[1:]
        if any(d is None for d in sample):
            return
        size, known = math.prod(sample), math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if known and size % known == 0:
                return
            raise ValueError(
                f"{self._who()} cannot reshape inputs of shape {tuple(input_shape)} ({size} "
                f"values per sample) to target_shape {self.target_shape}: {size} is not a "
                f"multiple of {known}, the product of the known sizes. Choose sizes whose "
                f"product divides {size}.")
        if size != known:
            raise ValueError(
                f"{self._who()} cannot reshape inputs of shape {tuple(input_shape)} ({size} "
                f"values per sample) to target_shape {self.target_shape} ({known} values). The "
                f"sizes must multiply to {size}; use -1 for one of them to have it inferred.")

    def build(self, input_shape: ShapeLike) -> None:
        self._check(input_shape)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        """The target shape after the batch axis; the -1 size is None while an input size is
        unknown (``Input(shape=(None, 3))``), as in Keras."""
        input_shape = tuple(input_shape)
        self._check(input_shape)
        sample = input_shape[1:]
        inferred = None
        if not any(d is None for d in sample):
            known = math.prod(d for d in self.target_shape if d != -1)
            inferred = math.prod(sample) // known
        return (input_shape[0],) + tuple(inferred if d == -1 else d for d in self.target_shape)

    def call(self, inputs: TensorTree) -> Array:
        self._check(inputs.shape)
        return jnp.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def get_config(self) -> Config:
        return {**super().get_config(), "target_shape": self.target_shape}


@register
class Permute(_Reshaping):
    """Permutes the non-batch axes; ``dims`` is 1-based (``(2, 1)`` swaps the two axes).

    Args:
        dims: a permutation of ``1..rank-1``.

    >>> import numpy as np
    >>> from thawnet.layers import Permute
    >>> Permute((2, 1))(np.zeros((2, 3, 4))).shape
    (2, 4, 3)
    """

    def __init__(self, dims: Sequence[int], **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(dims, (list, tuple)) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"{self._who()}: dims must be a permutation of 1..n (1-based, the "
                             f"batch axis 0 is never moved); received dims={dims!r}.")
        self.dims = tuple(dims)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def rank_hint(self, expected_rank: int) -> str:
        return (f"dims={self.dims} permutes {len(self.dims)} axes, so inputs need "
                f"{len(self.dims)} axes besides the batch; give one index per non-batch axis.")

    def call(self, inputs: TensorTree) -> Array:
        return jnp.transpose(inputs, (0,) + self.dims)

    def get_config(self) -> Config:
        return {**super().get_config(), "dims": self.dims}


@register
class RepeatVector(_Reshaping):
    """Repeats a vector ``n`` times: ``(batch, features)`` -> ``(batch, n, features)``.

    >>> import numpy as np
    >>> from thawnet.layers import RepeatVector
    >>> RepeatVector(3)(np.zeros((2, 4))).shape
    (2, 3, 4)
    """

    def __init__(self, n: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if not _is_int(n):
            raise ArgumentTypeError(f"{self._who()}: n must be a positive integer (an int); "
                                    f"received n={n!r} of type {type(n).__name__}.")
        if n <= 0:
            raise ValueError(f"{self._who()}: n must be a positive integer; received n={n!r}.")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def rank_hint(self, expected_rank: int) -> str:
        return "RepeatVector takes (batch, features); Flatten or Reshape the input first."

    def call(self, inputs: TensorTree) -> Array:
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def get_config(self) -> Config:
        return {**super().get_config(), "n": self.n}


@register
class ZeroPadding1D(_Reshaping):
    """Pads the steps axis of ``(batch, steps, channels)`` with zeros.

    Args:
        padding: int (both sides) or ``(left, right)``.
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np
    >>> from thawnet.layers import ZeroPadding1D
    >>> ZeroPadding1D((1, 2))(np.ones((2, 5, 3))).shape
    (2, 8, 3)
    """

    def __init__(self, padding: int = 1, data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.padding = _int_pair(self._who(), "padding", padding)
        self.data_format = _data_format(self._who(), data_format)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: TensorTree) -> Array:
        pads = [(0, 0)] * 3
        pads[self._spatial_axes(1)[0]] = self.padding
        return jnp.pad(inputs, pads)

    def get_config(self) -> Config:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


@register
class ZeroPadding2D(_Reshaping):
    """Pads the rows and columns of images with zeros.

    Args:
        padding: int, ``(h, w)`` (symmetric) or ``((top, bottom), (left, right))``.
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np
    >>> from thawnet.layers import ZeroPadding2D
    >>> ZeroPadding2D(((1, 0), (2, 2)))(np.ones((2, 4, 4, 3))).shape
    (2, 5, 8, 3)
    """

    def __init__(self, padding: str = (1, 1), data_format: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.padding = _pairs_2d(self._who(), "padding", padding)
        self.data_format = _data_format(self._who(), data_format)
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: TensorTree) -> Array:
        pads = [(0, 0)] * 4
        for axis, pair in zip(self._spatial_axes(2), self.padding):
            pads[axis] = pair
        return jnp.pad(inputs, pads)

    def get_config(self) -> Config:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class _Cropping(_Reshaping):
    def _check(self, input_shape):
        shape = tuple(input_shape)
        for axis, (a, b) in zip(self._spatial_axes(len(self.cropping_pairs)),
                                self.cropping_pairs):
            if shape[axis] is not None and a + b >= shape[axis]:
                raise ValueError(
                    f"{self._who()} crops {a}+{b} from axis {axis}, which has size "
                    f"{shape[axis]} (received shape {shape}); at least one element must "
                    "remain. Reduce the cropping or crop a larger input.")

    def build(self, input_shape: ShapeLike) -> None:
        self._check(input_shape)

    def call(self, inputs: TensorTree) -> TensorTree:
        self._check(inputs.shape)
        index = [slice(None)] * inputs.ndim
        for axis, (a, b) in zip(self._spatial_axes(len(self.cropping_pairs)),
                                self.cropping_pairs):
            index[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(index)]


@register
class Cropping1D(_Cropping):
    """Removes steps from both ends of ``(batch, steps, channels)``.

    Args:
        cropping: int (both ends) or ``(start, end)``.

    >>> import numpy as np
    >>> from thawnet.layers import Cropping1D
    >>> Cropping1D((1, 2))(np.ones((2, 6, 3))).shape
    (2, 3, 3)
    """

    def __init__(self, cropping: IntOrTuple = (1, 1), **kwargs) -> None:
        super().__init__(**kwargs)
        self.cropping = _int_pair(self._who(), "cropping", cropping)
        self.cropping_pairs = (self.cropping,)
        self.input_spec = InputSpec(ndim=3)

    def get_config(self) -> Config:
        return {**super().get_config(), "cropping": self.cropping}


@register
class Cropping2D(_Cropping):
    """Removes rows and columns from the borders of images.

    Args:
        cropping: int, ``(h, w)`` (symmetric) or ``((top, bottom), (left, right))``.
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np
    >>> from thawnet.layers import Cropping2D
    >>> Cropping2D(((1, 1), (0, 2)))(np.ones((2, 5, 6, 3))).shape
    (2, 3, 4, 3)
    """

    def __init__(self, cropping: IntOrTuple = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs_2d(self._who(), "cropping", cropping)
        self.cropping_pairs = self.cropping
        self.data_format = _data_format(self._who(), data_format)
        self.input_spec = InputSpec(ndim=4)

    def get_config(self) -> Config:
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}


@register
class UpSampling1D(_Reshaping):
    """Repeats each step ``size`` times: ``(batch, steps, c)`` -> ``(batch, steps*size, c)``.

    >>> import numpy as np
    >>> from thawnet.layers import UpSampling1D
    >>> UpSampling1D(2)(np.array([[[1.], [2.]]]))[0, :, 0].tolist()
    [1.0, 1.0, 2.0, 2.0]
    """

    def __init__(self, size: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        if not _is_int(size):
            raise ArgumentTypeError(f"{self._who()}: size must be a positive integer (an int); "
                                    f"received size={size!r} of type {type(size).__name__}.")
        if size <= 0:
            raise ValueError(f"{self._who()}: size must be a positive integer; received "
                             f"size={size!r}.")
        self.size = size
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: TensorTree) -> Array:
        return jnp.repeat(inputs, self.size, axis=1)

    def get_config(self) -> Config:
        return {**super().get_config(), "size": self.size}


@register
class UpSampling2D(_Reshaping):
    """Enlarges images by ``size`` = (rows factor, columns factor).

    Args:
        size: int or ``(h, w)`` positive factors.
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (repeat pixels, default), "bilinear", "bicubic", "lanczos3"
            or "lanczos5" (``jax.image.resize`` without antialiasing, as Keras on JAX).

    >>> import numpy as np
    >>> from thawnet.layers import UpSampling2D
    >>> UpSampling2D((2, 3), interpolation="bilinear")(np.ones((1, 4, 4, 2))).shape
    (1, 8, 12, 2)
    """

    def __init__(self, size: IntOrTuple = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs) -> None:
        super().__init__(**kwargs)
        self.size = _int_pair(self._who(), "size", size, allow_zero=False)
        self.data_format = _data_format(self._who(), data_format)
        interpolation = str(interpolation).lower()
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{self._who()}: interpolation must be one of "
                             f"{sorted(_INTERPOLATIONS)}; received "
                             f"interpolation={interpolation!r}.")
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: TensorTree) -> Array:
        h_axis, w_axis = self._spatial_axes(2)
        if self.interpolation == "nearest":
            out = jnp.repeat(inputs, self.size[0], axis=h_axis)
            return jnp.repeat(out, self.size[1], axis=w_axis)
        shape = list(inputs.shape)
        shape[h_axis] *= self.size[0]
        shape[w_axis] *= self.size[1]
        return jax.image.resize(inputs, tuple(shape), method=_INTERPOLATIONS[self.interpolation],
                                antialias=False)

    def get_config(self) -> Config:
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


__all__ = ["Flatten", "Reshape", "Permute", "RepeatVector", "ZeroPadding1D", "ZeroPadding2D",
           "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D"]
