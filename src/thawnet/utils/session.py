"""Seeding and session helpers of ``keras.utils``."""

from __future__ import annotations

import random as pyrandom

import jax.numpy as jnp
import numpy as np

from thawnet.backend import random as random_lib
from thawnet.backend.shapes import TensorSpec
from thawnet.backend.types import DTypeLike, TensorLike


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and thawnet (weight initialisation,
    eager randomness, unseeded ``SeedGenerator``s), as ``keras.utils.set_random_seed`` does.

    Args:
        seed: a non-negative int.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative int; received "
                         f"seed={seed!r}.")
    pyrandom.seed(seed)
    np.random.seed(seed)
    random_lib.set_random_seed(seed)


def standardize_dtype(dtype: DTypeLike | None) -> str:
    """The canonical name of a dtype (``"float32"``, ``"int64"``...).

    Args:
        dtype: a name, NumPy/JAX dtype or Python type.

    Returns:
        A string.
    """
    if dtype is None:
        return "float32"
    if dtype is int:
        return "int64"
    if dtype is float:
        return "float32"
    return jnp.dtype(dtype).name


def is_keras_tensor(x: TensorLike) -> bool:
    """Whether ``x`` is a symbolic tensor of the functional API (made by ``Input``).

    Args:
        x: anything.

    Returns:
        A bool.
    """
    return isinstance(x, TensorSpec) and hasattr(x, "history")


def get_source_inputs(tensor: TensorLike) -> list:
    """The ``Input`` tensors that a symbolic tensor is computed from.

    Args:
        tensor: a symbolic tensor.

    Returns:
        A list of symbolic tensors made by ``Input``.
    """
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen or getattr(t, "history", None) is None:
            continue
        seen.add(id(t))
        layer, node_index, _ = t.history
        node = layer._inbound_nodes[node_index]
        if not node.input_tensors:
            found.append(t)
        stack.extend(reversed(node.input_tensors))
    return found
