"""History: records the epoch logs of a fit; ``fit`` returns it."""

from __future__ import annotations

from thawnet.callbacks.base import Callback
from thawnet.backend.types import Logs


class History(Callback):
    """Records every epoch's logs.

    Attributes:
        history: ``{key: [value at each epoch, ...]}``, e.g. ``history.history["val_loss"]``.
        epoch: the epoch indices recorded (0-based).
        params: ``{"epochs", "steps", "verbose"}`` of the fit.
        audit: filled in by the trainer after the fit (None until then).
    """

    def __init__(self) -> None:
        super().__init__()
        self.history = {}
        self.epoch = []
        self.audit = None

    def on_train_begin(self, logs: Logs = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:  # the model's history is the latest one, as in Keras
            try:
                self.model.history = self
            except AttributeError:
                pass

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"
