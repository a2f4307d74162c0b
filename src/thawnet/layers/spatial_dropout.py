"""SpatialDropout1D/2D/3D: Dropout of whole feature maps (Tompson et al., 2015).

One keep/drop decision per sample and channel, shared by every position of that channel, so
strongly correlated neighbouring activations are dropped together. In training, kept channels
are scaled by ``1 / (1 - rate)``; at inference the layer is the identity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from thawnet.backend.types import Config, DTypeLike, SeedLike, TensorTree
from thawnet.layers._conv_utils import data_format as _data_format
from thawnet.layers.dropout import Dropout
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import register
from thawnet.layers.noise import draw_key


class _SpatialDropout(Dropout):
    """Dropout whose mask has size 1 on every spatial axis."""

    _rank = 1

    def __init__(self, rate: float, data_format: str | None = None, seed: SeedLike = None,
                 name: str | None = None, dtype: DTypeLike | None = None, **kwargs) -> None:
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        who = f'{type(self).__name__} "{self.name}"'
        self.data_format = _data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def rank_hint(self, expected_rank: int) -> str:
        return (f"{type(self).__name__} takes (batch, {self._rank} spatial axes, channels) "
                "inputs (or channels first).")

    def call(self, inputs: TensorTree, training: bool | None = False) -> TensorTree:
        if not training or self.rate == 0:
            return inputs
        ndim = inputs.ndim
        channel = 1 if self.data_format == "channels_first" else ndim - 1
        shape = tuple(inputs.shape[d] if d in (0, channel) else 1 for d in range(ndim))
        keep = jax.random.bernoulli(draw_key(self), 1.0 - self.rate, shape)
        return jnp.where(keep, inputs / (1.0 - self.rate), jnp.zeros_like(inputs))

    def get_config(self) -> Config:
        # Keras's keys exactly (its constructors take no trainable/noise_shape arguments).
        config = {"rate": self.rate, "seed": self.seed, "name": self.name,
                  "dtype": self.dtype_policy.name}
        if self._rank > 1:
            config["data_format"] = self.data_format
        return config


@register
class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of ``(batch, steps, channels)`` inputs.

    Args:
        rate: float in [0, 1), fraction of the channels to drop.
        seed: optional int, fixes the masks of eager calls.
    """

    _rank = 1

    def __init__(self, rate: float, seed: SeedLike = None, name: str | None = None,
                 dtype: DTypeLike | None = None, **kwargs) -> None:
        super().__init__(rate, data_format="channels_last", seed=seed, name=name, dtype=dtype,
                         **kwargs)


@register
class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of ``(batch, rows, cols, channels)`` inputs.

    Args:
        rate: float in [0, 1), fraction of the channels to drop.
        data_format: "channels_last" (default) or "channels_first".
        seed: optional int, fixes the masks of eager calls.
    """

    _rank = 2


@register
class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes of ``(batch, d1, d2, d3, channels)`` inputs.

    Args:
        rate: float in [0, 1), fraction of the channels to drop.
        data_format: "channels_last" (default) or "channels_first".
        seed: optional int, fixes the masks of eager calls.
    """

    _rank = 3


__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]
