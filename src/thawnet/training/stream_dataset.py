"""A streamed data set: which batches each epoch of fit / evaluate / predict reads.

Epochs follow Keras 3:

* without ``steps``, an epoch is one pass over the source; a finite generator is read until it
  ends, and its length, learned then, is the progress bar's target afterwards;
* with ``steps``, an epoch is that many batches, and a generator continues where the last
  epoch stopped (so one of ``steps * epochs`` batches feeds a whole ``fit``);
* a source that runs out early gives a warning; a generator, which cannot start again, then
  stops training (Keras warns the same way). A re-iterable source (tf.data, DataLoader)
  starts a new pass in the next epoch;
* a source known to be infinite (a PyDataset whose ``num_batches`` is None, a ``tf.data``
  dataset of infinite cardinality, ``itertools.cycle``) without ``steps`` is an error at the
  start instead of an epoch that never ends.

A PyDataset is indexed, so batch ``s`` of epoch ``e`` is a pure function of ``(e, s)`` (with
``shuffle``, epoch pass ``p`` is permuted with ``seed + p``, as arrays are): a resumed run
reads exactly the batches the interrupted one would have. Other sources cannot be rewound;
a resume inside an epoch says so and continues with their next batches.
"""

from __future__ import annotations

import os
import sys
import warnings
import weakref

import jax
import numpy as np

from thawnet.training.batch_consistency import BatchChecker, unpack_batch
from thawnet.training.class_weight_checks import check_class_weight
from thawnet.training.data import class_weights_to_sample_weights
from thawnet.training.data_checks import (check_embedding_indices, check_finite,
                                          check_sparse_labels, check_targets)
from thawnet.training.data_prefetch import Prefetcher
from thawnet.training.data_sources import StreamSource


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _warn(message: str) -> None:
    """Warn, pointing at the user's fit / evaluate / predict call."""
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, stacklevel=level)


def _weak_prepare(dataset):
    """``dataset._prepare`` without a strong reference: the prefetching thread must not keep
    its data set alive, so that dropping the data set (the end of ``fit``) stops the thread."""
    ref = weakref.ref(dataset)

    def prepare(index, raw):
        owner = ref()
        if owner is None:
            raise RuntimeError("the data set of this prefetching thread was dropped")
        return owner._prepare(index, raw)

    return prepare


