"""Initial values of variables: drawn on the host with NumPy, seeded by the global seed and
a hash of the variable's path (DESIGN §7), or, for other initializers, in one compiled call
for many variables at once (:func:`materialize_all`)."""

from __future__ import annotations

import concurrent.futures
import os
import zlib

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.backend import random as random_lib


def path_hash(path: str) -> int:
    """A stable 31-bit hash of a path (Python's hash() is salted per process)."""
    return zlib.crc32(path.encode("utf-8")) & 0x7FFFFFFF


_INIT_PROGRAMS: dict = {}


def _initializer_signature(init):
    """A hashable description of an initializer: equal for equally configured ones."""
    get_config = getattr(init, "get_config", None)
    if get_config is not None:
        config = get_config()
        try:
            return (type(init).__name__, getattr(init, "keras_name", ""),
                    tuple(sorted(config.items())))
        except TypeError:  # an unhashable config value
            return init
    return init  # a plain callable: only the same object shares a program


def host_sample(variable) -> "np.ndarray | None":
    """The initial value drawn on the host, for initializers that can (thawnet's own).

    The generator is seeded by the global seed and a hash of the variable's path (or the
    initializer's own seed), so a value does not depend on construction or materialisation
    order.
    """
    sample = getattr(variable.initializer, "sample", None)
    if sample is None:
        return None
    seed = getattr(variable.initializer, "seed", None)
    rng = np.random.default_rng(
        seed if seed is not None else [random_lib.current_seed(), path_hash(variable.path)])
    return sample(rng, variable.shape, variable._dtype)


# Below this many values in all, threads cost more than they save.
_PARALLEL_VALUES = 1 << 20


def _draw_in_parallel(variables) -> list:
    """``host_sample`` of each variable, the big ones drawn on several threads at once.

    Each variable has its own generator (seeded by its path) and NumPy's generators release
    the GIL while they fill an array, so the draws run side by side on the cores and every
    value is the same as drawn one after the other (VGG16's 138M values: see BENCHMARKS.md).
    """
    total = sum(int(np.prod(v.shape)) for v in variables)
    workers = min(os.cpu_count() or 1, 8, len(variables))
    if workers < 2 or total < _PARALLEL_VALUES:
        return [host_sample(v) for v in variables]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(host_sample, variables))


def materialize_all(variables) -> None:
    """Initialise every unmaterialised variable: thawnet's initializers on the host (NumPy,
    no compilation), any other callables in one compiled call.

    Each variable gets ``fold_in(base_key, hash(path))``, so values are the same as if each
    were initialised on its own, but XLA sees a single program instead of one per weight. The
    program depends only on the initializers, shapes and dtypes (the path hashes are an
    argument), so building the same architecture again reuses it without compiling.
    """
    pending = [v for v in variables if not v.is_materialized]
    host = [v for v in pending if hasattr(v.initializer, "sample")]
    if host:
        # NumPy on the host: no compilation at all (faster than any XLA program here).
        values = jax.device_put(_draw_in_parallel(host))
        for v, val in zip(host, values):
            v._value = jnp.asarray(val, v._dtype)
        pending = [v for v in pending if not v.is_materialized]
    if not pending:
        return
    if len(pending) == 1:
        pending[0].materialize()
        return
    signature = tuple((_initializer_signature(v.initializer), v.shape, v._dtype.name)
                      for v in pending)
    program = _INIT_PROGRAMS.get(signature)
    if program is None:
        specs = [(v.initializer, v.shape, v._dtype) for v in pending]

        def init_all(base, hashes):
            return [jnp.asarray(init(jax.random.fold_in(base, hashes[i]), shape, dtype), dtype)
                    for i, (init, shape, dtype) in enumerate(specs)]

        program = _INIT_PROGRAMS[signature] = jax.jit(init_all)
    hashes = np.array([path_hash(v.path) for v in pending], np.uint32)
    values = program(random_lib.base_key(), hashes)
    for v, val in zip(pending, values):
        v._value = val
