"""Math ops of Keras 3 (``keras.ops.math``): top-k, segments, logsumexp, FFTs, ...

FFT ops take and return ``(real, imag)`` pairs of float tensors, as in Keras.
"""

from __future__ import annotations

import math as pymath

import jax
import jax.numpy as jnp

from thawnet.ops.dispatch import _axis, op
from thawnet.backend.types import Array, Axis, TensorLike


def _segment(jax_fn, name, what):
    def fn(data: TensorLike, segment_ids: TensorLike, num_segments: int | None = None,
           sorted: bool = False) -> Array:  # noqa: A002
        if num_segments is None:
            # Static output shape: known here only from concrete ids (not under jit).
            num_segments = int(jnp.max(segment_ids)) + 1
        return jax_fn(data, segment_ids, num_segments, indices_are_sorted=sorted)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"The {what} of ``data``'s rows per segment id.\n\n    Args:\n"
                  "        data: a tensor; its leading axis is segmented.\n"
                  "        segment_ids: int ids, one per row.\n"
                  "        num_segments: number of segments (required under jit; default "
                  "``max(segment_ids) + 1``).\n        sorted: whether ids are sorted.\n\n"
                  "    Returns:\n        A tensor with ``num_segments`` rows.\n    ")
    return op(fn)


segment_sum = _segment(jax.ops.segment_sum, "segment_sum", "sum")
segment_max = _segment(jax.ops.segment_max, "segment_max", "maximum")
segment_min = _segment(jax.ops.segment_min, "segment_min", "minimum")
segment_prod = _segment(jax.ops.segment_prod, "segment_prod", "product")


@op
def top_k(x: TensorLike, k: int, sorted: bool = True) -> Array:  # noqa: A002
    """The ``k`` largest entries along the last axis and their indices.

    Args:
        x: a tensor.
        k: how many.
        sorted: results in descending order (always, in JAX).

    Returns:
        ``(values, indices)``.
    """
    return jax.lax.top_k(x, k)


@op
def in_top_k(targets: TensorLike, predictions: TensorLike, k: int) -> Array:
    """Whether each target class is among the ``k`` highest predictions of its row.

    Args:
        targets: ``(batch,)`` int class ids.
        predictions: ``(batch, classes)`` scores.
        k: how many top entries count.

    Returns:
        ``(batch,)`` bool tensor.
    """
    predictions = jnp.asarray(predictions)
    at_target = jnp.take_along_axis(predictions, jnp.asarray(targets)[:, None], axis=-1)
    at_target = jnp.where(jnp.isnan(at_target), -jnp.inf, at_target)  # NaN is not "high"
    rank = 1 + jnp.sum(predictions > at_target, axis=-1)
    return rank <= k


@op
def logsumexp(x: TensorLike, axis: Axis = None, keepdims: bool = False) -> Array:
    """``log(sum(exp(x)))`` over ``axis``, computed stably.

    Args:
        x: a tensor.
        axis: int, tuple or None.
        keepdims: keep reduced axes.

    Returns:
        A tensor.
    """
    return jax.scipy.special.logsumexp(x, axis=_axis(axis), keepdims=keepdims)


