"""A background thread that reads, converts, checks and transfers batches ahead of the step.

The training loop then only takes device arrays from a queue: while the device runs step
``i``, the thread has already produced batch ``i + 1`` (Python code of a generator or a
PyDataset, ``np.asarray``, checks, ``jax.device_put``). The queue is bounded, so at most
``depth`` batches wait on the device.

The thread holds no reference to its owner: when the owner is dropped (the end of ``fit``),
a finalizer stops the thread and releases the queued batches, even when ``fit`` ended by an
exception.
"""

from __future__ import annotations

import queue
import threading
import weakref

_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def _produce(iterator, prepare, out: queue.Queue, stop: threading.Event, first_index: int):
    index = first_index
    try:
        for raw in iterator:
            if stop.is_set():
                return
            item = prepare(index, raw)
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            index += 1
        item = _END
    except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
        item = _Failure(error)
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _shutdown(stop: threading.Event, out: queue.Queue, thread: threading.Thread,
              iterator) -> None:
    stop.set()
    while True:  # unblock a producer waiting on a full queue
        try:
            out.get_nowait()
        except queue.Empty:
            break
    if thread is not threading.current_thread():
        thread.join(timeout=5.0)
    close = getattr(iterator, "close", None)
    if callable(close) and not thread.is_alive():
        try:
            close()  # a generator of worker threads shuts its pool down
        except (RuntimeError, ValueError):
            pass  # a generator still running elsewhere: it ends with the process


class Prefetcher:
    """Iterate ``prepare(index, raw)`` for the items of ``iterator``, computed ahead on a
    thread.

    Args:
        iterator: raw batches.
        prepare: ``(index, raw) -> item`` (convert, check, ``device_put``); its exceptions
            are raised by ``next`` at the batch where they happened.
        depth: items computed ahead (the queue's size).
        first_index: the number of the first batch, for ``prepare`` and messages.
    """

    def __init__(self, iterator, prepare, depth: int = 2, first_index: int = 0):
        self._queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._done = False
        self._pending = []  # an item taken by has_more() and not yet returned
        thread = threading.Thread(target=_produce, name="thawnet-prefetch", daemon=True,
                                  args=(iterator, prepare, self._queue, self._stop,
                                        first_index))
        thread.start()
        self._finalizer = weakref.finalize(self, _shutdown, self._stop, self._queue, thread,
                                           iterator)

    def __iter__(self):
        return self

    def __next__(self):
        if self._pending:
            return self._pending.pop()
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._done = True
            raise item.error
        return item

    def has_more(self) -> bool:
        """Whether another item follows (waits for it; the item is kept for ``next``)."""
        if not self._pending:
            try:
                self._pending.append(next(self))
            except StopIteration:
                return False
        return True

    def close(self) -> None:
        """Stop the thread and drop the batches it computed ahead."""
        self._done = True
        self._finalizer()
