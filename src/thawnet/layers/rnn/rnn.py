"""RNN: run a cell over the time axis of a sequence, inside one ``jax.lax.scan``.

The cell is any layer with a ``state_size`` and ``call(inputs, states)`` returning
``(output, new_states)`` (Keras's protocol). Built-in cells also give their math split in two
(:mod:`thawnet.layers.rnn.cell_base`): on accelerators the input projection of every step is
one matrix product over the whole sequence, before the loop, and only the recurrent part runs
per step; on the CPU both run per step (faster there, see ``_hoist_projection``).

**Stateful layers.** With ``stateful=True`` the last states of a call are the initial states
of the next. They are kept as weights named ``rnn_state`` (``rnn_state_1``, ...) of role
``statistic``: state the layer writes itself, never trained by gradients, counted as
non-trainable, saved in thawnet's files, and left out of Keras weight files (Keras 3 does not
track them as weights, so a Keras ``.weights.h5`` loads into a stateful layer unchanged).
``reset_states()`` sets them to zeros (or to given values).
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.backend import scope as scope_lib
from thawnet.backend.types import Array, Config, ShapeLike, TensorLike, TensorTree
from thawnet.layers.call_inspection import accepts_argument
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import STATISTIC, Layer, register
from thawnet.layers.rnn import scan_loop
from thawnet.layers.rnn.serialization import layer_config, layer_from_config
from thawnet.layers.rnn.stacked import StackedRNNCells
from thawnet.variables import materialize_all


def _check_cell(cell):
    if isinstance(cell, dict):  # a serialized cell (a Keras or thawnet config entry)
        cell = layer_from_config(cell, None, "RNN")
    if isinstance(cell, (list, tuple)):
        return StackedRNNCells(list(cell))
    if not callable(getattr(cell, "call", None)):
        raise ValueError("RNN: the cell must have a `call(inputs, states)` method; received "
                         f"cell={cell!r:.80}. Use a cell layer such as LSTMCell(8).")
    if getattr(cell, "state_size", None) is None:
        raise ValueError("RNN: the cell must have a `state_size` attribute (an integer, or a "
                         "list of integers, one per state); received cell without one: "
                         f"{cell!r:.80}.")
    return cell


def cell_functions(cell, batch_size, training):
    """``(project, step)`` for ``cell``: its own split when it has one; otherwise the
    identity projection and a step that calls the cell (custom cells)."""
    if hasattr(cell, "step_functions"):
        return cell.step_functions(batch_size, training)
    kwargs = {"training": training} if accepts_argument(cell.call, "training") else {}

    def step(x_t, states):
        return cell(x_t, states, **kwargs)

    return (lambda x, has_time: x), step


def _hoist_projection() -> bool:
    """Whether the input projection runs over the whole sequence before the loop.

    On accelerators one large matrix product feeds the device better than ``time`` small
    ones. On the CPU, measured (batch 64, 100 steps, 128 units, forward and backward), the
    projection inside the loop is about 1.6x faster: the hoisted product's (time, batch,
    4 * units) buffers cost more in memory traffic than the products they replace.
    """
    return jax.default_backend() != "cpu"


def _flat_sizes(state_size):
    """``state_size`` as a list of entries (a single int becomes ``[int]``)."""
    return list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]


@register
class RNN(Layer):
    """A recurrent layer around ``cell``.

    Args:
        cell: a cell layer (LSTMCell, GRUCell, SimpleRNNCell, a custom cell), or a list of
            cells (stacked, see :class:`StackedRNNCells`).
        return_sequences: return every step's output ``(batch, time, units)`` instead of the
            last one ``(batch, units)``.
        return_state: also return the final states: ``(output, *states)``.
        go_backwards: process the sequence in reverse (outputs in the order computed).
        stateful: carry the final states of a call into the next one (needs a fixed batch
            size); the states are ``statistic`` weights ``rnn_state*`` (see the module doc).
        unroll: unroll the loop at compile time (faster for short sequences).
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Call arguments:
        sequences: ``(batch, time, ...)``.
        initial_state: list of initial state arrays (as many as the cell has states).
        mask: ``(batch, time)`` booleans; at a False step the states are carried unchanged.
        training: dropout of the cell is active only when True.

    >>> import numpy as np
    >>> from thawnet.layers import RNN, LSTMCell
    >>> RNN(LSTMCell(4))(np.ones((2, 5, 3), "float32")).shape
    (2, 4)
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs) -> None:
        cell = _check_cell(cell)
        super().__init__(**kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        for arg, value in (("return_sequences", return_sequences),
                           ("return_state", return_state), ("go_backwards", go_backwards),
                           ("stateful", stateful), ("unroll", unroll),
                           ("zero_output_for_mask", zero_output_for_mask)):
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{who}: {arg} must be True or False; received "
                                 f"{arg}={value!r}.")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.state_size = _flat_sizes(cell.state_size)
        self.single_state = not isinstance(cell.state_size, (list, tuple))
        self.states = None
        self.input_spec = InputSpec(min_ndim=3)

    # -- shapes ------------------------------------------------------------------------------
    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.state_size[0]
        return size

    def compute_output_shape(self, sequences_shape: ShapeLike,
                             initial_state_shape: ShapeLike | None = None) -> ShapeLike:
        batch, steps = sequences_shape[0], sequences_shape[1]
        size = self._output_size()
        tail = tuple(size) if isinstance(size, (list, tuple)) else (size,)
        out = (batch, steps) + tail if self.return_sequences else (batch,) + tail
        if not self.return_state:
            return out
        states = []
        for s in self.state_size:
            if isinstance(s, (list, tuple)):
                states.append([(batch, d) for d in s])
            else:
                states.append((batch, s))
        return (out, *states)

    def _step_shape(self, sequences_shape):
        return (sequences_shape[0],) + tuple(sequences_shape[2:])

    def build(self, sequences_shape: ShapeLike, initial_state_shape: ShapeLike | None = None
            ) -> None:
        sequences_shape = tuple(sequences_shape)
        if isinstance(self.cell, Layer):
            self.cell._maybe_build(self._step_shape(sequences_shape))
        if self.stateful and self.states is None:
            batch = sequences_shape[0]
            if batch is None:
                raise ValueError(
                    f'{type(self).__name__} "{self.name}" is stateful, so it needs a fixed '
                    f"batch size; received sequences of shape {sequences_shape}. Give the "
                    "batch size: Input(batch_shape=(32, time, features)).")
            self._create_state_variables(batch)

    def _create_state_variables(self, batch):
        initial = jax.tree_util.tree_leaves(self.get_initial_state(batch))
        self.states = []
        for i, value in enumerate(initial):
            # Carried state: written by the layer after every call, never by the optimizer.
            var = self.add_weight(name="rnn_state" if i == 0 else f"rnn_state_{i}",
                                  shape=tuple(value.shape), initializer="zeros",
                                  role=STATISTIC, trainable=False)
            var.carried_in_inference = True  # predict() carries it from batch to batch
            self.states.append(var)

    def _keras_file_weights(self):
        return []  # Keras 3 does not save a stateful layer's states as weights

    def _walk(self, prefix=None, owners=(), seen=None, seed_states=False):
        # The cell's parameters first (Keras's get_weights order), the carried states last.
        entries = list(super()._walk(prefix, owners, seen, seed_states))
        states = {id(v) for v in self.states or ()}
        yield from [e for e in entries if id(e[1]) not in states]
        yield from [e for e in entries if id(e[1]) in states]

    def get_initial_state(self, batch_size: int | None) -> list[Array]:
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            return scan_loop.as_lists(fn(batch_size=batch_size))
        return [jnp.zeros((batch_size, d), self.compute_dtype) for d in self.state_size]

    def reset_states(self, states: Sequence[TensorLike] | None = None) -> None:
        """Set the carried states to zeros, or to ``states`` (arrays in state order)."""
        if self.states is None:
            return
        if states is None:
            for v in self.states:
                v.assign(jnp.zeros(v.shape, v.dtype))
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != len(self.states):
            raise ValueError(f'{type(self).__name__} "{self.name}" has {len(self.states)} '
                             f"state(s); reset_states received {len(states)} value(s).")
        for v, s in zip(self.states, states):
            v.assign(jnp.asarray(s, v.dtype))

    reset_state = reset_states

    # -- the call ----------------------------------------------------------------------------
    def _initial_states(self, sequences, initial_state):
        batch = sequences.shape[0]
        if initial_state is None:
            if self.stateful:
                return self._unflatten([v.value for v in self.states], batch)
            return self.get_initial_state(batch)
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
            initial_state]
        template = self.get_initial_state(batch)
        flat_given = jax.tree_util.tree_leaves(given)
        flat_template = jax.tree_util.tree_leaves(template)
        if len(flat_given) != len(flat_template):
            raise ValueError(
                f'{type(self).__name__} "{self.name}": initial_state has {len(flat_given)} '
                f"array(s), but the cell has {len(flat_template)} state(s) of shapes "
                f"{[tuple(t.shape) for t in flat_template]}. Pass one array per state.")
        for g, t in zip(flat_given, flat_template):
            if tuple(g.shape) != tuple(t.shape):
                raise ValueError(
                    f'{type(self).__name__} "{self.name}": an initial state has shape '
                    f"{tuple(g.shape)}; expected {tuple(t.shape)} (batch, units).")
        return self._unflatten([jnp.asarray(g, self.compute_dtype) for g in flat_given], batch)

    def _unflatten(self, flat, batch):
        treedef = jax.tree_util.tree_structure(self.get_initial_state(batch))
        return jax.tree_util.tree_unflatten(treedef, list(flat))

    def _check_mask(self, mask, sequences):
        mask = jnp.asarray(mask)
        if mask.ndim == 3:
            mask = jnp.any(mask, axis=-1)
        if mask.ndim != 2 or tuple(mask.shape) != tuple(sequences.shape[:2]):
            raise ValueError(
                f'{type(self).__name__} "{self.name}": the mask has shape '
                f"{tuple(mask.shape)}; sequences of shape {tuple(sequences.shape)} need a "
                f"(batch, time) mask of shape {tuple(sequences.shape[:2])}.")
        return mask.astype(bool)

    def call(self, sequences: TensorLike, initial_state: Sequence[TensorLike] | None = None,
             mask: TensorTree | None = None, training: bool | None = False) -> TensorTree:
        batch = sequences.shape[0]
        if self.stateful and self.states is not None and batch != self.states[0].shape[0]:
            raise ValueError(
                f'{type(self).__name__} "{self.name}" is stateful with batch size '
                f"{self.states[0].shape[0]}; received sequences of batch size {batch}. Every "
                "batch of a stateful RNN must have the same size.")
        states = self._initial_states(sequences, initial_state)
        if mask is not None:
            mask = self._check_mask(mask, sequences)
        if self.go_backwards:
            sequences = jnp.flip(sequences, axis=1)
            mask = None if mask is None else jnp.flip(mask, axis=1)
        if scope_lib.current() is None and isinstance(self.cell, Layer):
            # A weight read for the first time inside the loop would keep a tracer as value.
            materialize_all(self.cell.weights)
        loop = dict(return_sequences=self.return_sequences, unroll=self.unroll,
                    zero_output_for_mask=self.zero_output_for_mask)
        # A cell may run the whole loop itself, with a hand-written gradient (LSTMCell).
        runner = getattr(self.cell, "sequence_runner", None)
        if runner is not None:
            dtypes = [sequences.dtype] + [s.dtype for s in jax.tree_util.tree_leaves(states)]
            runner = runner(batch, training, dtypes)
        if runner is not None:
            output, final = runner(sequences, states, mask, hoist=_hoist_projection(), **loop)
        else:
            output, final = self._generic_loop(sequences, states, mask, batch, training, loop)
        output = output.astype(self.compute_dtype)
        if self.stateful:
            for var, value in zip(self.states, jax.tree_util.tree_leaves(final)):
                var.assign(value)
        if self.return_state:
            return (output, *final)
        return output

    def _generic_loop(self, sequences, states, mask, batch, training, loop):
        project, step = cell_functions(self.cell, batch, training)
        if _hoist_projection():
            xs = project(sequences, True)
        else:
            xs, cell_step = sequences, step

            def step(x_t, states):
                return cell_step(project(x_t, False), states)
        return scan_loop.run(step, xs, states, mask, **loop)

    def compute_mask(self, inputs: TensorTree, mask: TensorTree | None = None) -> TensorTree | None:
        """The input mask passes on with the sequences (``return_sequences``), else none."""
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    # -- config ------------------------------------------------------------------------------
    def _loop_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self) -> Config:
        return {**super().get_config(), **self._loop_config(), "cell": layer_config(self.cell)}

    @classmethod
    def from_config(cls, config: Config, custom_objects: dict[str, Any] | None = None) -> RNN:
        config = dict(config)
        cell = layer_from_config(config.pop("cell"), custom_objects, "RNN")
        return cls(cell, **config)


__all__ = ["RNN"]
