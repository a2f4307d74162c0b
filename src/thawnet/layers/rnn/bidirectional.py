"""Bidirectional: one recurrent layer forward in time, a copy backward, outputs merged."""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp

from thawnet.backend.types import ArrayLike, Config, ShapeLike, TensorLike, TensorTree
from thawnet.layers.call_inspection import accepts_argument
from thawnet.layers.layer import Layer, register
from thawnet.layers.rnn.serialization import layer_config, layer_from_config

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _renamed_copy(layer, name, **changes):
    """A fresh layer from ``layer``'s config (no weights, no state carried over)."""
    config = dict(layer.get_config(), name=name, **changes)
    return type(layer).from_config(config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


@register
class Bidirectional(Layer):
    """Runs ``layer`` over the sequence and a copy of it over the reversed sequence.

    Args:
        layer: a recurrent layer (LSTM, GRU, SimpleRNN, RNN, ConvLSTM*). It is copied from
            its config into ``forward_layer`` (named ``forward_<name>``).
        merge_mode: ``"concat"`` (default), ``"sum"``, ``"mul"``, ``"ave"`` or None (a list
            of both outputs).
        backward_layer: optional layer for the backward direction, with
            ``go_backwards=True``; by default a copy of ``layer`` (``backward_<name>``).

    Weights: the forward layer's, then the backward layer's (Keras's order). With
    ``return_sequences`` the backward outputs are flipped back into time order before the
    merge; masked steps output zeros (Keras forces ``zero_output_for_mask``).

    >>> import numpy as np
    >>> from thawnet.layers import LSTM, Bidirectional
    >>> Bidirectional(LSTM(4))(np.ones((2, 5, 3), "float32")).shape
    (2, 8)
    """

    def __init__(self, layer: Layer, merge_mode: str | None = "concat",
                 weights: Sequence[ArrayLike] | None = None, backward_layer: Any = None, **kwargs
            ) -> None:
        who = "Bidirectional"
        # A serialized layer (a Keras or thawnet config entry) is built first.
        if isinstance(layer, dict):
            layer = layer_from_config(layer, None, who)
        if isinstance(backward_layer, dict):
            backward_layer = layer_from_config(backward_layer, None, who)
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer!r:.80}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: {backward_layer!r:.80}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should "
                             'be one of {"sum", "mul", "ave", "concat", None}')
        super().__init__(**kwargs)
        self.forward_layer = _renamed_copy(layer, "forward_" + _strip(layer.name, "forward_"))
        if backward_layer is None:
            backward_layer = _renamed_copy(layer, "backward_" + _strip(layer.name, "backward_"),
                                           go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        if hasattr(layer, "use_cudnn"):  # not in the config: carried over by hand, as Keras
            self.forward_layer.use_cudnn = layer.use_cudnn
            self.backward_layer.use_cudnn = layer.use_cudnn
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(
                f"{who}: forward layer and backward layer should have different "
                "`go_backwards` value. Received: forward_layer.go_backwards "
                f"{self.forward_layer.go_backwards}, backward_layer.go_backwards="
                f"{self.backward_layer.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            f, b = getattr(self.forward_layer, attr), getattr(self.backward_layer, attr)
            if f != b:
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value "
                    f'for attribute "{attr}", got "{f}" for forward layer and "{b}" for '
                    "backward layer")
        for direction in (self.forward_layer, self.backward_layer):
            if getattr(direction, "zero_output_for_mask", None) is not None:
                direction.zero_output_for_mask = direction.return_sequences
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self._initial_weights = list(weights) if weights else None

    def build(self, sequences_shape: ShapeLike, initial_state_shape: ShapeLike | None = None
            ) -> None:
        self.forward_layer._build_checked(tuple(sequences_shape))
        self.backward_layer._build_checked(tuple(sequences_shape))
        if self._initial_weights:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, sequences_shape: ShapeLike,
                             initial_state_shape: ShapeLike | None = None) -> ShapeLike:
        out = self.forward_layer.compute_output_shape(sequences_shape)
        states = ()
        if self.return_state:
            out, states = out[0], tuple(out[1:])
        if self.merge_mode == "concat":
            out = tuple(out[:-1]) + (out[-1] * 2,)
        elif self.merge_mode is None:
            out = [tuple(out), tuple(out)]
        if self.return_state:
            head = tuple(out) if self.merge_mode is None else (tuple(out),)
            return head + states + states
        return out if self.merge_mode is None else out

    def call(self, sequences: TensorLike, initial_state: Sequence[TensorLike] | None = None,
             mask: TensorTree | None = None, training: bool | None = False) -> TensorTree:
        kwargs = {}
        if accepts_argument(self.forward_layer.call, "training"):
            kwargs["training"] = training
        if mask is not None:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            initial_state = list(initial_state)
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y, y_rev = y.astype(self.compute_dtype), y_rev.astype(self.compute_dtype)
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = jnp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output + states) if self.merge_mode is None else (output,) + states
        return output

    def compute_mask(self, inputs: TensorTree, mask: TensorTree | None = None) -> TensorTree | None:
        output_mask = mask if self.return_sequences else None
        if self.merge_mode is None:
            output_mask = [output_mask, output_mask]
        if self.return_state:
            count = len(self.forward_layer.state_size) * 2
            heads = output_mask if isinstance(output_mask, list) else [output_mask]
            return heads + [None] * count
        return output_mask

    def reset_states(self, states: Sequence[TensorLike] | None = None) -> None:
        """Reset both directions' carried states (stateful layers)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        states = list(states)
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    reset_state = reset_states

    def get_config(self) -> Config:
        config = {**super().get_config(), "merge_mode": self.merge_mode,
                  "layer": layer_config(self.forward_layer)}
        config["backward_layer"] = layer_config(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config: Config, custom_objects: dict[str, Any] | None = None
            ) -> Bidirectional:
        config = dict(config)
        layer = layer_from_config(config.pop("layer"), custom_objects, "Bidirectional")
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = layer_from_config(backward, custom_objects, "Bidirectional")
        return cls(layer, backward_layer=backward, **config)


__all__ = ["Bidirectional"]