@op
def cdist(x: TensorLike, y: TensorLike) -> Array:
    """Euclidean distances between the rows of ``x`` and of ``y`` (batched).

    Args:
        x: ``(..., n, d)``.
        y: ``(..., m, d)``.

    Returns:
        ``(..., n, m)``.
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError("ops.cdist: inputs must have rank >= 2 and the same last dimension; "
                         f"received shapes {x.shape} and {y.shape}.")
    diff = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sqrt(jnp.sum(diff * diff, axis=-1))


@op
def extract_sequences(x: TensorLike, sequence_length: int, sequence_stride: int) -> Array:
    """Frames of ``sequence_length`` samples every ``sequence_stride`` along the last axis.

    Args:
        x: ``(..., signal_length)``.
        sequence_length: frame length.
        sequence_stride: hop between frames.

    Returns:
        ``(..., num_frames, sequence_length)``.
    """
    x = jnp.asarray(x)
    *batch, n = x.shape
    starts = jnp.arange(0, n - sequence_length + 1, sequence_stride)
    frames = x.reshape(pymath.prod(batch), n)[:, starts[:, None] + jnp.arange(sequence_length)]
    return frames.reshape((*batch, *frames.shape[-2:]))


def _complex(x, who):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"ops.{who}: x must be a (real, imag) pair of float tensors; "
                         f"received {type(x).__name__}.")
    real, imag = jnp.asarray(x[0]), jnp.asarray(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"ops.{who}: real and imaginary parts must have the same shape; "
                         f"received {real.shape} and {imag.shape}.")
    return jax.lax.complex(real, imag)


def _pair(z):
    return jnp.real(z), jnp.imag(z)


@op
def fft(x: TensorLike) -> Array:
    """FFT along the last axis.

    Args:
        x: ``(real, imag)``.

    Returns:
        ``(real, imag)``.
    """
    return _pair(jnp.fft.fft(_complex(x, "fft")))


@op
def fft2(x: TensorLike) -> Array:
    """2-D FFT over the last two axes.

    Args:
        x: ``(real, imag)``.

    Returns:
        ``(real, imag)``.
    """
    return _pair(jnp.fft.fft2(_complex(x, "fft2")))


@op
def ifft2(x: TensorLike) -> Array:
    """Inverse 2-D FFT over the last two axes.

    Args:
        x: ``(real, imag)``.

    Returns:
        ``(real, imag)``.
    """
    return _pair(jnp.fft.ifft2(_complex(x, "ifft2")))


@op
def rfft(x: TensorLike, fft_length: int | None = None) -> tuple[Array, Array]:
    """FFT of a real signal along the last axis (non-negative frequencies).

    Args:
        x: a float tensor.
        fft_length: FFT size (default: the signal length).

    Returns:
        ``(real, imag)``.
    """
    return _pair(jnp.fft.rfft(x, n=fft_length, axis=-1))


@op
def irfft(x: TensorLike | tuple[TensorLike, TensorLike], fft_length: int | None = None) -> Array:
    """Inverse of :func:`rfft`.

    Args:
        x: ``(real, imag)``.
        fft_length: output length (default ``2 * (bins - 1)``).

    Returns:
        A float tensor.
    """
    return jnp.fft.irfft(_complex(x, "irfft"), n=fft_length, axis=-1)


def _window_of(window, sequence_length, dtype):
    if window is None:
        return jnp.ones((sequence_length,), dtype)
    if isinstance(window, str):
        # Periodic windows, as scipy.signal.get_window gives them for spectral analysis.
        n = jnp.arange(sequence_length, dtype=dtype)
        phase = 2 * jnp.pi * n / sequence_length
        if window == "hann":
            return 0.5 - 0.5 * jnp.cos(phase)
        if window == "hamming":
            return 0.54 - 0.46 * jnp.cos(phase)
        raise ValueError(f"ops.stft: window must be 'hann', 'hamming', a tensor or None; "
                         f"received window={window!r}.")
    window = jnp.asarray(window, dtype)
    if window.shape != (sequence_length,):
        raise ValueError(f"ops.stft: window must have shape ({sequence_length},); received "
                         f"{window.shape}.")
    return window


@op
def stft(x: TensorLike, sequence_length: int, sequence_stride: int, fft_length: int,
         window: str = "hann", center: bool = True) -> Array:
    """Short-time Fourier transform along the last axis.

    Args:
        x: ``(..., samples)`` float32/float64 signal.
        sequence_length: frame length.
        sequence_stride: hop between frames.
        fft_length: FFT size (>= ``sequence_length``; the window is centred in it).
        window: ``"hann"``, ``"hamming"``, a ``(sequence_length,)`` tensor or None.
        center: pad ``fft_length // 2`` samples on both sides (reflection) first.

    Returns:
        ``(real, imag)``, each ``(..., frames, fft_length // 2 + 1)``.
    """
    x = jnp.asarray(x)
    if fft_length < sequence_length:
        raise ValueError(f"ops.stft: fft_length must be >= sequence_length; received "
                         f"fft_length={fft_length}, sequence_length={sequence_length}.")
    if center:
        pads = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        x = jnp.pad(x, pads, mode="reflect")
    left = (fft_length - sequence_length) // 2
    win = jnp.pad(_window_of(window, sequence_length, x.dtype),
                  (left, fft_length - sequence_length - left))
    frames = extract_sequences.raw(x, fft_length, sequence_stride)
    return _pair(jnp.fft.rfft(frames * win, n=fft_length, axis=-1))


@op
def istft(x: TensorLike | tuple[TensorLike, TensorLike], sequence_length: int,
          sequence_stride: int, fft_length: int, length: int | None = None,
          window: str = "hann", center: bool = True) -> Array:
    """Inverse of :func:`stft`: overlap-add of the inverse FFTs, normalised by the summed
    squared windows.

    Args:
        x: ``(real, imag)``, each ``(..., frames, fft_length // 2 + 1)``.
        sequence_length: frame length.
        sequence_stride: hop between frames.
        fft_length: FFT size.
        length: output length (default: all samples, minus the centring padding).
        window: ``"hann"``, ``"hamming"``, a ``(sequence_length,)`` tensor or None.
        center: whether the forward transform padded the signal.

    Returns:
        ``(..., samples)``.
    """
    spectrum = _complex(x, "istft")
    frames = jnp.fft.irfft(spectrum, n=fft_length, axis=-1)
    left = (fft_length - sequence_length) // 2
    win = jnp.pad(_window_of(window, sequence_length, frames.dtype),
                  (left, fft_length - sequence_length - left))
    count = frames.shape[-2]
    total = fft_length + sequence_stride * (count - 1)
    where = (jnp.arange(count)[:, None] * sequence_stride + jnp.arange(fft_length)).reshape(-1)
    signal = jnp.zeros(frames.shape[:-2] + (total,), frames.dtype).at[..., where].add(
        (frames * win).reshape(frames.shape[:-2] + (-1,)))
    norm = jnp.zeros((total,), frames.dtype).at[where].add(jnp.tile(win * win, count))
    signal = signal / jnp.where(norm > 1e-10, norm, 1.0)
    if window is None:
        signal = signal * fft_length / sequence_stride  # Keras's scaling without a window
    start = fft_length // 2 if center else 0
    if length is not None:
        return signal[..., start:start + length]
    return signal[..., start:total - start] if center else signal


@op
def logdet(x: TensorLike) -> Array:
    """``log(det(x))`` of Hermitian positive-definite matrices.

    Args:
        x: ``(..., n, n)``.

    Returns:
        ``(...)``.
    """
    return jnp.linalg.slogdet(x)[1]


@op
def view_as_complex(x: TensorLike) -> Array:
    """Complex tensor from a trailing axis of size 2 (real, imag).

    Args:
        x: ``(..., 2)`` float tensor.

    Returns:
        A complex tensor ``(...)``.
    """
    x = jnp.asarray(x)
    if x.shape[-1] != 2:
        raise ValueError(f"ops.view_as_complex: the last axis must have size 2; received shape "
                         f"{x.shape}.")
    return jax.lax.complex(x[..., 0], x[..., 1])


@op
def view_as_real(x: TensorLike) -> Array:
    """``(..., 2)`` float tensor of a complex tensor's real and imaginary parts.

    Args:
        x: a complex tensor.

    Returns:
        A float tensor.
    """
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


__all__ = [
    "cdist", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft", "istft", "logdet",
    "logsumexp", "rfft", "segment_max", "segment_min", "segment_prod", "segment_sum", "stft",
    "top_k", "view_as_complex", "view_as_real",
]
