"""One streamed batch: unpacked to ``(x, y, sample_weight)``, converted, and checked.

Arrays fed to ``fit`` are checked once, whole. A stream is checked batch by batch, in the
prefetching thread, so a bad batch is reported by its number, with the structure or shape
that was expected and the one received, before it reaches compiled code (where a wrong shape
would be a long XLA error, or a silent recompilation).
"""

from __future__ import annotations

import jax
import numpy as np

from thawnet.training.data import to_arrays
from thawnet.training.data_sources import host_leaf


def _host_tree(value):
    if isinstance(value, dict):
        return {k: _host_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_host_tree(v) for v in value]
    return None if value is None else host_leaf(value)


def unpack_batch(raw, index: int, where: str, kind: str):
    """``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` -> ``(x, y, sample_weight)``
    of NumPy arrays, with the dtypes the array path uses (float32, int32).

    Args:
        raw: what the source gave for this batch (a dict is the inputs, as in Keras).
        index: the batch's number, for messages.
        where: the call (``"fit()"``), for messages.
        kind: the source's name (``"generator"``), for messages.

    Returns:
        The ``(x, y, sample_weight)`` tuple (``y``/``sample_weight`` may be None).

    Raises:
        ValueError: a tuple of another length, or an element that is not an array.
    """
    if isinstance(raw, (tuple, list)):
        if not 1 <= len(raw) <= 3:
            raise ValueError(
                f"{where}: batch {index} of the {kind} must be x, (x,), (x, y) or (x, y, "
                f"sample_weight); received a {type(raw).__name__} of {len(raw)} elements. "
                "Yield the inputs, targets and weights as one tuple of at most 3.")
        parts = list(raw) + [None] * (3 - len(raw))
    else:
        parts = [raw, None, None]
    names = ("x", "y", "sample_weight")
    out = []
    for name, part in zip(names, parts):
        try:
            value = to_arrays(_host_tree(part), name)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: batch {index} of the {kind}: {name} is not an array "
                             f"or a list/dict of arrays ({err})") from err
        out.append(value)
    if out[2] is not None:
        out[2] = out[2].astype(np.float32)
    return tuple(out)


def _describe_leaf(a) -> str:
    return "None" if a is None else f"{a.dtype}{list(a.shape)}"


def describe(batch) -> str:
    """``(x: float32[4, 3], y: int32[4], sample_weight: None)``: a batch's structure."""
    def part(value):
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {part(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(part(v) for v in value) + "]"
        return _describe_leaf(value)

    return "(" + ", ".join(f"{n}: {part(v)}" for n, v in zip(("x", "y", "sample_weight"),
                                                               batch)) + ")"


def _signature(batch):
    leaves, treedef = jax.tree_util.tree_flatten(batch)
    return treedef, tuple(a.ndim for a in leaves)


def _declared_input_shapes(model, x):
    """``[(name, declared shape, array)]`` for the model inputs found in ``x``."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        return []
    tensors = graph.input_tensors
    if isinstance(x, dict):
        pairs = [(f"x[{t.name!r}]", t, x.get(t.name)) for t in tensors]
    elif isinstance(x, list):
        pairs = [(f"x[{i}]", t, a) for i, (t, a) in enumerate(zip(tensors, x))]
    else:
        pairs = [("x", tensors[0], x)] if len(tensors) == 1 else []
    return [(name, tuple(t.shape), a) for name, t, a in pairs if a is not None]


class BatchChecker:
    """Checks each batch of a stream against the first one and against the model.

    Args:
        where: the call (``"fit()"``), for messages.
        kind: the source's name, for messages.
    """

    def __init__(self, where: str, kind: str):
        self.where, self.kind = where, kind
        self.first = None

    def check(self, index: int, batch, model=None) -> None:
        """Raise a ValueError naming batch ``index`` when it differs from batch 0 in
        structure (which of x / y / sample_weight, nesting, number of dimensions), when its
        arrays disagree on the number of samples, or when an input's shape is not the one
        the model declares."""
        prefix = f"{self.where}: batch {index} of the {self.kind}"
        if self.first is None:
            self.first = (batch, _signature(batch))
        elif _signature(batch) != self.first[1]:
            raise ValueError(
                f"{prefix} has another structure than batch 0: expected "
                f"{describe(self.first[0])}; received {describe(batch)}. Every batch must "
                "hold the same parts (x, y, sample_weight) with the same number of "
                "dimensions.")
        sizes = {int(a.shape[0]) if a.ndim else None for a in jax.tree_util.tree_leaves(batch)}
        if len(sizes) != 1 or None in sizes:
            raise ValueError(f"{prefix}: its arrays must all have the same number of samples "
                             f"(first dimension); received {describe(batch)}.")
        if model is None:
            return
        for name, declared, array in _declared_input_shapes(model, batch[0]):
            ok = len(declared) == array.ndim and all(
                d is None or d == s for d, s in zip(declared[1:], array.shape[1:]))
            if not ok:
                shown = "(" + ", ".join("None" if d is None else str(d) for d in declared) + ")"
                raise ValueError(f"{prefix}: {name} has shape {tuple(array.shape)}, but the "
                                 f"model's input expects {shown} (batch 0 was "
                                 f"{describe(self.first[0])}). Make every batch match the "
                                 "model's input shape.")
