"""Session-wide defaults a layer reads when an argument is left out (Keras's keras.config)."""

from __future__ import annotations

_DATA_FORMATS = ("channels_last", "channels_first")
_state = {"image_data_format": "channels_last", "epsilon": 1e-7}


def image_data_format() -> str:
    """The ``data_format`` of image layers created without one (default channels_last)."""
    return _state["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    value = str(data_format).lower()
    if value not in _DATA_FORMATS:
        raise ValueError(f"set_image_data_format: data_format must be one of {_DATA_FORMATS}; "
                         f"received {data_format!r}.")
    _state["image_data_format"] = value


def epsilon() -> float:
    """The fuzz factor numeric code adds to avoid dividing by zero (default 1e-7)."""
    return _state["epsilon"]


def set_epsilon(value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"set_epsilon: value must be a positive number; received {value!r}.")
    _state["epsilon"] = float(value)
