"""The audit: which weights changed during training, and why each was allowed to.

After ``fit``, ``history.audit`` lists every weight with its role, whether it was trained, and
its largest absolute change. A weight may change only if it was an effectively trainable
parameter at some point of the run ("parameter trained") or is a statistic ("statistic
updated"). Any other change — a frozen parameter that moved — raises :class:`AuditError`.

Standalone::

    with thawnet.audit(model) as report:
        model.fit(x, y)            # or any custom training loop
    print(report)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import jax
import jax.numpy as jnp
import numpy as np

from thawnet.variables import STATISTIC, is_layer_effectively_trainable, materialize_all


class AuditError(AssertionError):
    """A weight that was neither trainable nor a statistic changed."""


@dataclass(frozen=True)
class WeightAudit:
    path: str
    role: str
    trained: bool          # effectively trainable at some point of the audited run
    changed: bool
    max_abs_change: float
    # Set for state declared with Keras 3's add_weight(trainable=False): its layer's name.
    declared_state_of: str | None = None
    # Set for a statistic whose layer is not effectively trainable at the end of the run (the
    # one rule): the outermost owner whose trainable=False froze it (BatchNormalization's
    # moving statistics then stay as they are).
    frozen_with: str | None = None

    @property
    def verdict(self):
        if not self.changed:
            return "unchanged"
        if self.trained:
            return "parameter trained"
        if self.role == STATISTIC:
            if self.declared_state_of is not None:
                return (f"statistic updated: non-trainable weight of {self.declared_state_of} "
                        "(created with trainable=False)")
            return "statistic updated"
        return "VIOLATION: frozen weight changed"


class AuditReport:
    """Per-weight results, in the model's weight order."""

    def __init__(self, entries: tuple = ()) -> None:
        self.entries = list(entries)

    @property
    def violations(self) -> list:
        return [e for e in self.entries if e.verdict.startswith("VIOLATION")]

    @property
    def changed(self) -> list:
        return [e for e in self.entries if e.changed]

    @property
    def unchanged(self) -> list:
        return [e for e in self.entries if not e.changed]

    def __getitem__(self, path):
        for e in self.entries:
            if e.path == path:
                return e
        raise KeyError(f"No weight {path!r} in the audit; weights: "
                       f"{[e.path for e in self.entries]}.")

    def check(self) -> AuditReport:
        """Raise :class:`AuditError` naming every frozen weight that changed."""
        bad = self.violations
        if bad:
            detail = ", ".join(f"{e.path} (max |change| {e.max_abs_change:.3g})" for e in bad)
            raise AuditError(
                f"{len(bad)} non-trainable weight(s) changed during training: {detail}. "
                "Frozen parameters must keep their exact values; something outside the "
                "optimizer wrote to them (a callback or custom code calling set_weights/assign).")
        return self

    def __str__(self):
        width = max([len(e.path) for e in self.entries] + [6])
        lines = [f"{'weight':<{width}}  {'role':<9}  {'max |change|':>12}  verdict"]
        for e in self.entries:
            lines.append(f"{e.path:<{width}}  {e.role:<9}  {e.max_abs_change:>12.4g}  "
                         f"{e.verdict}")
        frozen = [e for e in self.entries if not e.trained and e.role != STATISTIC]
        summary = (f"{len(self.changed)} of {len(self.entries)} weights changed; "
                   f"{sum(not e.changed for e in frozen)} of {len(frozen)} frozen parameters "
                   "kept their exact bits")
        held = [e for e in self.entries if e.frozen_with is not None]
        if held:
            summary += (f"; {sum(not e.changed for e in held)} of {len(held)} statistics of "
                        "frozen layers kept theirs")
        lines.append(summary + ".")
        return "\n".join(lines)

    __repr__ = __str__


def snapshot(model):
    """Copies of every weight, by path, made on the device in one compiled call (the steps
    of ``fit`` donate the weights' buffers, so the audit keeps its own)."""
    by_path = model.variables_by_path()
    materialize_all(by_path.values())
    return _audit_function(model, "audit_copy", _copy_values)(
        {p: v.value for p, v in by_path.items()})


