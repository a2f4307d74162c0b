"""How the trainer cuts an epoch into device calls, and when it reads the logs back.

A device call runs one step or a block of ``steps_per_execution`` steps; a resumed epoch
skips the steps already done; per-batch logs cost a device sync, so they are read only when
a callback or the progress bar will look at them.
"""

from __future__ import annotations

import time

import jax
import numpy as np


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
