"""GradualUnfreezing: thaw blocks of a frozen base at chosen epochs of one ``fit`` call.

    base.trainable = False
    model.fit(x, y, epochs=6, callbacks=[thawnet.callbacks.GradualUnfreezing(
        {2: "block5_*", 4: ["block4_*", "block3_*"]})])

The trainer reads the trainable split at the start of every epoch (no recompile by hand), so
this callback thaws at the *end* of the epoch before the scheduled one (and before training
for epoch 0). The run is the same, bit for bit, as the hand-run sequence
``fit(epochs=2); unfreeze(model, "block5_*"); fit(initial_epoch=2, epochs=4); ...``: weights that
stay trainable keep their optimizer state, newly thawed ones start with fresh state.
"""

from __future__ import annotations

from thawnet.backend.types import Config, Logs, PyTree
from thawnet.callbacks.base import Callback
from thawnet.trainability.freeze import unfreeze
from thawnet.trainability.lr_multipliers import check_multiplier, set_learning_rate_multiplier


def _check_step(epoch, what):
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"GradualUnfreezing: the schedule's keys are epoch indices (int >= 0, "
                         f"0-based as in Keras's callbacks); received {epoch!r} for {what!r}.")
    return epoch


def _normalise(schedule, up_to):
    """``{epoch: [(pattern, up_to), ...]}`` from the two ways of writing the schedule."""
    steps: dict[int, list] = {}
    if schedule is not None and not isinstance(schedule, dict):
        raise ValueError("GradualUnfreezing: schedule must be a dict {epoch: pattern or list "
                         f"of patterns}}, e.g. {{2: 'block5_*'}}; received {schedule!r}.")
    if up_to is not None and not isinstance(up_to, dict):
        raise ValueError("GradualUnfreezing: up_to must be a dict {epoch: layer name} (each "
                         "thaws every top-level layer up to and including that one, as "
                         f"thawnet.unfreeze(model, up_to=...)); received {up_to!r}.")
    for epoch, what in (schedule or {}).items():
        patterns = [what] if isinstance(what, str) else what
        if not isinstance(patterns, (list, tuple)) or not patterns or not all(
                isinstance(p, str) for p in patterns):
            raise ValueError(f"GradualUnfreezing: epoch {epoch!r} must map to a layer-name "
                             f"pattern or a list of them (e.g. 'block5_*'); received {what!r}.")
        steps.setdefault(_check_step(epoch, what), []).extend((p, None) for p in patterns)
    for epoch, name in (up_to or {}).items():
        if not isinstance(name, str):
            raise ValueError(f"GradualUnfreezing: up_to[{epoch!r}] must be a layer name; "
                             f"received {name!r}.")
        steps.setdefault(_check_step(epoch, name), []).append((None, name))
    if not steps:
        raise ValueError("GradualUnfreezing needs a schedule: {epoch: pattern} (e.g. "
                         "{2: 'block5_*'}) and/or up_to={epoch: layer name}.")
    return dict(sorted(steps.items()))


class GradualUnfreezing(Callback):
    """Thaw layers of the model at given epochs during one ``fit`` call.

    Args:
        schedule: ``{epoch: pattern or [patterns]}``; from epoch ``epoch`` (0-based) on, the
            layers whose names match (nested models included, as :func:`thawnet.unfreeze`)
            are trainable.
        up_to: ``{epoch: layer name}``; from that epoch on, every top-level layer up to and
            including that layer is trainable (``thawnet.unfreeze(model, up_to=name)``).
        lr_multiplier: if given, the thawed layers also get this learning-rate multiplier
            (e.g. 0.1: fine-tune the thawed blocks at a 10x lower learning rate; see
            :func:`thawnet.set_learning_rate_multiplier`).
        verbose: 1 prints each thaw.

    Attributes:
        thawed: ``{epoch: [layer names]}`` of the thaws done so far. It is part of the
            callback's checkpoint state: a run resumed by ``BackupAndRestore`` (list this
            callback after it) or ``fit(resume_from=...)`` thaws the same layers again before
            its first epoch.

    Raises:
        ValueError: at the first epoch of a ``fit`` that starts after a scheduled epoch not yet
            applied (``initial_epoch=``): the split of an epoch is fixed before it starts, so
            the thaw would come one epoch late. Thaw those layers before calling ``fit``.
    """

    def __init__(self, schedule: dict | None = None, *, up_to: dict | None = None,
                 lr_multiplier: float | None = None, verbose: int = 0) -> None:
        super().__init__()
        self.schedule = _normalise(schedule, up_to)
        self.lr_multiplier = (None if lr_multiplier is None else
                              check_multiplier("GradualUnfreezing", lr_multiplier))
        self.verbose = verbose
        self.thawed: dict[int, list[str]] = {}
        self._first_epoch = True

    def _apply(self, epoch: int) -> None:
        names = []
        for pattern, up_to in self.schedule[epoch]:
            names += unfreeze(self.model, pattern, up_to=up_to)
        if self.lr_multiplier is not None:
            for name in names:
                set_learning_rate_multiplier(self.model, name, self.lr_multiplier)
        self.thawed[epoch] = names
        if self.verbose:
            print(f"GradualUnfreezing: trainable from epoch {epoch + 1}: {names}")

    def _apply_through(self, epoch: int) -> None:
        for step in self.schedule:
            if step <= epoch and step not in self.thawed:
                self._apply(step)

    def _reapply_thawed(self) -> bool:
        """Thaw again what :attr:`thawed` records (a resumed run's fresh model has its
        layers frozen as built); returns whether that changed the trainable split."""
        before = self.model.trainable_split()[0]
        for epoch in list(self.thawed):
            self._apply(epoch)
        return self.model.trainable_split()[0] != before

    def on_train_begin(self, logs: Logs = None) -> None:
        self._first_epoch = True
        self._reapply_thawed()  # e.g. restored by resume_from before this hook
        self._apply_through(0)

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        if not self._first_epoch:
            return
        self._first_epoch = False
        if self._reapply_thawed():
            raise ValueError(
                f"GradualUnfreezing: its state was restored after its on_train_begin (the thaws "
                f"of epochs {sorted(self.thawed)}), too late for epoch {epoch}'s trainable "
                "split. Put GradualUnfreezing after BackupAndRestore in the callbacks list.")
        late = [step for step in self.schedule if step <= epoch and step not in self.thawed]
        if late:
            raise ValueError(
                f"GradualUnfreezing: this fit starts at epoch {epoch} (initial_epoch), but the "
                f"schedule thaws {[p or f'up_to={u}' for s in late for p, u in self.schedule[s]]}"
                f" at epoch(s) {late}, not yet applied; an epoch's trainable split is fixed "
                "before it starts, so they would be thawed one epoch late. Thaw them before "
                "calling fit (thawnet.unfreeze(model, ...)), or schedule them after "
                "initial_epoch.")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._apply_through(epoch + 1)  # read by the trainer when epoch + 1 starts

    def get_state(self) -> Config:
        return {"thawed": {str(k): list(v) for k, v in self.thawed.items()}}

    def set_state(self, state: PyTree) -> None:
        self.thawed = {int(k): list(v) for k, v in (state or {}).get("thawed", {}).items()}


__all__ = ["GradualUnfreezing"]
