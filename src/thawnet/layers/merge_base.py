"""The base class of the merging layers (:mod:`thawnet.layers.merging`): the checks on the list
of inputs (count, batch sizes, broadcastable shapes), Keras's broadcasting of lower-rank inputs,
the output spec from the shape rules, and masks.
"""

from __future__ import annotations

from typing import Sequence

import jax

from thawnet.backend.shapes import TensorSpec
from thawnet.backend.types import Config, ShapeLike, TensorTree
from thawnet.layers import merging_masks
from thawnet.layers.layer import Layer


def input_shapes(inputs: TensorTree) -> list[tuple] | tuple:
    """Shapes of a list of tensors; a single tensor gives its own shape (rejected later)."""
    if isinstance(inputs, (list, tuple)):
        return [tuple(x.shape) for x in inputs]
    return tuple(inputs.shape)


def format_shapes(shapes: Sequence[ShapeLike]) -> str:
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"


class Merge(Layer):
    """Base of the merging layers: ``call`` receives a list of tensors."""

    min_inputs = 1
    max_inputs = None
    supports_masking = True
    masked_merge = None  # Maximum/Minimum/Multiply: the merge that reads the inputs' masks
    compute_mask = merging_masks.or_of_masks  # a method: (self, inputs, mask=None)

    def _who(self):
        return f'{type(self).__name__} "{self.name}"'

    def _check_list(self, shapes):
        if not isinstance(shapes, (list, tuple)) or not shapes or not all(
                isinstance(s, (list, tuple)) for s in shapes):
            raise ValueError(
                f"{self._who()} must be called on a list of tensors, e.g. "
                f"{type(self).__name__}()([x1, x2]); received a single input of shape "
                f"{tuple(shapes) if isinstance(shapes, (list, tuple)) else shapes}.")
        n = len(shapes)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = (f"exactly {self.min_inputs}" if self.min_inputs == self.max_inputs
                    else f"at least {self.min_inputs}")
            raise ValueError(f"{self._who()} needs {want} inputs; received {n} with shapes "
                             f"{format_shapes(shapes)}. Pass a list of {want} tensors.")
        batches = {s[0] for s in shapes if len(s) and s[0] is not None}
        if len(batches) > 1 and self._checks_batch():
            raise ValueError(
                f"{self._who()} needs inputs with the same batch size; received shapes "
                f"{format_shapes(shapes)}. Merge tensors that come from the same batch of samples.")

    def _checks_batch(self):
        return True

    def check_shapes(self, shapes: Sequence[ShapeLike]) -> tuple:
        """Raise a ValueError if ``shapes`` cannot be merged; return the output shape."""
        self._check_list(shapes)
        shapes = [tuple(s) for s in shapes]
        out = list(shapes[0][1:])
        for s in shapes[1:]:
            a, b = (out, list(s[1:])) if len(out) >= len(s) - 1 else (list(s[1:]), out)
            merged = a[:len(a) - len(b)]
            for i, j in zip(a[len(a) - len(b):], b):
                if i is not None and j is not None and i != j and 1 not in (i, j):
                    raise ValueError(
                        f"{self._who()} needs inputs of the same shape (or broadcastable: each "
                        f"non-batch dimension equal or 1, compared from the last); received "
                        f"shapes {format_shapes(shapes)}. Make the sizes match before merging, e.g. "
                        f"with a Dense or Reshape layer on one of the inputs.")
                merged.append(None if i is None or j is None else max(i, j) if 1 in (i, j)
                              else i)
            out = merged
        batch = next((s[0] for s in shapes if s and s[0] is not None), None)
        return (batch,) + tuple(out)

    def build(self, input_shape: ShapeLike) -> None:
        self.check_shapes(input_shape)

    def compute_output_spec(self, inputs: TensorTree, *args, **kwargs) -> TensorSpec:
        # Shapes from the rules themselves (like Keras), so unknown non-batch dimensions stay
        # unknown instead of being probed; the dtype from tracing the merge on size-1 inputs.
        shapes = input_shapes(inputs)
        out_shape = self.check_shapes(shapes)
        probes = [jax.ShapeDtypeStruct((1,) * len(s), t.dtype) for s, t in zip(shapes, inputs)]
        dtype = jax.eval_shape(lambda xs: self._merge(list(xs)), probes).dtype
        return TensorSpec(out_shape, dtype)

    def call(self, inputs: TensorTree) -> TensorTree:
        self.check_shapes(input_shapes(inputs))
        inputs, masks = list(inputs), merging_masks.input_masks(inputs)
        if self.masked_merge is not None and any(m is not None for m in masks):
            return self.masked_merge(inputs, masks)
        rank = max(x.ndim for x in inputs)
        # Lower-rank inputs get size-1 axes after the batch axis (Keras's broadcasting rule).
        inputs = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in inputs]
        return self._merge(inputs)

    def _merge(self, inputs):
        raise NotImplementedError

    def get_config(self) -> Config:
        return super().get_config()


__all__ = ["Merge", "format_shapes", "input_shapes"]