def compare(model, before, trained_paths):
    """An :class:`AuditReport` of the model's weights now against ``before`` (a
    :func:`snapshot`, or host arrays by path).

    The comparison runs on the device in one compiled call: the bit patterns of each weight
    before and after (``lax.bitcast_convert_type``) reduced to one "changed" flag per weight,
    and its largest absolute change; only those two numbers per weight come back.
    """
    by_path = model.variables_by_path()
    materialize_all(by_path.values())
    pairs = {}
    for path, v in by_path.items():
        old = before.get(path)
        if (old is not None and tuple(old.shape) == tuple(v.shape)
                and np.dtype(old.dtype) == np.dtype(v.value.dtype)):
            pairs[path] = (old, v.value)
    flags, deltas = (jax.device_get(_audit_function(model, "audit_compare", _differences)(
        list(pairs.values()))) if pairs else ((), ()))
    found = dict(zip(pairs, zip(flags, deltas)))
    entries = []
    frozen_with = _frozen_statistics(model)
    for path, v in by_path.items():
        if path in found:
            changed, delta = bool(found[path][0]), float(found[path][1])
        else:  # missing before, or another shape or dtype: changed
            changed, delta = True, float("inf")
        owner = getattr(v, "owner", None)
        declared = owner.name if owner is not None and v.declared_untrainable else None
        entries.append(WeightAudit(path, v.role, path in trained_paths, changed, delta,
                                   declared, frozen_with.get(path)))
    return AuditReport(entries)


def _audit_function(model, kind, fn):
    """The compiled ``fn`` from the model's registry (cleared with its structure)."""
    registry = getattr(model, "_functions", None)
    # A closure of its own: jax.jit of the shared module function would share one cache of
    # programs among all models, kept alive past this model's registry.
    if registry is None:
        return jax.jit(lambda values: fn(values))
    return registry.get(kind, None, (), lambda: jax.jit(lambda values: fn(values)))


def _copy_values(values):
    return jax.tree_util.tree_map(jnp.copy, values)


def _bits(a):
    """The bit pattern of ``a`` as unsigned integers of its width (booleans as they are)."""
    if a.dtype == jnp.bool_:
        return a
    width = {1: jnp.uint8, 2: jnp.uint16, 4: jnp.uint32, 8: jnp.uint64}[a.dtype.itemsize]
    return jax.lax.bitcast_convert_type(a, width)


def _differences(pairs):
    """``(changed flags, max |change|)`` over a list of ``(old, new)`` pairs, in order.

    "Unchanged" means the very same bits, NaN included; the change of an unchanged weight
    is 0 (a NaN that stayed NaN too).
    """
    flags, deltas = [], []
    for old, new in pairs:
        old = jnp.asarray(old)
        changed = jnp.any(_bits(old) != _bits(new))
        if old.size:
            wide = jnp.float32 if jnp.dtype(new.dtype).itemsize <= 4 else new.dtype
            delta = jnp.max(jnp.abs(new.astype(wide) - old.astype(wide))).astype(jnp.float32)
        else:
            delta = jnp.zeros((), jnp.float32)
        flags.append(changed)
        deltas.append(jnp.where(changed, delta, 0.0))
    return jnp.stack(flags), jnp.stack(deltas)


def _frozen_statistics(model):
    """``{path: name of the freezing owner}`` for statistics whose layer is not effectively
    trainable (the one rule, as BatchNormalization applies it); declared state is left out."""
    out = {}
    for path, v, owners in model._walk():
        if v.role != STATISTIC or v.declared_untrainable:
            continue
        if not is_layer_effectively_trainable(owners[-1], owners[:-1]):
            out[path] = next(o for o in owners if not o.trainable).name
    return out


@contextlib.contextmanager
def audit(model: Any, check: bool = True) -> Iterator[Any]:
    """Audit the weights of ``model`` across a block of code (see module docstring).

    Weights count as trained if they were effectively trainable at the start or the end.
    """
    before = snapshot(model)
    trained = set(model.trainable_split()[0])
    report = AuditReport()
    yield report
    trained |= set(model.trainable_split()[0])
    report.entries = compare(model, before, trained).entries
    if check:
        report.check()
