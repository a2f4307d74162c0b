"""TerminateOnNaN: stop training as soon as the batch loss is NaN or infinite."""

from __future__ import annotations

import math

from thawnet.callbacks.base import Callback, print_msg


class TerminateOnNaN(Callback):
    """Stop training when the training loss of a batch is NaN or inf.

    Sets ``model.stop_training``; the trainer stops after that step. The thawnet trainer only
    commits a step's new weights when its loss is finite, so the weights left in the model are
    the last finite ones (those from before the offending step) — not NaN-poisoned weights.

    Args:
        raise_error: raise a RuntimeError instead of stopping quietly.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
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
