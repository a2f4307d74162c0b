"""StackedRNNCells: several cells run as one, each step feeding the next cell's input."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp

from thawnet.backend.types import Array, Config, ShapeLike, TensorLike, TensorTree
from thawnet.layers.call_inspection import accepts_argument
from thawnet.layers.layer import Layer, register
from thawnet.layers.rnn.serialization import layer_config, layer_from_config


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size


def _functions(cell, batch_size, training):
    if hasattr(cell, "step_functions"):
        return cell.step_functions(batch_size, training)
    kwargs = {"training": training} if accepts_argument(cell.call, "training") else {}
    return (lambda x, has_time: x), (lambda x_t, states: cell(x_t, states, **kwargs))


@register
class StackedRNNCells(Layer):
    """Cells stacked in depth: cell ``k`` reads the output of cell ``k - 1`` at each step.

    ``state_size`` is the list of the cells' state sizes; the states are nested (one entry
    per cell). The first cell's input projection runs over the whole sequence before the
    loop, the others' inside it (their inputs exist only step by step).

    Args:
        cells: list of cell layers.

    >>> import numpy as np
    >>> from thawnet.layers import RNN, LSTMCell, GRUCell, StackedRNNCells
    >>> RNN(StackedRNNCells([LSTMCell(4), GRUCell(3)]))(np.ones((2, 5, 3), "float32")).shape
    (2, 3)
    """

    def __init__(self, cells: Sequence[Any], **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f'StackedRNNCells "{self.name}": cells must be a non-empty list '
                             f"of cells; received cells={cells!r:.80}.")
        cells = [layer_from_config(c, None, "StackedRNNCells") if isinstance(c, dict) else c
                 for c in cells]
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError("All cells must have a `call` method. Received cell without "
                                 f"a `call` method: {cell!r:.80}")
            if getattr(cell, "state_size", None) is None:
                raise ValueError("All cells must have a `state_size` attribute. Received cell "
                                 f"without a `state_size`: {cell!r:.80}")
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> Any:
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int | None = None) -> list[Array]:
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                states = fn(batch_size=batch_size)
                out.append(list(states) if isinstance(states, (list, tuple)) else states)
            elif isinstance(cell.state_size, (list, tuple)):  # a custom cell: zeros
                out.append([jnp.zeros((batch_size, d), self.compute_dtype)
                            for d in cell.state_size])
            else:  # one state given as an int: a bare array, as Keras
                out.append(jnp.zeros((batch_size, cell.state_size), self.compute_dtype))
        return out

    def build(self, input_shape: ShapeLike) -> None:
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell._maybe_build(tuple(input_shape))
            input_shape = (tuple(input_shape)[0], _output_size(cell))

    def step_functions(self, batch_size: int | None, training: bool | None) -> tuple:
        fns = [_functions(c, batch_size, training) for c in self.cells]

        def project(x, has_time):
            return fns[0][0](x, has_time)

        def step(p_t, states):
            new_states = []
            x = p_t
            for k, ((proj, cell_step), s) in enumerate(zip(fns, states)):
                nested = isinstance(s, (list, tuple))
                x, new = cell_step(x if k == 0 else proj(x, False), list(s) if nested else [s])
                new = list(new) if isinstance(new, (list, tuple)) else [new]
                # Each cell's states keep the structure they came in (a bare array or a list).
                new_states.append(new if nested else new[0])
            return x, new_states

        return project, step

    def call(self, inputs: TensorTree, states: Sequence[TensorLike], training: bool | None = False
            ) -> TensorTree:
        project, step = self.step_functions(inputs.shape[0], training)
        return step(project(inputs, False), list(states))

    def get_config(self) -> Config:
        return {**super().get_config(), "cells": [layer_config(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: Config, custom_objects: dict[str, Any] | None = None
            ) -> StackedRNNCells:
        config = dict(config)
        cells = [layer_from_config(c, custom_objects, "StackedRNNCells")
                 for c in config.pop("cells")]
        return cls(cells, **config)


__all__ = ["StackedRNNCells"]
