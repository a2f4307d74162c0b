"""Where a trial's best weights go, and how they come back.

The one place that knows the file format: swap these two functions (and ``SUFFIX``) for the
native thawnet weights format when it lands.
"""

from __future__ import annotations

import os

import numpy as np

SUFFIX = ".weights.npz"


def trial_weights_path(directory, study_name, trial_number):
    """``<directory>/<study_name>/trial_0007.weights.npz``."""
    return os.path.join(directory, study_name, f"trial_{trial_number:04d}{SUFFIX}")


def save_weights(weights, path):
    """Write a list of arrays (``model.get_weights()`` order) to ``path``.

    Args:
        weights: list of NumPy arrays.
        path: the file to write; its folder is created. Written to a temporary name first
            and renamed, so a reader never sees half a file.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.npz"
    np.savez(tmp, *weights)
    os.replace(tmp, path)


def load_weights(model, path):
    """Set ``model``'s weights from a file written by :func:`save_weights`.

    Args:
        model: a built thawnet model with the same architecture.
        path: the file.

    Raises:
        FileNotFoundError: naming the path.
        ValueError: the file's weights do not fit the model (from ``set_weights``).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"trial weights {path!r} not found; they are written by the worker that ran the "
            "trial, so read the study from a machine that shares its directory.")
    with np.load(path) as data:
        weights = [data[f"arr_{k}"] for k in range(len(data.files))]
    model.set_weights(weights)
