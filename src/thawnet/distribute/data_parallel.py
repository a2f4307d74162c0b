"""Data parallelism over a device mesh, on JAX's own sharding machinery.

Weights, optimizer state and the (in-memory) data set are replicated over the mesh; each
batch gathered inside the compiled step is constrained to be sharded along the batch axis.
XLA's SPMD partitioner then runs the forward and backward pass on each device's slice,
all-reduces the gradients (the weights are replicated, so their gradients must be), and — as
BatchNormalization takes a mean over the batch axis — computes batch statistics over the
*global* batch. A data-parallel run therefore matches a single-device run with the same global
batch, up to floating-point summation order. No parameter server, no sockets of our own.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from thawnet.backend.types import Array


class DataParallel:
    """Replicate the model, shard each batch over ``devices``.

    Args:
        devices: the devices to use (default: all of ``jax.devices()``, across processes after
            :func:`thawnet.distribute.initialize`).
        mesh: a ready ``jax.sharding.Mesh`` instead of ``devices``; its first axis is the
            batch axis.

    >>> strategy = DataParallel()
    >>> strategy.num_devices >= 1
    True
    """

    def __init__(self, devices: Any = None, mesh: Any = None) -> None:
        if mesh is None:
            devices = list(jax.devices() if devices is None else devices)
            if not devices:
                raise ValueError("DataParallel needs at least one device; received none.")
            mesh = Mesh(np.array(devices), ("data",))
        self.mesh = mesh
        self.axis = mesh.axis_names[0]
        self.num_devices = int(mesh.devices.size)
        # XLA's CPU collectives can deadlock when many steps are queued ahead on forced host
        # devices (seen with a 784-512-512-10 MLP on 2 cores): wait for each step there.
        self.sync_each_step = mesh.devices.flat[0].platform == "cpu"
        self._replicated = NamedSharding(mesh, PartitionSpec())
        self._batch = NamedSharding(mesh, PartitionSpec(self.axis))

    def check_batch_size(self, batch_size: int | None) -> None:
        """The global batch must split evenly over the devices."""
        if batch_size % self.num_devices:
            raise ValueError(
                f"DataParallel over {self.num_devices} devices needs a global batch size "
                f"divisible by {self.num_devices}; received batch_size={batch_size}. Use "
                f"batch_size={batch_size - batch_size % self.num_devices or self.num_devices} "
                f"or {batch_size + self.num_devices - batch_size % self.num_devices}.")

    def replicate(self, tree: Any) -> Array:
        """Put every array of ``tree`` on all devices (works across processes too)."""
        def put(x):
            if x is None:
                return None
            if jax.process_count() == 1:
                return jax.device_put(x, self._replicated)
            host = np.asarray(x)
            return jax.make_array_from_callback(host.shape, self._replicated,
                                                lambda index: host[index])
        return jax.tree_util.tree_map(put, tree)

    def constrain_batch(self, batch: int) -> Array:
        """Inside the compiled step: shard the leading (batch) axis over the devices.

        A batch that does not split evenly (the last, partial one) stays replicated: it is
        computed redundantly on every device, with the same result.
        """
        def constrain(x):
            if x is None or x.ndim == 0 or x.shape[0] % self.num_devices:
                return x
            return jax.lax.with_sharding_constraint(x, self._batch)
        return jax.tree_util.tree_map(constrain, batch)

    @property
    def is_main_process(self) -> bool:
        """True on the process that prints progress and writes checkpoints."""
        return jax.process_index() == 0
