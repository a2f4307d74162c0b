"""``model.summary()``: the seed's table, computed from shapes alone.

For Sequential models the layout is the seed's, exactly: 65 characters, columns ending at 29,
55 and 65, a cell cut so that one space is left before the next column (which is why
``(BatchNormalization)`` shows as ``(Batch``). Functional models get a "Connected to" column
(98 characters). Output shapes come from the graph's symbolic tensors (abstract evaluation),
so printing a summary never materialises a weight nor runs a forward pass.

Counting follows DESIGN.md: each variable once; Trainable = effectively trainable parameters;
Non-trainable = everything else; Total = Trainable + Non-trainable. ``explain=True`` accounts
for every non-trainable weight, grouped by reason and layer class (``explain="full"``: one line
per layer); the reasons come from :mod:`thawnet.models.explain`.
"""

from __future__ import annotations

from thawnet.layers.input_layer import InputLayer
from thawnet.models.explain import explain_lines
from thawnet.variables import is_effectively_trainable, is_layer_effectively_trainable


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


def _rows(model, show_trainable, expand_nested, depth=0, owners=()):
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
            # The one rule: "Y" when the layer's own flag and every owner's are set.
            trains = is_layer_effectively_trainable(layer, owners + (model,))
            fields.append("Y" if trains else "N")
            fields.append(_multiplier_text(layer, owners + (model,)))  # dropped when all 1
        rows.append(fields)
        if expand_nested and hasattr(layer, "layers") and hasattr(layer, "is_functional"):
            rows.extend(_rows(layer, show_trainable, expand_nested, depth + 1,
                              owners + (model,)))
    return rows


def _multiplier_text(layer, owners):
    """The layer's effective learning-rate multiplier (its own ``lr_multiplier`` times its
    owners', as the trainer applies it; see ``trainability/lr_multipliers.py``), formatted."""
    factor = 1.0
    for each in (*owners, layer):
        own = getattr(each, "lr_multiplier", None)
        factor *= 1.0 if own is None else float(own)
    return f"{factor:g}"


def _multiplier_column(header, positions, line_length, rows):
    """With ``show_trainable``: an "LR mult" column after "Trainable" when any layer's
    multiplier is not 1; otherwise the table is as without multipliers."""
    if all(fields[-1] == "1" for fields in rows):
        return header, positions, line_length, [fields[:-1] for fields in rows]
    width = 9
    return (header + ["LR mult"], list(positions) + [line_length + width], line_length + width,
            rows)


def count_split(model):
    """``(total, trainable, non_trainable)`` parameter counts, each variable once."""
    trainable = non_trainable = 0
    for _, v, owners in model._walk():
        if is_effectively_trainable(v, owners):
            trainable += v.size
        else:
            non_trainable += v.size
    return trainable + non_trainable, trainable, non_trainable


def weight_dtype_lines(model) -> list[str]:
    """With ``show_bytes``: each weight's stored dtype, shape and size, and the policy of its
    layer when that computes in another dtype (``mixed_bfloat16``: float32 weights read in
    bfloat16), then the totals per dtype."""
    lines, per_dtype = ["Weights (path, dtype, shape, size; policy if mixed):"], {}
    for _, v, _owners in model._walk():
        policy = getattr(v.owner, "dtype_policy", None)
        mixed = f"  {policy.name}" if policy is not None and policy.is_mixed else ""
        lines.append(f"  {v.path:<40} {v.dtype.name:<9} {str(v.shape):<16} "
                     f"{_fmt_bytes(v.nbytes):>10}{mixed}")
        count, size = per_dtype.get(v.dtype.name, (0, 0))
        per_dtype[v.dtype.name] = (count + v.size, size + v.nbytes)
    for name, (count, size) in per_dtype.items():
        lines.append(f"{name} params: {count:,} ({_fmt_bytes(size)})")
    return lines


def explain_non_trainable(model, full=False):
    """Lines accounting for every non-trainable weight: grouped by reason and layer class, in
    model order, or one line per layer with ``full=True`` (see :mod:`thawnet.models.explain`)."""
    return explain_lines(model, full=full)


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, explain=False, show_bytes=False):
    print_fn = print_fn or print
    if explain not in (False, True, "full"):
        raise ValueError(f'summary() of model "{model.name}": explain must be True (grouped by '
                         'reason and layer class), "full" (one line per layer) or False; '
                         f"received explain={explain!r}.")
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

    rows = _rows(model, show_trainable, expand_nested)
    if show_trainable:
        header, positions, line_length, rows = _multiplier_column(header, positions,
                                                                  line_length, rows)
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(format_row(header, positions))
    print_fn("=" * line_length)
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
        for line in weight_dtype_lines(model):
            print_fn(line)
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
        lines = explain_non_trainable(model, full=explain == "full")
        for line in lines or ["0 = none: every weight is trained by gradients"]:
            print_fn("  " + line)
        print_fn("_" * line_length)
