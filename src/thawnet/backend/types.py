"""The types that thawnet's public signatures use, named once (issue #11 item 5).

A Keras-style API takes loose values: an array or a symbolic tensor, a shape with unknown
dimensions, a name or a config dict or a callable. These aliases say which, so that every
module writes a given kind of argument the same way::

    def call(self, inputs: Tensor, training: bool | None = None) -> Tensor: ...

They are plain ``typing`` aliases: nothing here is checked at run time.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Protocol, Sequence, Union

import jax
from jax.typing import ArrayLike, DTypeLike

from thawnet.backend.shapes import TensorSpec

Array = jax.Array
# An array, or a symbolic tensor of the functional API (SymbolicTensor subclasses TensorSpec).
Tensor = Union[jax.Array, TensorSpec]
# What ops and layers accept: arrays, NumPy arrays, Python scalars, symbolic tensors.
TensorLike = Union[ArrayLike, TensorSpec]
# A layer's inputs or outputs: one tensor, or a list/tuple/dict of them.
TensorTree = Union[TensorLike, Sequence[Any], dict[str, Any]]
# A shape; None is a dimension unknown until data arrives (the batch size, a sequence length).
Shape = tuple[Union[int, None], ...]
# A shape as callers pass it (tuple or list), or one shape per input of a multi-input layer.
ShapeLike = Union[Sequence[Union[int, None]], Sequence[Sequence[Union[int, None]]],
                  dict[str, Any]]
# One axis or several (None: all of them).
Axis = Union[int, Sequence[int], None]
# An integer size given once for every spatial dimension, or per dimension.
IntOrTuple = Union[int, Sequence[int]]
# get_config() / from_config(): a plain-JSON dict of constructor arguments.
Config = dict[str, Any]
# Logs handed to callbacks: metric name -> value.
Logs = Union[dict[str, Any], None]
# What a namespace's get() resolves: a name, a config dict, an object or a callable.
Identifier = Union[str, dict[str, Any], Callable[..., Any], None]


class SeedSource(Protocol):
    """What :class:`thawnet.random.SeedGenerator` offers a random op: a fresh key per draw."""

    def key(self) -> jax.Array: ...


# A random seed: an int, a JAX key, or a SeedGenerator (None: drawn from the global seed).
SeedLike = Union[int, jax.Array, SeedSource, None]
# A nest of arrays (optimizer states, weight maps): JAX's pytrees.
PyTree = Any
# A file-system path.
PathLike = Union[str, os.PathLike]

__all__ = ["Array", "ArrayLike", "Axis", "Config", "DTypeLike", "Identifier", "IntOrTuple",
           "Logs", "PathLike", "PyTree", "SeedLike", "SeedSource", "Shape", "ShapeLike", "Tensor",
           "TensorLike", "TensorTree"]
