"""Why each weight is trainable or not: the grouped explanation and ``thawnet.explain``.

Every answer is derived from the one rule (``thawnet.variables``): a variable trains when it
is a parameter, its own flag is set and its layer is effectively trainable (the layer's flag
and every owner's). A non-trainable weight has exactly one of these reasons:

* ``frozen by trainable=False`` (the layer's own flag) or ``frozen by trainable=False on
  "<owner>"`` (a model or layer above it);
* ``statistics, updated by moving average`` (BatchNormalization's moving statistics of an
  effectively trainable layer), ``statistics frozen by trainable=False`` (the layer's own
  flag), ``statistics frozen with "<owner>"`` (a model or layer above it) or
  ``statistics in inference mode: "<layer>" is called with training=False`` (the graph fixes
  the mode, as in Keras's transfer-learning guide);
* ``created with trainable=False`` (state declared with Keras 3's ``add_weight``);
* ``frozen by enable_lora`` (a base matrix that LoRA replaced by trainable factors).

``summary(explain=True)`` groups the non-trainable weights by reason and by layer class, in
model order (one line for the 94 BatchNormalization layers of InceptionV3);
``summary(explain="full")`` gives one line per layer and reason. ``thawnet.explain(model,
"path/or/layer")`` answers for one weight, or for each weight of one layer.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from thawnet.variables import STATISTIC, is_effectively_trainable, is_layer_effectively_trainable
from thawnet.backend.types import TensorLike


@dataclass(frozen=True)
class WeightExplanation:
    """The answer for one weight.

    Attributes:
        path: the weight's path in the model asked (``"inner/conv_a/kernel"``).
        trainable: whether gradients train it now.
        role: ``"parameter"`` or ``"statistic"``.
        own_trainable: the variable's own flag (always False for a statistic).
        layer: path of the layer that created it.
        frozen_by: what turned it off, when something did: the name of the layer or model
            whose ``trainable=False`` froze it, or a mechanism such as ``"enable_lora"``.
        reason: the sentence the summary's explanation groups by.
    """

    path: str
    trainable: bool
    role: str
    own_trainable: bool
    layer: str
    frozen_by: str | None
    reason: str

    def __str__(self) -> str:
        verdict = "trainable" if self.trainable else "not trainable"
        return f"{self.path}: {verdict} ({self.role}): {self.reason}"


@dataclass(frozen=True)
class LayerExplanation:
    """The answers for every weight of one layer, and the layer's own standing."""

    layer: str
    trainable: bool
    frozen_by: str | None
    weights: tuple

    def __str__(self) -> str:
        if self.trainable:
            head = f"{self.layer}: effectively trainable (its own flag and every owner's are set)"
        elif self.frozen_by == self.layer.rsplit("/", 1)[-1]:
            head = f"{self.layer}: frozen by its own trainable=False"
        else:
            head = f'{self.layer}: frozen by trainable=False on "{self.frozen_by}"'
        return "\n".join([head] + [f"  {w}" for w in self.weights])

    def __getitem__(self, name: str) -> WeightExplanation:
        for w in self.weights:
            if w.path.rsplit("/", 1)[-1] == name or w.path == name:
                return w
        raise KeyError(f"Layer {self.layer!r} has no weight {name!r}; weights: "
                       f"{[w.path for w in self.weights]}.")


def _frozen_owner(owners):
    """The outermost layer of the chain whose own flag is off (None when all are set)."""
    return next((o for o in owners if not o.trainable), None)


def reason_of(variable, owners) -> tuple[str, str, str | None]:
    """``(kind, reason, frozen_by)`` of a non-trainable variable; ``kind`` is "statistic",
    "state" or "frozen" (a parameter). ``owners`` runs from the root to its layer."""
    layer = owners[-1]
    culprit = _frozen_owner(owners)
    if variable.role == STATISTIC:
        if culprit is layer and not variable.declared_untrainable:
            return "statistic", "statistics frozen by trainable=False", culprit.name
        if culprit is not None and not variable.declared_untrainable:
            return "statistic", f'statistics frozen with "{culprit.name}"', culprit.name
        if variable.declared_untrainable:
            return "state", "created with trainable=False", None
        fixed = _called_in_inference_mode(owners)
        if fixed is not None:
            return ("statistic", f'statistics in inference mode: "{fixed}" is called with '
                    "training=False", None)
        if hasattr(layer, "momentum"):
            return "statistic", "statistics, updated by moving average", None
        return "statistic", "statistics, updated by the layer, never by gradients", None
    if not variable.own_trainable and variable.frozen_by is not None:
        return "frozen", f"frozen by {variable.frozen_by}", variable.frozen_by
    if not variable.own_trainable:
        return "frozen", "parameter created with trainable=False", None
    if culprit is layer:
        return "frozen", "frozen by trainable=False", culprit.name
    return "frozen", f'frozen by trainable=False on "{culprit.name}"', culprit.name


