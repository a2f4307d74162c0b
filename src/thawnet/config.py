"""thawnet.config: Keras 3's session-wide settings (``keras.config``).

>>> import thawnet
>>> thawnet.config.image_data_format()
'channels_last'
"""

from __future__ import annotations

from thawnet.backend.dtype_policy import DTypePolicy, dtype_policy, set_dtype_policy
from thawnet.backend.global_config import (epsilon, image_data_format, set_epsilon,
                                           set_image_data_format)
from thawnet.layers._attention_common import (disable_flash_attention, enable_flash_attention,
                                              is_flash_attention_enabled)


def backend() -> str:
    """The engine underneath: always ``"jax"``."""
    return "jax"


def floatx() -> str:
    """The default float dtype: the variable dtype of the global dtype policy."""
    return dtype_policy().variable_dtype


def set_floatx(value: str) -> None:
    """Set the default float dtype (a plain, non-mixed dtype policy of that name)."""
    set_dtype_policy(DTypePolicy(value))


__all__ = ["backend", "disable_flash_attention", "dtype_policy", "enable_flash_attention",
           "epsilon", "floatx", "image_data_format", "is_flash_attention_enabled",
           "set_dtype_policy", "set_epsilon", "set_floatx", "set_image_data_format"]
