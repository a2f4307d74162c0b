"""TensorBoard: write the training scalars (and optionally weight histograms) as event files."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from thawnet.callbacks.base import Callback
from thawnet.backend.types import Logs, PathLike

_INSTALL_HINT = ("The TensorBoard callback needs the `tensorboardX` package to write event files. "
                 "Install it with `pip install tensorboardX`.")


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as err:
        raise ImportError(_INSTALL_HINT) from err
    return SummaryWriter


class TensorBoard(Callback):
    """Log the epoch (and optionally batch) metrics for TensorBoard, laid out as Keras does.

    ``<log_dir>/train`` receives ``epoch_<name>`` scalars for the training logs plus
    ``epoch_learning_rate``; ``<log_dir>/validation`` receives the ``val_`` logs with the prefix
    removed (``epoch_loss``, ``epoch_accuracy``, ...), so TensorBoard overlays train and
    validation curves. Steps are the 0-based epoch indices. With ``update_freq`` "batch" or N,
    ``batch_<name>`` scalars are written every N training batches (step = global batch count).
    Evaluations write ``evaluation_<name>_vs_iterations`` to the validation folder when the
    model exposes an ``iterations`` step count.

    Args:
        log_dir: where to write the event files.
        histogram_freq: write a histogram of every weight each this many epochs (0: never).
        write_graph: accepted for Keras compatibility; a JAX program has no TensorFlow graph to
            draw, so nothing is written for it.
        write_steps_per_second: also log ``epoch_steps_per_second`` (needs ``params["steps"]``).
        update_freq: "epoch", "batch" or an int number of batches.
        write_images, profile_batch, embeddings_freq, embeddings_metadata: Keras options that
            thawnet does not support; only their "off" values are accepted.

    Requires the ``tensorboardX`` package (imported when the first event file is opened).
    """

    def __init__(self, log_dir: PathLike = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq: str = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None
            ) -> None:
        super().__init__()
        for name, value in (("write_images", write_images), ("profile_batch", profile_batch),
                            ("embeddings_freq", embeddings_freq),
                            ("embeddings_metadata", embeddings_metadata)):
            if value:
                raise NotImplementedError(f"TensorBoard({name}={value!r}) is not supported by "
                                          "thawnet; leave it at its default.")
        if update_freq != "epoch" and update_freq != "batch" and not (
                isinstance(update_freq, int) and update_freq > 0):
            raise ValueError("update_freq must be 'epoch', 'batch' or a positive integer; got "
                             f"{update_freq!r}.")
        _summary_writer_class()  # fail now, with the fix, if tensorboardX is missing
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_start_time = None

    @property
    def needs_batch_logs(self) -> bool:
        return self.update_freq != "epoch"

    # -- writers ------------------------------------------------------------------------------
    def _writer(self, which):
        writer = self._writers.get(which)
        if writer is None:
            folder = self._train_dir if which == "train" else self._val_dir
            writer = _summary_writer_class()(logdir=folder)
            self._writers[which] = writer
        return writer

    def _scalars(self, which, items, step, prefix, suffix=""):
        writer = None
        for name, value in items:
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue  # non-scalar logs are not plotted
            if writer is None:
                writer = self._writer(which)
            writer.add_scalar(f"{prefix}{name}{suffix}", value, global_step=step)
        if writer is not None:
            writer.flush()

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # -- hooks --------------------------------------------------------------------------------
    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._close_writers()

    def on_train_begin(self, logs: Logs = None) -> None:
        self._global_train_batch = 0

    def on_train_end(self, logs: Logs = None) -> None:
        self._close_writers()

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._epoch_start_time = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._global_train_batch += 1
        if self.update_freq == "epoch" or not logs:
            return
        if self._global_train_batch % self.update_freq == 0:
            self._scalars("train", logs.items(), self._global_train_batch, "batch_")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = dict(logs or {})
        if logs:
            train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
            val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
            learning_rate = self._learning_rate()
            if learning_rate is not None:
                train_logs["learning_rate"] = learning_rate
            if self.write_steps_per_second:
                steps = (self.params or {}).get("steps")
                if steps and self._epoch_start_time is not None:
                    elapsed = time.perf_counter() - self._epoch_start_time
                    train_logs["steps_per_second"] = steps / max(elapsed, 1e-12)
            if train_logs:
                self._scalars("train", train_logs.items(), epoch, "epoch_")
            if val_logs:
                self._scalars("val", val_logs.items(), epoch, "epoch_")
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    def on_test_end(self, logs: Logs = None) -> None:
        iterations = getattr(self.model, "iterations", None)
        if logs and iterations is not None:
            self._scalars("val", logs.items(), int(iterations), "evaluation_",
                          "_vs_iterations")

    def _learning_rate(self):
        getter = getattr(self.model, "get_learning_rate", None)
        if getter is None:
            return None
        try:
            return float(getter())
        except Exception:  # noqa: BLE001 - e.g. not compiled yet: no rate to plot
            return None

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for name, value in self._named_weights():
            writer.add_histogram(f"{name}/histogram", np.asarray(value), global_step=epoch)
        writer.flush()

    def _named_weights(self):
        """``(name, value)`` per weight: values from ``model.get_weights()`` (the contract),
        names from the weights' paths when the model lists them in the same order."""
        values = self.model.get_weights()
        names = []
        try:
            names = [str(getattr(w, "path", None) or getattr(w, "name", "")).replace(":", "_")
                     for w in (getattr(self.model, "weights", None) or [])]
        except Exception:  # noqa: BLE001 - naming is best effort
            names = []
        if len(names) != len(values) or not all(names) or len(set(names)) != len(names):
            names = [f"weight_{i}" for i in range(len(values))]
        return list(zip(names, values))
