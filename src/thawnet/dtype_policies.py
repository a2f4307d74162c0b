"""thawnet.dtype_policies: Keras 3's namespace for :class:`DTypePolicy`."""

from thawnet.backend.dtype_policy import DTypePolicy, dtype_policy, get, set_dtype_policy

__all__ = ["DTypePolicy", "dtype_policy", "get", "set_dtype_policy"]
