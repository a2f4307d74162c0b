"""``thawnet.utils.PyDataset``: batches computed by Python code, indexed by batch number.

Keras 3's API: a subclass returns whole batches from ``__getitem__(index)`` and their number
from ``__len__`` (or from the ``num_batches`` property, ``None`` for an infinite dataset).
``on_epoch_begin`` / ``on_epoch_end`` are called around every epoch of ``fit``.

``workers``, ``use_multiprocessing`` and ``max_queue_size`` tell ``fit``/``evaluate``/
``predict`` how to read it: ``workers > 1`` reads that many batches at once on threads, in
order, at most ``max_queue_size`` ahead. Threads suit the usual work of a dataset (reading
files, decoding images with Pillow, NumPy), which releases the GIL. ``use_multiprocessing=True``
is accepted for Keras compatibility but also runs on threads (thawnet does not fork a
process holding a JAX runtime); a warning says so once.

Because batches are indexed, a run interrupted mid-epoch resumes at exactly the right batch
(:class:`thawnet.callbacks.BackupAndRestore`, ``fit(resume_from=...)``).
"""

from __future__ import annotations

import itertools


class PyDataset:
    """Base class of datasets that compute their batches in Python.

    Args:
        workers: number of threads reading batches at once (1: read in the training loop's
            prefetching thread only).
        use_multiprocessing: accepted for Keras compatibility; thawnet reads with threads.
        max_queue_size: most batches read ahead of the training step.

    Example:
        >>> import numpy as np
        >>> class Squares(PyDataset):
        ...     def __len__(self):
        ...         return 3
        ...     def __getitem__(self, index):
        ...         x = np.full((2, 1), index, "float32")
        ...         return x, x ** 2
        >>> data = Squares(workers=2)
        >>> len(data), data.workers, data[2][1].ravel().tolist()
        (3, 2, [4.0, 4.0])
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    # Subclasses that forget super().__init__() still work with the defaults (as in Keras).
    @property
    def workers(self) -> int:
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int):
        """The batch at ``index``: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index), "
                                  "returning the batch at that position.")

    @property
    def num_batches(self) -> int | None:
        """Number of batches (``len(self)``), or None for an infinite dataset."""
        if hasattr(type(self), "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ (the number "
                                  "of batches) or the num_batches property (None: infinite).")

    def __iter__(self):
        count = self.num_batches
        for index in (range(count) if count is not None else itertools.count()):
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch (e.g. to reshuffle the samples)."""


# Keras 2's name, kept by Keras 3 as an alias.
Sequence = PyDataset
