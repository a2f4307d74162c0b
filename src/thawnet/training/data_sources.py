"""Streamed data sources for fit / evaluate / predict: what is not an in-memory array.

Arrays (and lists/dicts of arrays) stay on the fast path of :mod:`thawnet.training.data`. Every
other input Keras 3 accepts is adapted here to one small interface, :class:`StreamSource`:

* Python generators and iterators (one pass: epochs continue where the last one stopped);
* :class:`thawnet.utils.PyDataset` / ``Sequence`` and anything shaped like it (``__getitem__``,
  ``__len__`` or ``num_batches``, ``on_epoch_end``: Keras's own ``PyDataset`` too): indexed,
  so an interrupted run resumes at the exact batch;
* objects that iterate like ``tf.data.Dataset``, a PyTorch ``DataLoader`` or a grain loader,
  and any other re-iterable object: a fresh pass every epoch.

They are recognised by duck typing (methods, and the name of the module that defines the
class); no framework is ever imported here. A batch is converted with ``np.asarray`` (a
PyTorch tensor through ``.detach().cpu()`` first).
"""

from __future__ import annotations

import itertools
import types
from concurrent.futures import ThreadPoolExecutor
from collections import deque

import numpy as np

_TF_INFINITE, _TF_UNKNOWN = -1, -2  # tf.data.experimental.INFINITE/UNKNOWN_CARDINALITY


def _class_modules(x) -> list:
    return [str(getattr(cls, "__module__", "")) for cls in type(x).__mro__]


def _is_array_like(x) -> bool:
    if isinstance(x, (np.ndarray, np.generic, str, bytes, int, float, bool)):
        return True
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _is_indexed_dataset(x) -> bool:
    """A PyDataset by its protocol: batches by index, a length, epoch hooks."""
    cls = type(x)
    return (hasattr(cls, "__getitem__") and callable(getattr(x, "on_epoch_end", None))
            and (hasattr(cls, "__len__") or hasattr(cls, "num_batches")))


def is_stream(x) -> bool:
    """True when ``x`` is streamed batch by batch (not an array or a list/dict of arrays).

    Args:
        x: the ``x`` (or ``validation_data``) given to fit / evaluate / predict.

    Returns:
        Whether a :class:`StreamSource` serves it.
    """
    if x is None or _is_array_like(x) or isinstance(x, (list, tuple, dict)):
        return False
    if any(m.startswith("pandas") for m in _class_modules(x)):
        return False  # DataFrames iterate over column names: arrays for us
    return (isinstance(x, types.GeneratorType) or hasattr(x, "__next__")
            or _is_indexed_dataset(x) or hasattr(type(x), "__iter__"))


def _kind(x) -> str:
    modules = _class_modules(x)
    if _is_indexed_dataset(x):
        return "PyDataset"
    if isinstance(x, types.GeneratorType):
        return "generator"
    if any(m.startswith("tensorflow") for m in modules) or hasattr(x, "as_numpy_iterator"):
        return "tf.data.Dataset"
    if any(m.startswith("torch") for m in modules):
        return "torch DataLoader"
    if any(m.startswith("grain") for m in modules):
        return "grain dataset"
    return "iterator" if hasattr(x, "__next__") else f"iterable ({type(x).__name__})"


def _known_infinite(x) -> bool:
    """Sources known to never end: ``itertools.count``/``cycle``/``repeat`` (no times)."""
    if isinstance(x, (itertools.count, itertools.cycle)):
        return True
    if isinstance(x, itertools.repeat):
        try:
            x.__length_hint__()  # repeat(obj, times) has one; repeat(obj) raises
        except TypeError:
            return True
    return False


