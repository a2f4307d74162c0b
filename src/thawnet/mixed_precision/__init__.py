"""thawnet.mixed_precision: Keras 3's namespace for mixed-precision training.

A policy names the dtype layers compute in and the dtype their weights are stored in:

* ``"mixed_bfloat16"``: compute in bfloat16, weights float32 (GPUs from Ampere on, TPUs);
* ``"mixed_float16"``: compute in float16, weights float32; ``compile`` then wraps the
  optimizer in a :class:`LossScaleOptimizer`, so small gradients do not underflow;
* ``"float32"`` (the default), or any single dtype.

The global policy applies to layers created after it is set; ``dtype=`` on a layer (a name
or a :class:`DTypePolicy`) overrides it for that layer. Normalization layers compute their
statistics in float32 and losses are computed in float32 whatever the policy.

>>> from thawnet import mixed_precision
>>> mixed_precision.set_global_policy("mixed_bfloat16")
>>> policy = mixed_precision.global_policy()
>>> policy.compute_dtype, policy.variable_dtype
('bfloat16', 'float32')
>>> mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

from typing import Any

from thawnet.backend.dtype_policy import DTypePolicy, dtype_policy, set_dtype_policy
from thawnet.optimizers.loss_scale_optimizer import LossScaleOptimizer

# Keras 2's name for the class, kept by Keras 3 as an alias.
Policy = DTypePolicy


def set_global_policy(policy: Any) -> None:
    """Set the policy of layers created from now on without ``dtype=``.

    Args:
        policy: a name (``"mixed_bfloat16"``, ``"mixed_float16"``, ``"float32"``, ...), a
            :class:`DTypePolicy`, or None for the default (``"float32"``).

    Raises:
        ValueError: for anything else, naming what was received.
    """
    if policy is not None and not isinstance(policy, (str, DTypePolicy)):
        raise ValueError(
            "set_global_policy: policy must be a name such as 'mixed_bfloat16' or a "
            f"DTypePolicy; received policy={policy!r} (a {type(policy).__name__}).")
    set_dtype_policy(policy)


def global_policy() -> DTypePolicy:
    """The policy of layers created without ``dtype=`` (``"float32"`` unless set)."""
    return dtype_policy()


__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]
