"""thawnet.dtype_policies: Keras 3's namespace for :class:`DTypePolicy`."""

from __future__ import annotations

from thawnet.backend.dtype_policy import DTypePolicy, dtype_policy, get, set_dtype_policy
from thawnet.backend.types import Config

# Keras 3's alias for the float policies ("float32", "mixed_bfloat16", ...).
FloatDTypePolicy = DTypePolicy


def serialize(policy: DTypePolicy) -> str:
    """How configs store a policy: by name (``get`` also reads Keras's dict form)."""
    return get(policy).name


def deserialize(config: Config) -> DTypePolicy:
    return get(config)


__all__ = ["DTypePolicy", "FloatDTypePolicy", "deserialize", "dtype_policy", "get", "serialize",
           "set_dtype_policy"]
