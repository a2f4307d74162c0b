"""Config values as JSON types, with an error that names where a value came from."""

from __future__ import annotations

from typing import Any

import numpy as np


def plain(value, where):
    """``value`` as JSON types (tuples -> lists, NumPy values -> Python); raises ValueError
    naming ``where`` for anything else."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (list, tuple)):
        return [plain(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v, where) for k, v in value.items()}
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return np.asarray(value).tolist()
    if callable(value):
        raise ValueError(
            f"{where}: its config holds the Python function {getattr(value, '__name__', value)!r}"
            ", which cannot be saved: files never hold code. Register it by name with "
            "@thawnet.saving.register_keras_serializable() (or move it into a custom layer "
            "class registered the same way) and save again.")
    raise ValueError(
        f"{where}: its config holds {value!r} (type {type(value).__name__}), which cannot be "
        "written as JSON. Use named activations/initializers/regularizers, or give the layer a "
        "get_config() that returns plain values.")
