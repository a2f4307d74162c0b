"""How the trainer cuts an epoch into device calls, and when it reads the logs back.

A device call runs one step or a block of ``steps_per_execution`` steps; a resumed epoch
skips the steps already done; per-batch logs cost a device sync, so they are read only when
a callback or the progress bar will look at them.
"""

from __future__ import annotations

import time

import jax
import numpy as np
from thawnet.training.data import gather_rows


class BatchLogPolicy:
    """Per-batch logs cost a device sync: compute them only when someone reads them."""

    def __init__(self, callbacks, verbose):
        # Imported here: thawnet.callbacks loads on first use (import thawnet stays light).
        from thawnet.callbacks import History, ProgbarLogger
        others = [cb for cb in callbacks.callbacks
                  if not isinstance(cb, (History, ProgbarLogger))]
        self.every_step = any(getattr(cb, "needs_batch_logs", False) for cb in others)
        # A bar on a terminal wants fresh numbers a few times a second; in a log file, never.
        progbar = callbacks.progbar
        self.progbar = progbar is not None and progbar.needs_batch_logs
        self.last = 0.0

    def wants(self, is_last):
        if self.every_step:
            return True
        if self.progbar and (is_last or time.monotonic() - self.last > 0.1):
            self.last = time.monotonic()
            return True
        return False


def fits_one_batch(x, batch_size):
    leaves = [x] if isinstance(x, np.ndarray) else jax.tree_util.tree_leaves(x)
    if not leaves or not all(isinstance(a, np.ndarray) or hasattr(a, "devices") for a in leaves):
        return False
    n = leaves[0].shape[0] if leaves[0].ndim else 0
    return 0 < n <= (batch_size or 32) and all(a.shape[0] == n for a in leaves)


def resumed_blocks(n, k, skip):
    """``(start, size)`` of the execution blocks of ``n`` steps, ``k`` at a time (a shorter
    tail one by one), leaving out the first ``skip`` steps (one by one up to a block edge)."""
    blocks = [(s, k) for s in range(0, n - n % k, k)] + [(s, 1) for s in range(n - n % k, n)]
    out = []
    for start, size in blocks:
        if start + size <= skip:
            continue
        if start < skip:
            out.extend((s, 1) for s in range(skip, start + size))
        else:
            out.append((start, size))
    return out


def blocks(idx, k):
    """Split ``(steps, batch)`` indices into blocks of ``k`` steps; a shorter tail runs step by
    step, so at most two scan lengths (k and 1) are ever compiled."""
    n = idx.shape[0]
    full = (n // k) * k
    for start in range(0, full, k):
        yield start, idx[start:start + k]
    for start in range(full, n):
        yield start, idx[start:start + 1]


class BatchSource:
    """Where the steps of an in-memory data set read their batches.

    On the CPU backend the device memory is the host's: copying the whole data set per
    ``fit`` and gathering each batch in a program of its own costs more than the steps save,
    so the rows of each block are taken from the NumPy arrays and handed to the step, one
    device call per step; without shuffling a step's rows are one slice, so nothing is
    gathered. How they reach the step (NumPy arguments or ``device_put`` first) is
    ``transfer``'s choice (:mod:`thawnet.training.host_transfer`; ``device_put`` without
    one). On an accelerator (or data-parallel) the data set is on the device and a compiled
    gather takes the rows by index there.
    """

    def __init__(self, dataset, place, distributed: bool, transfer=None):
        self.on_host = not distributed and jax.default_backend() == "cpu"
        self.data = ((dataset.x, dataset.y, dataset.sample_weight) if self.on_host
                     else dataset.device_data)
        self.place = place or (lambda value: value)
        # Unshuffled, each step's rows are consecutive (ArrayDataset.index_batches).
        self.consecutive = not getattr(dataset, "shuffle", True)
        self.transfer = transfer

    def table(self, idx: np.ndarray):
        """The index table of a chunk of steps, where the batches will be read."""
        return idx if self.on_host else self.place(idx)

    def rows(self, table, start: int, size: int):
        """``size`` batches from row ``start`` of ``table`` (unstacked when ``size == 1``)."""
        if not self.on_host:
            return gather_rows(self.data, table, np.int32(start), size)
        rows = table[start] if size == 1 else table[start:start + size]
        if size == 1 and self.consecutive:
            first = int(rows[0])
            batch = jax.tree_util.tree_map(lambda a: a[first:first + rows.shape[0]], self.data)
        else:
            batch = jax.tree_util.tree_map(lambda a: np.take(a, rows, axis=0), self.data)
        # Streamed batches are put the same way: both paths run the same compiled programs.
        return self.transfer.prepare(batch) if self.transfer else jax.device_put(batch)
