"""What SimpleRNN, LSTM, GRU and the ConvLSTM layers share: an RNN around a cell that the
layer makes itself from its own arguments (Keras's ``LSTM(units, ...)`` form).

The cell's arguments are read back through the layer (``lstm.units``, ``lstm.dropout``, as
Keras), and the config is flat: the cell's arguments and the loop's, no ``cell`` entry.
"""

from __future__ import annotations

from typing import Any

from thawnet.backend.types import Config
from thawnet.layers.rnn.rnn import RNN

_LOOP_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
              "zero_output_for_mask")
_BASE_ARGS = ("name", "trainable", "dtype", "input_shape", "batch_input_shape", "batch_size",
              "input_dim", "activity_regularizer")


class CellLayer(RNN):
    """An RNN whose cell is built from the layer's own arguments (not a public class)."""

    cell_class: type = None
    cell_name: str = ""

    def __init__(self, cell_kwargs: dict, **kwargs) -> None:
        kwargs.pop("use_cudnn", None)  # Keras's GPU-kernel switch: XLA chooses here
        kwargs.pop("implementation", None)
        loop = {k: kwargs.pop(k) for k in _LOOP_ARGS if k in kwargs}
        base = {k: kwargs.pop(k) for k in _BASE_ARGS if k in kwargs}
        cell = self.cell_class(name=self.cell_name, dtype=base.get("dtype"),
                               trainable=base.get("trainable", True), **cell_kwargs, **kwargs)
        super().__init__(cell, **loop, **base)

    def __getattr__(self, name):
        # Only reached when normal lookup fails: the cell's arguments, read through the layer.
        if name.startswith("_") or name in ("cell",):
            raise AttributeError(name)
        cell = self.__dict__.get("cell")
        if cell is not None and name in cell.get_config():
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self) -> Config:
        config = super().get_config()
        cell_config = dict(config.pop("cell")["config"])
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config: Config, custom_objects: dict[str, Any] | None = None) -> CellLayer:
        return cls(**config)
