"""``model.summary()``: the seed's table, computed from shapes alone.

For Sequential models the layout is the seed's, exactly: 65 characters, columns ending at 29,
55 and 65, a cell cut so that one space is left before the next column (which is why
``(BatchNormalization)`` shows as ``(Batch``). Functional models get a "Connected to" column
(98 characters). Output shapes come from the graph's symbolic tensors (abstract evaluation),
so printing a summary never materialises a weight nor runs a forward pass.

Counting follows DESIGN.md: each variable once; Trainable = effectively trainable parameters;
Non-trainable = everything else; Total = Trainable + Non-trainable. ``explain=True`` accounts
for every non-trainable weight: a statistic of its layer, or a parameter frozen by a flag.
"""

from __future__ import annotations

from collections import OrderedDict

from thawnet.layers.input_layer import InputLayer
from thawnet.variables import STATISTIC, is_effectively_trainable


def _fmt_bytes(n):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


def format_row(fields, positions):
    """Keras's row layout: each field cut at its column end, leaving one space before the next."""
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        line = line[:positions[i]]
        line += " " * (positions[i] - len(line))
    return line


def _output_shape(layer, model):
    nodes = [n for n in layer._inbound_nodes if _node_in(model, n)]
    if model.is_functional:
        if len(nodes) > 1:
            return "multiple"
        if nodes:
            shapes = [t.shape for t in nodes[0].output_tensors]
            return str(shapes[0]) if len(shapes) == 1 else str(shapes)
    if layer._last_output_shape is not None:
        return str(layer._last_output_shape)
    return "?"


def _node_in(model, node):
    graph = model._graph
    return graph is not None and any(n is node for n in graph.nodes)


def _param_count(layer):
    return sum(v.size for v in layer.weights) if layer.built else 0


def _rows(model, show_trainable, expand_nested, depth=0):
    rows = []
    layers = model.layers if depth == 0 or model.is_functional else model.layers
    for layer in layers:
        if isinstance(layer, InputLayer) and model.lists_layers_as_a_stack:
            continue
        name = ("| " * depth) + f"{layer.name} ({type(layer).__name__})"
        fields = [name, _output_shape(layer, model), _param_count(layer)]
        if not model.lists_layers_as_a_stack:
            nodes = [n for n in layer._inbound_nodes if _node_in(model, n)]
            connected = [c for n in nodes for c in n.describe_inputs()]
            fields.append(connected)
        if show_trainable:
            fields.append("Y" if layer.trainable else "N")
        rows.append(fields)
        if expand_nested and hasattr(layer, "layers") and hasattr(layer, "is_functional"):
            rows.extend(_rows(layer, show_trainable, expand_nested, depth + 1))
    return rows


def count_split(model):
    """``(total, trainable, non_trainable)`` parameter counts, each variable once."""
    trainable = non_trainable = 0
    for _, v, owners in model._walk():
        if is_effectively_trainable(v, owners):
            trainable += v.size
        else:
            non_trainable += v.size
    return trainable + non_trainable, trainable, non_trainable


def explain_non_trainable(model):
    """Lines accounting for every non-trainable weight, grouped by layer and reason."""
    groups = OrderedDict()
    for _, v, owners in model._walk():
        if is_effectively_trainable(v, owners):
            continue
        layer = owners[-1]
        if v.role == STATISTIC:
            frozen = [o for o in owners if not o.trainable]
            if frozen:
                reason = (f'statistics, frozen with "{frozen[0].name}": not updated')
            elif v.declared_untrainable:
                reason = "created with trainable=False"
            elif _is_moving(layer):
                reason = "statistics, updated by moving average"
            else:
                reason = "statistics, updated by the layer, never by gradients"
            kind = "state" if v.declared_untrainable and not frozen else "statistic"
            key = (layer.name, kind, reason)
        elif not v.own_trainable and v.frozen_by is not None:
            # Frozen by a layer mechanism, e.g. LoRA's base kernel: "frozen by enable_lora".
            key = (layer.name, "frozen", f"frozen by {v.frozen_by}")
        elif not v.own_trainable:
            key = (layer.name, "frozen", "parameter created with trainable=False")
        else:
            frozen = [o for o in owners if not o.trainable]
            culprit = frozen[0] if frozen else layer
            if culprit is layer:
                reason = "frozen by trainable=False"
            else:
                reason = f'frozen by trainable=False on "{culprit.name}"'
            key = (layer.name, "frozen", reason)
        size, names = groups.get(key, (0, []))
        groups[key] = (size + v.size, names + [v.name])
    lines = []
    for (layer_name, kind, reason), (size, names) in groups.items():
        if kind == "state":
            lines.append(f"{size:,} = {' + '.join(names)}: non-trainable weight of "
                         f"{layer_name} ({reason})")
        elif kind == "statistic":
            lines.append(f"{size:,} = {' + '.join(names)} of {layer_name} ({reason})")
        else:
            lines.append(f"{size:,} = {layer_name} ({' + '.join(names)}), {reason}")
    return lines


def _is_moving(layer):
    return hasattr(layer, "momentum")


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, explain=False, show_bytes=False):
    print_fn = print_fn or print
    sequential = model.lists_layers_as_a_stack
    if not model.built:
        raise ValueError(
            f'Model "{model.name}" has not been built yet, so its shapes are unknown. Give the '
            "first layer input_shape=, start with an Input, call model.build((None, ...)) with "
            "the input shape, or call the model on data first.")
    if sequential:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.33, 0.55, 0.67, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if show_trainable:
        line_length += 11
        positions = [p * (line_length - 11) / line_length if p <= 1 else p for p in positions]
        positions = list(positions) + [1.0]
        header.append("Trainable")
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(format_row(header, positions))
    print_fn("=" * line_length)
    rows = _rows(model, show_trainable, expand_nested)
    for i, fields in enumerate(rows):
        if not sequential:
            connected = fields[3] or [""]
            fields = fields[:3] + [connected[0]] + fields[4:]
            print_fn(format_row(fields, positions))
            for extra in connected[1:]:
                print_fn(format_row(["", "", "", extra] + [""] * (len(fields) - 4), positions))
        else:
            print_fn(format_row(fields, positions))
        print_fn(("=" if i == len(rows) - 1 else "_") * line_length)
    if not rows:
        print_fn("=" * line_length)

    total, trainable, non_trainable = count_split(model)
    if show_bytes:
        sizes = {"t": 0, "n": 0}
        for _, v, owners in model._walk():
            sizes["t" if is_effectively_trainable(v, owners) else "n"] += v.nbytes
        print_fn(f"Total params: {total:,} ({_fmt_bytes(sizes['t'] + sizes['n'])})")
        print_fn(f"Trainable params: {trainable:,} ({_fmt_bytes(sizes['t'])})")
        print_fn(f"Non-trainable params: {non_trainable:,} ({_fmt_bytes(sizes['n'])})")
    else:
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {non_trainable:,}")
    optimizer_size = getattr(model, "optimizer_state_size", lambda: 0)()
    if optimizer_size:
        print_fn(f"Optimizer params: {optimizer_size:,} (optimizer state; not model weights)")
    print_fn("_" * line_length)
    if explain:
        print_fn("Non-trainable params explained:")
        lines = explain_non_trainable(model)
        for line in lines or ["0 = none: every weight is trained by gradients"]:
            print_fn("  " + line)
        print_fn("_" * line_length)
