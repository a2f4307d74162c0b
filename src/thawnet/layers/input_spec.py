"""Declared expectations on a layer's inputs, checked before the layer runs."""

from __future__ import annotations

from thawnet.backend.types import Axis


class InputSpec:
    """What a layer accepts.

    Args:
        ndim: exact rank.
        min_ndim: minimum rank.
        axes: ``{axis: size}`` sizes that must match (e.g. ``{-1: 100}`` after Dense is built).
    """

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None,
                 max_ndim: int | None = None, axes: Axis = None) -> None:
        self.ndim, self.min_ndim, self.max_ndim = ndim, min_ndim, max_ndim
        self.axes = dict(axes or {})


def _describe_axis(axis, ndim):
    if axis == -1 or (ndim is not None and axis == ndim - 1):
        return "last dimension"
    return f"dimension {axis}"


def check(layer, specs, shapes):
    """Raise a ValueError naming the layer, the expectation, the received shape and a fix."""
    if specs is None:
        return
    if not isinstance(specs, (list, tuple)):
        specs = [specs]
        shapes = [shapes]
    if len(specs) != len(shapes):
        raise ValueError(
            f'{type(layer).__name__} "{layer.name}" expects {len(specs)} input(s); received '
            f"{len(shapes)}. Pass inputs as a list of {len(specs)} tensors.")
    who = f'{type(layer).__name__} "{layer.name}"'
    for spec, shape in zip(specs, shapes):
        if spec is None:
            continue
        shape = tuple(shape)
        rank = len(shape)
        if spec.ndim is not None and rank != spec.ndim:
            raise ValueError(
                f"{who} expects inputs of rank {spec.ndim} (including the batch axis); received "
                f"shape {shape} (rank {rank}). {layer.rank_hint(spec.ndim)}")
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(
                f"{who} expects inputs of rank >= {spec.min_ndim} (including the batch axis); "
                f"received shape {shape} (rank {rank}). {layer.rank_hint(spec.min_ndim)}")
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(
                f"{who} expects inputs of rank <= {spec.max_ndim}; received shape {shape} "
                f"(rank {rank}).")
        for axis, size in spec.axes.items():
            if size is None:
                continue
            got = shape[axis] if -rank <= axis < rank else None
            if got is not None and got != size:
                raise ValueError(
                    f"{who} expects inputs with {_describe_axis(axis, rank)} {size}; received "
                    f"shape {shape}. {layer.axis_hint(axis)}")
