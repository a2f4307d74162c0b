"""``predict``: outputs batch by batch in inference mode, mixed into the trainer.

One batch with nothing to report goes through the compiled ``model(x)``; arrays are read batch
by batch (:class:`~thawnet.training.step_blocks.BatchSource`); streams go through
:mod:`thawnet.training.stream_loop`. The compiled function is in the model's registry, per
trainable flags and weight structure (LoRA enabled or merged after a first call is seen).
"""

from __future__ import annotations

from typing import Any, Iterable

import jax
import numpy as np

from thawnet.backend.types import TensorTree
from thawnet.training import stream_loop
from thawnet.training.custom_step_functions import make_custom_predict_function, overrides
from thawnet.training.data import ArrayDataset
from thawnet.training.data_sources import is_stream
from thawnet.training.step_blocks import BatchSource, fits_one_batch
from thawnet.training.steps import make_predict_function
from thawnet.training.stream_dataset import make_stream
from thawnet.variables import materialize_all


class Prediction:
    """The predict methods of :class:`thawnet.training.trainer.Trainer`."""

    def predict(self, x: TensorTree | Iterable[Any], batch_size: int | None = None,
                verbose: int | str = "auto", steps: int | None = None, callbacks: list | None = None
            ) -> Any:
        """Outputs for ``x`` in inference mode, as NumPy arrays, batch by batch."""
        # Imported here: thawnet.callbacks loads on first use (import thawnet stays light).
        from thawnet.callbacks import CallbackList

        verbose = 1 if verbose == "auto" else verbose
        if (verbose == 0 and not callbacks and steps is None and self.built
                and not is_stream(x) and fits_one_batch(x, batch_size)
                and not overrides(self, "predict")):
            # One batch, nothing to report: the compiled model(x) path, no dataset plumbing.
            out = self._compiled_eager_call(x, False)
            return np.asarray(out) if hasattr(out, "shape") else jax.device_get(out)
        if is_stream(x):
            dataset = make_stream(x, where="predict()", steps=steps, steps_name="steps",
                                  place=stream_loop.placer(self))
            self._build_for(dataset.x)
            cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                               verbose=verbose, epochs=1, steps=dataset.steps)
            return stream_loop.predict(self, dataset, cbs)
        dataset = ArrayDataset(x, batch_size=batch_size)
        self._build_for(dataset.x)
        values = self._all_values()
        fn, carries = self._predict_fn(), self._carries_state()
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=1, steps=dataset.steps)
        self.stop_predicting = False
        cbs.on_predict_begin()
        chunks = []
        source = BatchSource(dataset, place=None, distributed=False)
        for first, idx in dataset.index_batches(0, steps):
            for i in range(idx.shape[0]):
                cbs.on_predict_batch_begin(first + i)  # numbered 0..n-1 over all chunks
                x_batch = source.rows(idx, i, 1)[0]
                chunks.append(self._predict_batch(fn, values, x_batch, carries))
                cbs.on_predict_batch_end(first + i, {"outputs": chunks[-1]})
                if self.stop_predicting:
                    break
            if self.stop_predicting:
                break
        cbs.on_predict_end()
        self._write_carried(values, carries)
        chunks = jax.device_get(chunks)
        return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=0), *chunks)

    def _all_values(self):
        by_path = self.variables_by_path()
        materialize_all(by_path.values())
        return {p: v.value for p, v in by_path.items()}

    def _predict_fn(self):
        return self._functions.get(
            "predict", self._layer_flags(), (),
            lambda: (make_custom_predict_function(self) if overrides(self, "predict")
                     else make_predict_function(self, self._carried_paths())))

    def _carried_paths(self):
        """Paths of the state that inference carries from batch to batch (stateful RNNs)."""
        return tuple(p for p, v in self.variables_by_path().items() if v.carried_in_inference)

    def _carries_state(self) -> bool:
        """Whether predict's function also returns carried state (read once per predict)."""
        return not overrides(self, "predict") and bool(self._carried_paths())

    def _predict_batch(self, fn, values, x, carries):
        """One batch's outputs; carried state goes on to the next batch through ``values``."""
        if not carries:
            return fn(values, x)
        outputs, carried = fn(values, x)
        values.update(carried)
        return outputs

    def _write_carried(self, values, carries):
        """After predict: the carried state of the last batch is the layers' state (Keras)."""
        if not carries:
            return
        by_path = self.variables_by_path()
        for p in self._carried_paths():
            by_path[p].assign(values[p])