def _called_in_inference_mode(owners):
    """The name of the layer of the chain that every graph above it calls with
    ``training=False`` (Keras's transfer-learning idiom ``base(x, training=False)``), whose
    statistics therefore never update; None when there is none."""
    for parent, child in zip(owners, owners[1:]):
        graph = getattr(parent, "_graph", None)
        if graph is None:
            continue
        nodes = [n for n in child._inbound_nodes if any(n is g for g in graph.nodes)]
        if nodes and all(n.call_kwargs.get("training") is False for n in nodes):
            return child.name
    return None


def _group_line(kind, reason, class_name, layer_names, names, size):
    what = " + ".join(names)
    if len(layer_names) == 1:
        subject = layer_names[0]
        if kind == "state":
            return f"{size:,} = {what}: non-trainable weight of {subject} ({reason})"
        if kind == "statistic":
            return f"{size:,} = {what} of {subject} ({reason})"
        return f"{size:,} = {subject} ({what}), {reason}"
    subject = f"{len(layer_names)} {class_name} layers"
    if kind == "state":
        return f"{size:,} = {what}: non-trainable weights of {subject} ({reason})"
    if kind == "statistic":
        return f"{size:,} = {what} of {subject} ({reason})"
    return f"{size:,} = {what} of {subject}, {reason}"


def explain_lines(model, full: bool = False) -> list[str]:
    """Lines accounting for every non-trainable weight of ``model``, in model order.

    Grouped (the default): one line per reason and layer class, naming the layers when the
    group holds one. ``full=True``: one line per layer and reason.
    """
    groups: dict = {}
    for _, v, owners in model._walk():
        if is_effectively_trainable(v, owners):
            continue
        kind, reason, _ = reason_of(v, owners)
        layer = owners[-1]
        key = (kind, reason, layer.name if full else type(layer).__name__)
        group = groups.setdefault(key, {"class": type(layer).__name__, "layers": [],
                                        "names": [], "size": 0})
        if layer.name not in group["layers"]:
            group["layers"].append(layer.name)
        if v.name not in group["names"]:
            group["names"].append(v.name)
        group["size"] += v.size
    return [_group_line(kind, reason, g["class"], g["layers"], g["names"], g["size"])
            for (kind, reason, _), g in groups.items()]


def _entries(model):
    """``(weight path, layer path, variable, owners)`` for every weight, in weight order."""
    for path, v, owners in model._walk():
        yield path, path.rsplit("/", 1)[0] if "/" in path else owners[-1].name, v, owners


def _weight_answer(path, layer_path, v, owners) -> WeightExplanation:
    trainable = is_effectively_trainable(v, owners)
    if trainable:
        reason = "a parameter whose own flag and every owner's flag are set: trained by gradients"
        frozen_by = None
    else:
        _, reason, frozen_by = reason_of(v, owners)
    return WeightExplanation(path, trainable, v.role, v.own_trainable, layer_path, frozen_by,
                             reason)


def explain(model: Any, target: TensorLike) -> WeightExplanation | LayerExplanation:
    """Why a weight (or each weight of a layer) of ``model`` is trainable or not.

    Args:
        model: a built model or layer.
        target: a weight path (``"inner/conv_a/kernel"``), a layer path or name (``"conv_a"``),
            or the Variable or Layer object itself.

    Returns:
        A :class:`WeightExplanation` for a weight, a :class:`LayerExplanation` for a layer.

    Raises:
        ValueError: when nothing in the model matches ``target`` (the message lists the
            closest paths).

    >>> import thawnet
    >>> model = thawnet.Sequential([thawnet.Input((3,)), thawnet.layers.Dense(2, name="d")],
    ...                            name="s")
    >>> model.trainable = False
    >>> print(thawnet.explain(model, "d/kernel"))
    d/kernel: not trainable (parameter): frozen by trainable=False on "s"
    """
    entries = list(_entries(model))
    for path, layer_path, v, owners in entries:
        if target is v or path == target:
            return _weight_answer(path, layer_path, v, owners)
    for by_path in (True, False):
        found = [e for e in entries if target is e[3][-1] or (
            isinstance(target, str) and (e[1] == target if by_path
                                         else e[3][-1].name == target))]
        if found:
            layer_path, owners = found[0][1], found[0][3]
            chain = owners[:-1]
            layer = owners[-1]
            same = [e for e in found if e[3][-1] is layer]
            standing = is_layer_effectively_trainable(layer, chain)
            culprit = _frozen_owner(owners)
            return LayerExplanation(layer_path, standing, None if standing else culprit.name,
                                    tuple(_weight_answer(*e) for e in same))
    known = [e[0] for e in entries] + sorted({e[1] for e in entries})
    name = getattr(target, "path", None) or getattr(target, "name", None) or target
    close = difflib.get_close_matches(str(name), known, n=5, cutoff=0.4)
    raise ValueError(
        f'thawnet.explain: model "{model.name}" has no weight or layer {name!r}. Give a weight '
        'path such as "dense_1/kernel" or a layer name; closest: '
        f"{close or known[:5]}.")


__all__ = ["LayerExplanation", "WeightExplanation", "explain", "explain_lines", "reason_of"]
