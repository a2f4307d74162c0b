"""``rearrange``: einops-style axis reshuffling, as Keras 3's ``keras.ops.rearrange``.

A pattern names the input axes on the left and the output axes on the right; parentheses
group axes that share one dimension: ``"b (h w) c -> b h w c"`` (with ``h=...``) splits,
``"b h w c -> b (h w) c"`` merges, ``"b c h w -> b h w c"`` transposes.
"""

from __future__ import annotations

import math as pymath
import re
from typing import Any

import jax.numpy as jnp

from thawnet.ops.dispatch import op
from thawnet.backend.types import Array, TensorLike


def _groups(side: str, pattern: str) -> list[list[str]]:
    groups, current = [], None
    for token in re.findall(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*|\S", side):
        if token == "(":
            if current is not None:
                raise ValueError(f"ops.rearrange: nested parentheses in pattern {pattern!r}.")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"ops.rearrange: unbalanced ')' in pattern {pattern!r}.")
            groups.append(current)
            current = None
        elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token):
            raise ValueError(f"ops.rearrange: unexpected {token!r} in pattern {pattern!r}; "
                             "use axis names, spaces and parentheses.")
        elif current is not None:
            current.append(token)  # an axis inside a group
        else:
            groups.append([token])  # an axis on its own
    if current is not None:
        raise ValueError(f"ops.rearrange: unbalanced '(' in pattern {pattern!r}.")
    return groups


def _lengths(groups, shape, axes_lengths, pattern):
    lengths = dict(axes_lengths)
    if len(groups) != len(shape):
        raise ValueError(f"ops.rearrange: the left side of {pattern!r} names {len(groups)} "
                         f"axes; the tensor has shape {tuple(shape)}.")
    for group, dim in zip(groups, shape):
        unknown = [a for a in group if a not in lengths]
        known = pymath.prod(lengths[a] for a in group if a in lengths)
        if len(unknown) > 1:
            raise ValueError(f"ops.rearrange: cannot infer the sizes of {unknown} in "
                             f"{pattern!r}; pass all but one of them, e.g. "
                             f"{unknown[0]}=...")
        if unknown:
            if dim % known:
                raise ValueError(f"ops.rearrange: dimension {dim} is not divisible by "
                                 f"{known} in {pattern!r}.")
            lengths[unknown[0]] = dim // known
        elif known != dim:
            raise ValueError(f"ops.rearrange: axes {group} of {pattern!r} have size {known}; "
                             f"the tensor's dimension is {dim}.")
    return lengths


@op
def rearrange(tensor: TensorLike, pattern: Any, **axes_lengths) -> Array:
    """Reorder, split and merge axes by an einops pattern.

    Args:
        tensor: a tensor.
        pattern: ``"left -> right"`` with axis names and parenthesised groups.
        **axes_lengths: sizes of axes that a split cannot infer.

    Returns:
        A tensor.
    """
    tensor = jnp.asarray(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"ops.rearrange: the pattern needs one '->'; received {pattern!r}.")
    left, right = (_groups(side, pattern) for side in pattern.split("->"))
    left_axes = [a for g in left for a in g]
    right_axes = [a for g in right for a in g]
    if sorted(left_axes) != sorted(right_axes) or len(set(left_axes)) != len(left_axes):
        raise ValueError(f"ops.rearrange: both sides of {pattern!r} must name the same axes, "
                         "each once.")
    lengths = _lengths(left, tensor.shape, axes_lengths, pattern)
    split = tensor.reshape([lengths[a] for a in left_axes])
    moved = jnp.transpose(split, [left_axes.index(a) for a in right_axes])
    return moved.reshape([pymath.prod(lengths[a] for a in g) for g in right])


__all__ = ["rearrange"]
