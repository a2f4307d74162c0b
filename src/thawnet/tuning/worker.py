"""Worker processes: load a build function and a data file, run trials of a shared study.

Start as many workers as you like on one storage (PostgreSQL/MySQL for many machines, SQLite
for a few processes on one machine); each asks the study for trials until it ran its share::

    python -m thawnet.tuning.cli_tune worker model.py:build --data data.npz \\
        --storage postgresql://user@host/db --study search1 --trials 10
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

import numpy as np

from thawnet.tuning.tuner import Tuner
from thawnet.backend.types import PathLike, SeedLike

DATA_KEYS = ("x", "y", "x_val", "y_val")


def load_build_fn(spec: Any) -> Any:
    """The function named by ``spec``: ``path/to/file.py:function`` or ``module:function``.

    Args:
        spec: the spec string, or a callable (returned as is).

    Returns:
        The build function.

    Raises:
        ValueError: a malformed spec, a missing file or attribute.
    """
    if callable(spec):
        return spec
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"build function spec must look like 'file.py:build_fn' or "
                         f"'package.module:build_fn'; received {spec!r}.")
    where, _, name = spec.rpartition(":")
    if where.endswith(".py"):
        if not os.path.exists(where):
            raise ValueError(f"build function spec {spec!r}: no such file {where!r}.")
        module_name = "_thawnet_tuning_" + os.path.splitext(os.path.basename(where))[0]
        module_spec = importlib.util.spec_from_file_location(module_name, where)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    fn = getattr(module, name, None)
    if fn is None or not callable(fn):
        raise ValueError(f"build function spec {spec!r}: {where} has no function {name!r}.")
    return fn


def load_data(path: PathLike) -> tuple:
    """Arrays from an ``.npz`` file with ``x``, ``y`` and optionally ``x_val``, ``y_val``.

    Returns:
        ``(x, y, validation_data)``; ``validation_data`` is None without x_val/y_val.

    Raises:
        ValueError: the file lacks x or y, or has only one of x_val / y_val.
    """
    if not os.path.exists(path):
        raise ValueError(f"data file {path!r} not found; write one with "
                         "np.savez(path, x=..., y=..., x_val=..., y_val=...).")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise ValueError(f"data file {path!r} has no {' / '.join(missing)} array; it holds "
                         f"{sorted(arrays)}. Save it with np.savez(path, x=..., y=...).")
    if ("x_val" in arrays) != ("y_val" in arrays):
        raise ValueError(f"data file {path!r} has only one of x_val / y_val; give both or "
                         "neither.")
    validation = (arrays["x_val"], arrays["y_val"]) if "x_val" in arrays else None
    return arrays["x"], arrays["y"], validation


def run_worker(spec: Any, storage: Any, study_name: str | None, data_path: Any, n_trials: int,
               objective: str | Any = "val_loss", epochs: int = 10, batch_size: int | None = 32,
               direction: Any = None, sampler: str = "tpe", pruner: str = "median",
               seed: SeedLike = None, directory: PathLike = ".", max_trials: int | None = None,
               validation_split: float = 0.0, verbose: int | str = 1,
               heartbeat_interval: Any = None, grace_period: Any = None, max_retry: int = 0,
               compile_cache: bool = True) -> Any:
    """Run ``n_trials`` trials of a shared study in this process.

    Args:
        spec: ``file.py:build_fn``, ``module:build_fn`` or the function itself.
        storage: an Optuna storage URL shared by all workers (None: the SQLite file in
            ``directory``).
        study_name: the study (created by the first worker, joined by the others).
        data_path: an ``.npz`` with x, y and optionally x_val, y_val.
        n_trials: how many trials this worker runs.
        objective, epochs, batch_size, direction, sampler, pruner, seed, directory,
            validation_split: as for :class:`Tuner` and :meth:`Tuner.search`. Give each
            worker its own ``seed`` (or None): workers with one seed draw the same params.
        max_trials: optional cap on the study's total trials.
        verbose: 1 prints one line per trial, prefixed with ``[worker <pid>]``.
        heartbeat_interval, grace_period, max_retry: stale-trial handling (see
            :mod:`thawnet.tuning.storage`).
        compile_cache: as for :class:`Tuner`; point all workers at one folder to compile
            each architecture once.

    Returns:
        The numbers of the trials this worker ran.
    """
    build_fn = load_build_fn(spec)
    x, y, validation = load_data(data_path)
    tuner = Tuner(build_fn, objective=objective, max_trials=max_trials, direction=direction,
                  sampler=sampler, pruner=pruner, storage=storage, study_name=study_name,
                  seed=seed, directory=directory, heartbeat_interval=heartbeat_interval,
                  grace_period=grace_period, max_retry=max_retry, compile_cache=compile_cache)
    return tuner.search(x, y, validation_data=validation, validation_split=validation_split,
                        epochs=epochs, batch_size=batch_size, verbose=verbose,
                        n_trials=n_trials, progress_prefix=f"[worker {os.getpid()}] ")
