"""Dtype policies: the dtype a layer computes in and the dtype its weights are stored in.

``"mixed_float16"`` / ``"mixed_bfloat16"`` compute in half precision and keep float32
weights (DESIGN.md section 7: variables stay float32, compute runs in the policy's dtype);
``"float32"``, ``"float16"``, ``"bfloat16"``, ``"float64"`` use one dtype for both. Inside a
layer's ``call`` its floating inputs are cast to the compute dtype and its float weights are
read in it (autocasting), so gradients flow back to the float32 weights.

>>> DTypePolicy("mixed_bfloat16").compute_dtype, DTypePolicy("mixed_bfloat16").variable_dtype
('bfloat16', 'float32')
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator

import jax.numpy as jnp

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
_global = {"policy": None}
# The compute dtype float weights are read in, while a mixed-precision layer runs.
_autocast = contextvars.ContextVar("thawnet_autocast", default=None)


class DTypePolicy:
    """A named pair (compute dtype, variable dtype).

    Args:
        name: ``"float32"`` (default), ``"mixed_float16"``, ``"mixed_bfloat16"`` or any
            floating/int dtype name.
    """

    def __init__(self, name: str | None = None) -> None:
        name = "float32" if name is None else name
        if not isinstance(name, str):
            raise ValueError(f"DTypePolicy: name must be a string such as 'mixed_float16'; "
                             f"received name={name!r}.")
        if name in _MIXED:
            compute, variable = _MIXED[name], "float32"
        else:
            try:
                compute = variable = jnp.dtype(name).name
            except TypeError:
                raise ValueError(
                    f"Unknown dtype policy {name!r}: use a dtype name ('float32', 'bfloat16', "
                    f"...) or one of {sorted(_MIXED)}.") from None
        self._name, self._compute, self._variable = name, compute, variable

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._compute

    @property
    def variable_dtype(self) -> str:
        return self._variable

    @property
    def is_mixed(self) -> bool:
        return self._compute != self._variable

    quantization_mode = None  # Keras's attribute: thawnet has no quantized policies

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict) -> "DTypePolicy":
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


def get(identifier: Any) -> DTypePolicy:
    """A policy from None (the global one), a name, a dtype, a config dict or a policy."""
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return DTypePolicy(**identifier.get("config", identifier))
    if not isinstance(identifier, str):
        try:
            identifier = jnp.dtype(identifier).name
        except TypeError:
            raise ValueError(f"Cannot interpret {identifier!r} as a dtype policy: pass a name "
                             "such as 'float32' or 'mixed_float16'.") from None
    return DTypePolicy(identifier)


def set_dtype_policy(policy: Any) -> None:
    """The policy of layers created from now on without ``dtype=`` (Keras's global one)."""
    _global["policy"] = None if policy is None else get(policy)


def dtype_policy() -> DTypePolicy:
    return _global["policy"] or DTypePolicy("float32")


def autocast_dtype() -> Any:
    """The compute dtype float weights are read in right now, or None."""
    return _autocast.get()


def autocasting(dtype: Any) -> contextvars.Token:
    """Context-variable token setter: use ``token = autocasting(d)`` / ``reset(token)``."""
    return _autocast.set(dtype)


def reset_autocast(token: contextvars.Token) -> None:
    _autocast.reset(token)


@contextlib.contextmanager
def no_autocast() -> Iterator[None]:
    """Read weights in their stored dtype inside this block (Keras's ``autocast=False``
    weights: BatchNormalization's gamma, beta and moving statistics stay float32)."""
    token = _autocast.set(None)
    try:
        yield
    finally:
        _autocast.reset(token)


__all__ = ["DTypePolicy", "autocast_dtype", "dtype_policy", "get", "no_autocast",
           "set_dtype_policy"]