class StreamDataset:
    """Batches of a :class:`StreamSource`, prefetched to the device on a thread.

    Args:
        source: the adapted input.
        where: the call, for messages (``"fit()"``).
        what: the argument, for messages (``"x"``, ``"validation_data"``).
        steps: batches per epoch (``steps_per_epoch``, ``validation_steps``, ``steps``), or
            None for one pass.
        steps_name: that argument's name, for messages.
        shuffle: permute a PyDataset's batch order each pass (seeded).
        seed: seed of those permutations.
        class_weight: Keras's ``class_weight``, applied to each batch's targets.
        epochs: epochs of the fit (to tell when a generator runs out too early).
        place: puts a host batch on the device(s) (``jax.device_put``).
        check_shapes: check each batch's inputs against the model's declared input shapes.
            Pass whether the model was built before the call: a model built from the
            stream's first batch has declared nothing, and takes what its layers accept
            (Keras lets such a model see other sizes, e.g. a ``Reshape((-1, 8))``).
        fresh_pass: start every epoch at the beginning of a re-iterable source even with
            ``steps`` (validation data: the same batches every epoch, as in Keras); else
            ``steps`` batches continue where the last epoch stopped.
    """

    streamed = True  # checked batch by batch here, not whole by the trainer

    def __init__(self, source: StreamSource, where: str, what: str = "x", steps=None,
                 steps_name: str = "steps_per_epoch", shuffle: bool = False, seed: int = 0,
                 class_weight=None, epochs: int = 1, place=None, check_shapes: bool = True,
                 fresh_pass: bool = False):
        self.source, self.where, self.what = source, where, what
        self.kind = source.kind
        self.shuffle = shuffle and source.indexed
        self.seed, self.class_weight, self.epochs = seed, class_weight, epochs
        self.place = place or jax.device_put
        self.check_shapes, self.fresh_pass = check_shapes, fresh_pass
        if source.infinite and steps is None:
            raise ValueError(
                f"{where}: {what} is an infinite {self.kind} (it never ends), so an epoch "
                f"needs a length: pass {steps_name}=N, the number of batches per epoch.")
        if steps is not None and source.num_batches is not None and steps > source.num_batches:
            _warn(f"{where}: {steps_name}={steps} is more than the {source.num_batches}"
                  f" batches of the {self.kind} {what}; each epoch reads "
                  f"{source.num_batches}.")
            steps = source.num_batches
        self.steps = steps if steps is not None else source.num_batches
        if source.indexed and getattr(source.obj, "use_multiprocessing", False):
            _warn(f"{where}: {type(source.obj).__name__}(use_multiprocessing=True): thawnet "
                  f"reads a PyDataset's batches on {getattr(source.obj, 'workers', 1)} "
                  "thread(s), not processes (a forked process would copy the JAX runtime). "
                  "Threads run NumPy, Pillow and file reads in parallel; pure-Python batch "
                  "code does not speed up with more workers.")
        self._fixed_steps = steps
        self._checker = BatchChecker(where, f"{self.kind} {what}")
        self.model, self.loss = None, None
        first = unpack_batch(source.first(), 0, where, f"{self.kind} {what}")
        self.x, self.y, self.sample_weight = first
        if class_weight is not None:
            # Checked on the first batch's labels (the data arrives later); stacklevel: the
            # user's fit() through make_stream and the trainer.
            check_class_weight(class_weight, self.y, None, stacklevel=5)
        self.batch_size = int(jax.tree_util.tree_leaves(self.x)[0].shape[0])
        self._stream = None  # the prefetcher that lives across epochs (see batches)
        self.ran_out = False

    def attach(self, model, loss) -> "StreamDataset":
        """Check each batch against this (built) model and loss from now on."""
        self.model, self.loss = model, loss
        return self

    # -- one batch -------------------------------------------------------------------------
    def _prepare(self, index, raw):
        batch = unpack_batch(raw, index, self.where, f"{self.kind} {self.what}")
        if self.class_weight is not None and batch[1] is not None:
            batch = (batch[0], batch[1],
                     class_weights_to_sample_weights(batch[1], self.class_weight, batch[2]))
        self._checker.check(index, batch, self.model if self.check_shapes else None)
        if self.model is not None:
            try:
                self._check_values(batch)
            except ValueError as err:
                raise ValueError(f"{self.where}: batch {index} of the {self.kind} {self.what}: "
                                 f"{err}") from err
        return self.place(batch)

    def _check_values(self, batch):
        """The checks arrays get whole (``check_training_data``), on one batch; target
        shapes only against a model that declared its shapes (see ``check_shapes``)."""
        x, y, sample_weight = batch
        check_finite(x, "x")
        check_finite(y, "y")
        check_finite(sample_weight, "sample_weight")
        if self.check_shapes:
            check_targets(self.model, self.loss, y)
        check_sparse_labels(self.model, self.loss, y)
        check_embedding_indices(self.model, x, self.batch_size)

    # -- epochs ----------------------------------------------------------------------------
    def _epoch_span(self, epoch):
        """``(pass, first, count)``: epoch ``epoch`` reads ``count`` batches of pass ``pass``
        from position ``first`` on. As in Keras, an epoch of ``steps`` batches never runs
        into the next pass: the last epoch of a pass may be shorter (with a warning)."""
        n, per_epoch = self.source.num_batches, self.steps
        rank, position = 0, 0
        for _ in range(epoch):
            position += min(per_epoch, n - position)
            if position >= n:
                rank, position = rank + 1, 0
        return rank, position, min(per_epoch, n - position)

    def _indices(self, epoch, skip):
        """Batch indices of a PyDataset's epoch, from batch ``skip`` on (a pure function of
        the epoch: with ``shuffle``, pass ``p`` is permuted with ``seed + p``)."""
        rank, first, count = self._epoch_span(epoch)
        n = self.source.num_batches
        order = (np.random.default_rng(self.seed + rank).permutation(n) if self.shuffle
                 else np.arange(n))
        return [int(i) for i in order[first + skip:first + count]]

    def _epoch_stream(self, epoch, skip):
        """``(prefetcher, persistent)`` for this epoch."""
        source = self.source
        if source.indexed and source.num_batches is not None:
            batches = source.indexed_batches(self._indices(epoch, skip))
            return Prefetcher(batches, _weak_prepare(self), first_index=skip), False
        if source.indexed:  # infinite PyDataset with steps: index from the running position
            start = epoch * self._fixed_steps + skip
            batches = source.indexed_batches(range(start, start + self._fixed_steps - skip))
            return Prefetcher(batches, _weak_prepare(self), first_index=skip), False
        if source.one_shot or (self._fixed_steps is not None and not self.fresh_pass):
            if self._stream is None:
                self._stream = Prefetcher(source.new_pass(), _weak_prepare(self))
            return self._stream, True
        return Prefetcher(source.new_pass(), _weak_prepare(self)), False

    def batches(self, epoch: int = 0, skip: int = 0):
        """Yield ``(step, device_batch)`` for the batches of ``epoch`` from ``skip`` on.

        After the last one, ``ran_out`` says whether the source ended before the epoch's
        ``steps`` (a warning was given then); ``steps`` holds the learned epoch length.
        """
        source = self.source
        if skip and not source.indexed:
            _warn(
                f"{self.where}: resuming inside epoch {epoch + 1} at batch {skip}, but a "
                f"{self.kind} cannot be rewound to a batch position: the epoch continues "
                f"with the {self.kind}'s next batches, not with batch {skip} of the "
                "interrupted run, so the result is not bit-identical. Feed a "
                "thawnet.utils.PyDataset (indexed batches) to resume exactly.")
        self.ran_out = False
        source.on_epoch_begin()
        stream, persistent = self._epoch_stream(epoch, skip)
        step = skip
        try:
            while self._fixed_steps is None or step < self._fixed_steps:
                try:
                    batch = next(stream)
                except StopIteration:
                    if persistent and step == skip and not source.one_shot:
                        # A re-iterable ended exactly at the last epoch's end: a new pass.
                        stream = Prefetcher(source.new_pass(), _weak_prepare(self))
                        self._stream = stream
                        continue
                    break
                yield step, batch
                step += 1
        finally:
            if not persistent:
                stream.close()
        if self._fixed_steps is not None and step < self._fixed_steps:
            self.ran_out = True
            self._stream = None if not source.one_shot else self._stream
            self._warn_ran_out(epoch, step)
        elif self._fixed_steps is None and self.steps is None:
            self.steps = step  # the length of one pass, for the progress bar
        source.on_epoch_end()

    def no_more_epochs(self, epoch: int) -> bool:
        """After ``epoch``: True (with a warning) when a generator has no batch left for the
        epochs still to run; training then stops, as a generator cannot start again."""
        if not self.source.one_shot or epoch + 1 >= self.epochs:
            return False
        if self.ran_out:
            return True  # warned already
        stream = self._stream
        if stream is not None and stream.has_more():
            return False
        self._warn_ran_out(epoch + 1, 0)
        return True

    def _warn_ran_out(self, epoch, step):
        steps = self._fixed_steps
        if self.source.indexed:
            _warn(f"{self.where}: the {self.kind} {self.what} has {self.source.num_batches} "
                  f"batches, so epoch {epoch + 1} ends after {step} of {steps} batches: as in "
                  "Keras, an epoch does not run on into the next pass. Pass a steps value "
                  f"that divides {self.source.num_batches} to have full epochs.")
            return
        wanted = (f"at least {self._fixed_steps * self.epochs} batches ({self._fixed_steps} "
                  f"per epoch for {self.epochs} epochs)" if steps else
                  "a batch for every epoch")
        stops = ("training stops here" if self.source.one_shot and self.where == "fit()"
                 and self.what == "x" else "this pass ends early")
        _warn(
            f"{self.where}: the {self.kind} {self.what} ran out of data at batch {step} of "
            f"epoch {epoch + 1}; {stops}. It must give {wanted}: make the generator loop "
            "forever (and pass steps_per_epoch), or pass a PyDataset or a re-iterable dataset, "
            "which start a new pass every epoch.")

    def close(self) -> None:
        """Stop the prefetching thread of a stream that lives across epochs."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def make_stream(x, y=None, sample_weight=None, *, where: str, what: str = "x",
                validation_split: float = 0.0, **options) -> StreamDataset:
    """A :class:`StreamDataset` for a streamed ``x`` (see ``data_sources.is_stream``).

    Args:
        x: the generator / PyDataset / dataset.
        y, sample_weight: must be None: a stream yields its own targets and weights.
        where: the call, for messages.
        what: the argument, for messages.
        validation_split: must be 0: a stream cannot be split.
        **options: the other arguments of :class:`StreamDataset`.

    Raises:
        ValueError: ``y``, ``sample_weight`` or ``validation_split`` were given too.
    """
    source = StreamSource(x)
    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"{where}: {what} is a {source.kind}, which yields its own "
                             f"{name}: do not pass {name}= too. Yield (x, y) or (x, y, "
                             f"sample_weight) tuples instead; received {name} of type "
                             f"{type(value).__name__}.")
    if validation_split:
        raise ValueError(f"{where}: validation_split={validation_split} needs arrays, but x "
                         f"is a {source.kind}, which cannot be split. Pass validation_data= "
                         "(another generator or dataset, or arrays) instead.")
    return StreamDataset(source, where, what, **options)
