"""``CompileMetrics``: the one container Keras 3 lists for every metric given to ``compile()``.

After ``compile(metrics=[...])``, Keras 3's ``model.metrics`` is ``[Mean "loss",
CompileMetrics "compile_metrics", <output>_loss trackers...]`` and ``metrics_names`` is
``["loss", "compile_metrics", ...]``. The container's ``variables`` are those of the metrics
it holds, in order, and its ``result()`` is a dict ``{log name: value}`` (the names the logs
use: ``"mae"``, or ``"dense_1_mae"`` with several outputs). A custom ``train_step`` can thus
update it like any metric: ``metric.update_state(y, y_pred)``.
"""

from __future__ import annotations

from typing import Any, Sequence

from thawnet.metrics.base import Metric
from thawnet.backend.types import Array, Config, PyTree, TensorLike


def _outputs_list(value):
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


class CompileMetrics(Metric):
    """The compiled metrics as one :class:`Metric` (Keras 3's ``compile_metrics``).

    Args:
        entries: ``(output index, metric, log name)`` for each compiled metric, in the order
            of ``compile()``'s ``metrics`` then ``weighted_metrics``.
        weighted: for each entry, whether it receives ``sample_weight`` (Keras:
            ``weighted_metrics`` do, ``metrics`` do not).

    The state is the list of the inner metrics' states; the inner metric objects hold it, so
    ``model.metrics[1].variables`` and the inner metrics always agree.
    """

    def __init__(self, entries: Sequence[tuple], weighted: Sequence[bool] | None = None) -> None:
        super().__init__(name="compile_metrics")
        self.entries = list(entries)
        self.weighted = list(weighted) if weighted is not None else [True] * len(self.entries)
        if len(self.weighted) != len(self.entries):
            raise ValueError(f"CompileMetrics: weighted has {len(self.weighted)} flags for "
                             f"{len(self.entries)} metrics; give one flag per metric.")

    @property
    def metrics(self) -> list:
        """The metric objects held, in order."""
        return [m for _, m, _ in self.entries]

    # -- functional API ------------------------------------------------------------------------
    def init_state(self) -> PyTree:
        return [m.init_state() for m in self.metrics]

    def update(self, state: PyTree, y_true: TensorLike, y_pred: TensorLike,
               sample_weight: TensorLike | None = None) -> PyTree:
        ys, ps = _outputs_list(y_true), _outputs_list(y_pred)
        return [m.update(s, ys[i], ps[i], sample_weight if takes else None)
                for (i, m, _), takes, s in zip(self.entries, self.weighted, state)]

    def compute(self, state: PyTree) -> Array:
        return {name: m.compute(s) for (_, m, name), s in zip(self.entries, state)}

    # -- object API: the inner metrics hold the state ------------------------------------------
    @property
    def state(self) -> list:
        return [m.state for m in self.metrics]

    @state.setter
    def state(self, value: Any) -> None:
        for m, s in zip(self.metrics, value):
            m.state = s

    def update_state(self, y_true: TensorLike, y_pred: TensorLike,
                     sample_weight: TensorLike | None = None) -> None:
        """Accumulate a batch into every compiled metric (each takes its output)."""
        ys, ps = _outputs_list(y_true), _outputs_list(y_pred)
        for (i, m, _), takes in zip(self.entries, self.weighted):
            m.update_state(ys[i], ps[i], sample_weight if takes else None)

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def get_config(self) -> Config:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: Config) -> CompileMetrics:
        raise TypeError("CompileMetrics is built by compile() from its metrics; it has no "
                        "config of its own. Compile the model with metrics=[...] instead.")

    def __repr__(self):
        return f"<CompileMetrics {[name for _, _, name in self.entries]}>"


__all__ = ["CompileMetrics"]
