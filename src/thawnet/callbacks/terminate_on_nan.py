"""TerminateOnNaN: stop training at the first step whose loss or update is not finite."""

from __future__ import annotations

import math

from thawnet.callbacks.base import Callback, print_msg
from thawnet.backend.types import Logs, TensorLike


class TerminateOnNaN(Callback):
    """Stop training when a step's loss is NaN/inf, or its update makes weights non-finite.

    With this callback, ``fit`` checks every step inside the compiled step itself (see
    :mod:`thawnet.training.nonfinite_guard`): a step whose loss is not finite, or whose new
    trainable weights or statistics are not finite (a finite loss whose update overflows, e.g.
    SGD with ``learning_rate=1e38``), is not applied, and neither is any later step of the
    same device call (``compile(steps_per_execution=k)``). The model ends with the weights,
    statistics, optimizer state and RNG of the last finite step — the same as with
    ``steps_per_execution=1`` — and training stops.

    Where it stopped is printed ("Epoch 1, batch 6: non-finite loss, terminating training ...")
    and kept in :attr:`stopped_at`. Outside ``fit``'s guard (the callback driven by hand), it
    falls back to Keras's check of the batch logs' "loss".

    Args:
        raise_error: raise a RuntimeError instead of stopping quietly.

    Attributes:
        stopped_at: None, or a :class:`thawnet.training.nonfinite_guard.NonFiniteStop` with
            ``epoch``, ``batch`` (the first step not applied, 0-based in its epoch) and
            ``reason`` (``"loss"`` or ``"update"``) of the last ``fit``.

    Example:
        >>> import numpy as np, thawnet
        >>> model = thawnet.Sequential([thawnet.layers.Input(shape=(2,)),
        ...                             thawnet.layers.Dense(1)])
        >>> model.compile(optimizer=thawnet.optimizers.SGD(1e38), loss="mse")
        >>> guard = thawnet.callbacks.TerminateOnNaN()
        >>> _ = model.fit(np.ones((8, 2)), np.full((8, 1), 100.0), batch_size=4, verbose=0,
        ...               callbacks=[guard])  # doctest: +ELLIPSIS
        Epoch 1, batch 0: non-finite update, ...
        >>> guard.stopped_at.batch, guard.stopped_at.reason
        (0, 'update')
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error
        self.stopped_at = None

    def on_train_begin(self, logs: Logs = None) -> None:
        self.stopped_at = None

    def on_nonfinite_step(self, stop: TensorLike) -> None:
        """Called by ``fit`` when its in-step guard found a non-finite step.

        Args:
            stop: the :class:`~thawnet.training.nonfinite_guard.NonFiniteStop`.
        """
        self.stopped_at = stop
        message = (f"Epoch {stop.epoch + 1}, batch {stop.batch}: non-finite {stop.reason}, "
                   "terminating training; this step and the ones after it were not applied "
                   "(the model keeps the last finite weights).")
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf {stop.reason} encountered at batch {stop.batch} "
                               f"of epoch {stop.epoch + 1}. {message}")
        print_msg(message)
        self.model.stop_training = True

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if self.stopped_at is not None:  # the guard already reported this stop
            return
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                                   f"{loss}. Terminating training immediately.")
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