def ordered_parallel(fetch, indices, workers: int, ahead: int):
    """``fetch(i)`` for each index on ``workers`` threads, yielded in order, at most
    ``ahead`` in flight (what a PyDataset's ``workers``/``max_queue_size`` mean)."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thawnet-pydataset")
    pending = deque()
    try:
        it = iter(indices)
        for index in itertools.islice(it, max(ahead, workers)):
            pending.append(pool.submit(fetch, index))
        while pending:
            result = pending.popleft().result()
            for index in itertools.islice(it, 1):
                pending.append(pool.submit(fetch, index))
            yield result
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)


class StreamSource:
    """One streamed input, with what the epoch loop needs to know about it.

    Attributes:
        obj: what the user passed.
        kind: its name in messages (``"generator"``, ``"PyDataset"``...).
        one_shot: a single pass (generator, iterator): epochs continue where the last stopped.
        indexed: batches by index (PyDataset): epochs can start at any batch.
        num_batches: batches in one pass when known, else None.
        infinite: the source is known never to end.
    """

    def __init__(self, obj):
        self.obj = obj
        self.kind = _kind(obj)
        self.indexed = _is_indexed_dataset(obj)
        self.one_shot = not self.indexed and (isinstance(obj, types.GeneratorType)
                                              or hasattr(obj, "__next__"))
        self.num_batches, self.infinite = None, _known_infinite(obj)
        if self.indexed:
            count = obj.num_batches if hasattr(type(obj), "num_batches") else len(obj)
            self.num_batches, self.infinite = (None, True) if count is None else (int(count),
                                                                                 False)
        elif hasattr(obj, "cardinality") and callable(obj.cardinality):
            count = int(np.asarray(obj.cardinality()))
            self.infinite = count == _TF_INFINITE
            self.num_batches = count if count >= 0 else None
        elif not self.one_shot and hasattr(type(obj), "__len__"):
            try:
                self.num_batches = int(len(obj))
            except TypeError:  # e.g. an iterable-style torch DataLoader
                self.num_batches = None
        self._shared = None  # the one pass of a one-shot source (with the peeked batch)
        self._peeked = None

    def first(self):
        """The first raw batch (to build the model and describe the structure); a one-shot
        source gives it again as the first batch of its pass.

        Raises:
            ValueError: the source yields no batch at all.
        """
        if self._peeked is None:
            if self.indexed:
                if self.num_batches == 0:
                    raise ValueError(f"The {self.kind} {type(self.obj).__name__} has no batch "
                                     "(its length is 0).")
                self._peeked = [self.obj[0]]
            else:
                it = self._new_pass() if not self.one_shot else iter(self.obj)
                self._peeked = list(itertools.islice(it, 1))
                if not self._peeked:
                    raise ValueError(f"The {self.kind} yielded no batch: it is empty (a "
                                     "generator that was already consumed?). Pass a new one.")
                if self.one_shot:
                    self._shared = itertools.chain(self._peeked, it)
        return self._peeked[0]

    def _new_pass(self):
        if hasattr(self.obj, "as_numpy_iterator"):  # tf.data: NumPy batches, no tensors
            return iter(self.obj.as_numpy_iterator())
        return iter(self.obj)

    def new_pass(self):
        """An iterator over the batches: a fresh pass, or (one-shot) the one pass so far."""
        if self.one_shot:
            self.first()
            return self._shared
        return self._new_pass()

    def indexed_batches(self, indices):
        """Batches ``obj[i]`` for ``indices``, read by the PyDataset's worker threads."""
        workers = int(getattr(self.obj, "workers", 1) or 1)
        if workers <= 1:
            return (self.obj[int(i)] for i in indices)
        ahead = int(getattr(self.obj, "max_queue_size", 10) or 10)
        return ordered_parallel(lambda i: self.obj[int(i)], indices, workers, ahead)

    def on_epoch_begin(self) -> None:
        hook = getattr(self.obj, "on_epoch_begin", None)
        if self.indexed and callable(hook):
            hook()

    def on_epoch_end(self) -> None:
        hook = getattr(self.obj, "on_epoch_end", None)
        if self.indexed and callable(hook):
            hook()


def host_leaf(value):
    """A batch leaf as a NumPy array (PyTorch tensors leave autograd and the GPU first)."""
    if any(m.startswith("torch") for m in _class_modules(value)) and hasattr(value, "detach"):
        value = value.detach().cpu()
    return np.asarray(value)
