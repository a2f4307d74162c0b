"""Preprocessing layers: Normalization (with ``adapt``) and Rescaling."""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

import jax.numpy as jnp
import numpy as np

from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register
from thawnet.variables import STATISTIC
from thawnet.backend import global_config
from thawnet.backend.types import Axis, Config, ShapeLike, TensorLike, TensorTree
from thawnet.variables import Variable

# Lower bound on the standard deviation Normalization divides by (Keras's backend epsilon).
_STD_FLOOR = 1e-7


@register
class Normalization(Layer):
    """Feature-wise standardisation: ``(x - mean) / sqrt(variance)``.

    ``mean`` and ``variance`` are either given as constants or learnt from data with
    :meth:`adapt`, separately for each position along ``axis`` (all other axes are reduced).
    The divisor is ``max(sqrt(variance), 1e-7)``, as in Keras.

    Weights: without constants the layer has three statistics (never trained), in Keras's
    order: ``mean`` and ``variance`` (the shape of the kept axes) and ``count`` (a scalar int,
    the number of values each statistic was computed from). With constant ``mean`` and
    ``variance`` it has no weights at all, like Keras.

    Args:
        axis: int, tuple of ints or None: the axes kept (one statistic per position). None
            computes a single scalar mean and variance.
        mean, variance: optional constants (scalars or arrays broadcastable to the kept axes);
            pass both or neither.
        invert: apply the inverse transform, ``x * sqrt(variance) + mean``.

    >>> import numpy as np
    >>> from thawnet.layers import Normalization
    >>> norm = Normalization()
    >>> norm.adapt(np.array([[0.0, 10.0], [2.0, 30.0]], "float32"))
    >>> np.asarray(norm(np.array([[1.0, 20.0]], "float32"))).tolist()
    [[0.0, 0.0]]
    """

    supports_masking = True  # keeps the time axis: the mask passes through (Keras)

    def __init__(self, axis: Axis = -1, mean: TensorLike | None = None,
                 variance: TensorLike | None = None, invert: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'Normalization "{self.name}"'
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (list, tuple)) and all(
                isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise ValueError(f"{who}: axis must be an int, a tuple of ints or None; received "
                             f"axis={axis!r}.")
        if (mean is None) != (variance is None):
            raise ValueError(f"{who}: pass both mean and variance, or neither (and call "
                             f"adapt()); received mean={mean!r}, variance={variance!r}.")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"{who}: mean and variance must have the same shape; received "
                                 f"shapes {np.shape(mean)} and {np.shape(variance)}.")
            if np.ndim(mean) > len(axis):
                raise ValueError(f"{who}: mean has rank {np.ndim(mean)}, more than the number "
                                 f"of kept axes ({len(axis)}, axis={axis}).")
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.adapt_mean = self.adapt_variance = self.count = None

    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        who = f'Normalization "{self.name}"'
        if any(not -rank <= a < rank for a in self.axis):
            raise ValueError(f"{who}: axis={self.axis} is out of range for inputs of rank "
                             f"{rank} (shape {input_shape}).")
        keep = tuple(sorted({a % rank for a in self.axis}))
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(f"{who}: the kept axes must have known sizes; axis {d} of "
                                 f"shape {input_shape} is None.")
        self._build_shape = input_shape
        self._keep = keep
        self._reduce = tuple(d for d in range(rank) if d not in keep)
        self._bshape = tuple(input_shape[d] if d in keep else 1 for d in range(rank))
        stat_shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", stat_shape, "zeros", role=STATISTIC)
            self.adapt_variance = self.add_weight("variance", stat_shape, "ones",
                                                  role=STATISTIC)
            self.count = self.add_weight("count", (), "zeros", dtype="int32", role=STATISTIC)
        else:
            self._const_mean = self._broadcast_constant(self.input_mean)
            self._const_variance = self._broadcast_constant(self.input_variance)
        self.input_spec = InputSpec(min_ndim=rank,
                                    axes={d - rank: input_shape[d] for d in keep})

    def _broadcast_constant(self, value):
        arr = np.asarray(value, dtype=self.dtype)
        if arr.ndim:
            expanded = [1] * len(self._bshape)
            for i in range(1, arr.ndim + 1):
                expanded[self._keep[-i]] = arr.shape[-i]
            arr = arr.reshape(expanded)
        return np.broadcast_to(arr, self._bshape).copy()

    def axis_hint(self, axis: Axis) -> str:
        return ("The statistics were computed for inputs of another size on this axis; adapt "
                "the layer on data shaped like its inputs.")

    # -- adapt -------------------------------------------------------------------------------
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Compute ``mean``, ``variance`` and ``count`` from data (replacing earlier values).

        Args:
            data: a NumPy array (or anything ``np.asarray`` accepts), or an iterable of
                batches (arrays, or ``(x, y)`` tuples whose first element is used).
            batch_size: for array data, process it in chunks of this many samples.
            steps: process at most this many batches.

        Statistics are accumulated batch by batch in float64 and merged with the parallel
        variance formula (Chan et al.), so the result equals the statistics of all the data
        at once without holding it in memory. Works before or after the layer is built.
        """
        who = f'Normalization "{self.name}"'
        if self.input_mean is not None:
            raise ValueError(f"{who} was given constant mean and variance; it cannot be "
                             "adapted. Create it without mean/variance to use adapt().")
        if steps is not None and (not isinstance(steps, int) or steps <= 0):
            raise ValueError(f"{who}: steps must be a positive integer or None; received "
                             f"steps={steps!r}.")
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"{who}: batch_size must be a positive integer or None; received "
                             f"batch_size={batch_size!r}.")
        batches = self._batches(data, batch_size)
        if steps is not None:
            batches = itertools.islice(batches, steps)
        n, mean, m2 = 0, None, None
        for batch in batches:
            if batch.ndim == 0:  # Keras: a TypeError (a batch without a `.shape`)
                raise ArgumentTypeError(f"{who}.adapt needs batched data with a batch axis "
                                        "(arrays with a `.shape`); received a scalar. Give "
                                        "arrays of shape (batch, ...).")
            if not self.built:
                self._maybe_build(self._shape_for_build(batch.shape))
            self._check_batch(batch.shape)
            b_n = math.prod(batch.shape[d] for d in self._reduce)
            if b_n == 0:
                continue
            b_mean = batch.mean(axis=self._reduce)
            b_m2 = ((batch - batch.mean(axis=self._reduce, keepdims=True)) ** 2).sum(
                axis=self._reduce)
            if n == 0:
                n, mean, m2 = b_n, b_mean, b_m2
            else:
                total = n + b_n
                delta = b_mean - mean
                mean = mean + delta * (b_n / total)
                m2 = m2 + b_m2 + delta ** 2 * (n * b_n / total)
                n = total
        if n == 0:
            raise ValueError(f"{who}.adapt received no data (an empty array or iterable). "
                             "Pass at least one sample.")
        self.adapt_mean.assign(jnp.asarray(mean, self.dtype))
        self.adapt_variance.assign(jnp.asarray(m2 / n, self.dtype))
        self.count.assign(jnp.asarray(n, jnp.int32))

    def _batches(self, data, batch_size):
        if isinstance(data, (list, tuple)) and data and all(
                isinstance(b, numbers.Number) for b in data):
            data = np.asarray(data)
        if hasattr(data, "shape") and hasattr(data, "dtype"):
            arr = np.asarray(data, dtype=np.float64)
            if batch_size is None or arr.ndim == 0:
                yield arr
            else:
                for start in range(0, arr.shape[0], batch_size):
                    yield arr[start:start + batch_size]
            return
        if not hasattr(data, "__iter__"):
            raise TypeError(f'Normalization "{self.name}".adapt expects a NumPy array or an '
                            f"iterable of batches; received {type(data).__name__}.")
        for batch in data:
            if isinstance(batch, (tuple, list)) and batch and hasattr(batch[0], "shape"):
                batch = batch[0]
            yield np.asarray(batch, dtype=np.float64)

    def _shape_for_build(self, shape):
        rank = len(shape)
        keep = {a % rank for a in self.axis if -rank <= a < rank}
        return tuple(s if d in keep else (None if d == 0 else s) for d, s in enumerate(shape))

    def _check_batch(self, shape):
        built = self._build_shape
        if len(shape) != len(built) or any(shape[d] != built[d] for d in self._keep):
            raise ValueError(
                f'Normalization "{self.name}" was built for inputs of shape {built} (kept axes '
                f"{self._keep}); adapt received a batch of shape {tuple(shape)}.")

    @property
    def mean(self) -> Variable | None:
        """The mean broadcast against inputs (adapted or given), or None before build."""
        if not self.built:
            return None
        if self.input_mean is None:
            return self.adapt_mean.value.reshape(self._bshape).astype(self.compute_dtype)
        return self._const_mean

    @property
    def variance(self) -> Variable | None:
        if not self.built:
            return None
        if self.input_mean is None:
            return self.adapt_variance.value.reshape(self._bshape).astype(self.compute_dtype)
        return self._const_variance

    # -- call --------------------------------------------------------------------------------
    def call(self, inputs: TensorTree) -> TensorTree:
        x = inputs.astype(self.compute_dtype) if inputs.dtype != self.compute_dtype else inputs
        if self.input_mean is None:
            mean = self.adapt_mean.value.reshape(self._bshape)
            variance = self.adapt_variance.value.reshape(self._bshape)
        else:
            # Given constants, in the compute dtype as Keras holds them (mixed policies).
            mean = self._const_mean.astype(x.dtype)
            variance = self._const_variance.astype(x.dtype)
        std = jnp.maximum(jnp.sqrt(variance), _STD_FLOOR)
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def get_config(self) -> Config:
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": _to_config(self.input_mean), "variance": _to_config(self.input_variance)}


def _to_config(value):
    if value is None:
        return None
    return np.asarray(value).tolist()


@register
class Rescaling(Layer):
    """Multiply by ``scale`` and add ``offset``: ``x * scale + offset`` (e.g. pixels to [0, 1]).

    Inputs of any dtype are cast to the layer's dtype (float32) first. The layer has no
    weights.

    Args:
        scale: float or array broadcastable to the inputs.
        offset: float or array broadcastable to the inputs (default 0).

    >>> import numpy as np
    >>> from thawnet.layers import Rescaling
    >>> np.asarray(Rescaling(1 / 127.5, offset=-1.0)(np.array([[0, 255]], "uint8"))).tolist()
    [[-1.0, 1.0]]
    """

    supports_masking = True  # keeps the time axis: the mask passes through (Keras)

    def __init__(self, scale: float, offset: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        for arg, value in (("scale", scale), ("offset", offset)):
            try:
                arr = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                arr = None
            if arr is None or not np.all(np.isfinite(arr)):
                raise ValueError(f'Rescaling "{self.name}": {arg} must be a finite number or '
                                 f"array of numbers; received {arg}={value!r}.")
        self.scale = scale
        self.offset = offset

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def call(self, inputs: TensorTree) -> TensorTree:
        x = inputs.astype(self.compute_dtype)
        scale = jnp.asarray(self.scale, self.compute_dtype)
        if scale.ndim and global_config.image_data_format() == "channels_first":
            # A per-channel scale of channels-first images: channels are axis 1, not -1.
            scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        offset = jnp.asarray(self.offset, self.compute_dtype)
        return x * scale + offset

    def get_config(self) -> Config:
        return {**super().get_config(), "scale": _plain(self.scale),
                "offset": _plain(self.offset)}


def _plain(value):
    arr = np.asarray(value)
    return float(arr) if arr.ndim == 0 else arr.tolist()


__all__ = ["Normalization", "Rescaling"]
