"""thawnet.distribute: data-parallel training on jax.sharding, across processes with
jax.distributed."""

from thawnet.distribute.data_parallel import DataParallel
from thawnet.distribute.multiprocess import initialize, launch

__all__ = ["DataParallel", "initialize", "launch"]
