"""``plot_model`` / ``model_to_dot``: a model's layer graph drawn with Graphviz (via pydot).

thawnet's addition: ``show_trainable=True`` shows, per layer, whether its weights are trained
by ``fit`` under thawnet's one trainability rule (the layer's flag, its owners' flags and each
weight's role): ``trainable``, ``frozen``, ``partly frozen (k of n params trained)`` or ``no
weights``.
"""

from __future__ import annotations

import html
import math
import os
from typing import Any


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError("plot_model / model_to_dot need pydot and Graphviz: pip install pydot, "
                          "and install Graphviz's `dot` program (e.g. apt-get install graphviz "
                          "or brew install graphviz).") from None
    return pydot


def _size(v) -> int:
    return int(math.prod(v.shape))


def trainability_label(layer, trained_ids: set[int]) -> str:
    """``trainable`` / ``frozen`` / ``partly frozen (k of n params trained)`` / ``no weights``
    for ``layer``, where ``trained_ids`` are the ids of the weights ``fit`` trains."""
    weights = layer.weights
    if not weights:
        return "no weights"
    total = sum(_size(v) for v in weights)
    trained = sum(_size(v) for v in weights if id(v) in trained_ids)
    if trained == total:
        return "trainable"
    if trained == 0:
        return "frozen"
    return f"partly frozen ({trained:,} of {total:,} params trained)"


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return str(tuple(shape))


def _nodes_and_edges(model, expand_nested: bool, prefix: str = ""):
    """``(layers, edges)`` of ``model``: its layers in order and ``(from, to)`` pairs of
    layers; nested models are replaced by their own layers when ``expand_nested``."""
    graph = getattr(model, "_graph", None)
    layers = list(model.layers)
    edges = []
    if graph is not None:
        in_model = {id(layer) for layer in graph.layers}
        for node in graph.nodes:
            for t in node.input_tensors:
                parent = t.history[0]
                if id(parent) in in_model and id(node.layer) in in_model:
                    edges.append((parent, node.layer))
        layers = list(graph.layers)
    else:
        edges = list(zip(layers, layers[1:]))
    if not expand_nested:
        return layers, edges
    out_layers, out_edges = [], []
    firsts, lasts = {}, {}
    for layer in layers:
        if hasattr(layer, "layers") and layer.layers and layer is not model:
            inner, inner_edges = _nodes_and_edges(layer, True)
            out_layers += inner
            out_edges += inner_edges
            firsts[id(layer)], lasts[id(layer)] = inner[0], inner[-1]
        else:
            out_layers.append(layer)
    for a, b in edges:
        out_edges.append((lasts.get(id(a), a), firsts.get(id(b), b)))
    return out_layers, out_edges


def _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations,
           show_trainable, trained_ids) -> str:
    title = type(layer).__name__
    if show_layer_names:
        title = f"{layer.name} ({title})"
    rows = [f'<tr><td colspan="2"><b>{html.escape(title)}</b></td></tr>']
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        act = getattr(layer.activation, "__name__", str(layer.activation))
        rows.append(f'<tr><td colspan="2">activation: {html.escape(act)}</td></tr>')
    if show_shapes:
        in_shape = getattr(layer, "_build_input_shape", None)
        out_shape = getattr(layer, "_last_output_shape", None)
        rows.append(f"<tr><td>input: {html.escape(_shape_text(in_shape))}</td>"
                    f"<td>output: {html.escape(_shape_text(out_shape))}</td></tr>")
    if show_dtype:
        rows.append(f'<tr><td colspan="2">dtype: {html.escape(str(layer.dtype))}</td></tr>')
    if show_trainable:
        rows.append(f'<tr><td colspan="2">{trainability_label(layer, trained_ids)}</td></tr>')
    return "<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\">" + "".join(rows) + \
        "</table>>"


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False,
                 dpi: int = 200, subgraph: bool = False, show_layer_activations: bool = False,
                 show_trainable: bool = False, **kwargs) -> Any:
    """A ``pydot.Dot`` graph of ``model``'s layers (one box per layer, arrows for the data
    flow); Keras 3's arguments. ``show_trainable`` labels each layer trainable / frozen /
    partly frozen under thawnet's trainability rule.

    Raises:
        ImportError: pydot is not installed (the message says what to install).
    """
    if kwargs:
        raise TypeError(f"model_to_dot: unexpected keyword argument(s) {sorted(kwargs)}.")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f'model_to_dot: rankdir must be "TB" (top to bottom) or "LR" (left '
                         f"to right); received rankdir={rankdir!r}.")
    pydot = _pydot()
    dot = pydot.Cluster(style="dashed", graph_name=model.name) if subgraph else pydot.Dot()
    dot.set("rankdir", rankdir)
    dot.set("dpi", dpi)
    dot.set_node_defaults(shape="plaintext")
    trained_ids = {id(v) for v in model.trainable_weights}
    layers, edges = _nodes_and_edges(model, expand_nested)
    for layer in layers:
        dot.add_node(pydot.Node(str(id(layer)), label=_label(
            layer, show_shapes, show_dtype, show_layer_names, show_layer_activations,
            show_trainable, trained_ids)))
    seen = set()
    for a, b in edges:
        if (id(a), id(b)) not in seen:
            seen.add((id(a), id(b)))
            dot.add_edge(pydot.Edge(str(id(a)), str(id(b))))
    return dot


def plot_model(model: Any, to_file: str = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, **kwargs) -> Any:
    """Draw ``model`` to ``to_file`` (format from its extension: png, svg, pdf, dot, ...).

    Args: as :func:`model_to_dot`, plus ``to_file``.

    Returns:
        In a notebook, an ``IPython.display.Image`` of a PNG; otherwise None.

    Raises:
        ImportError: pydot (or Graphviz) is not installed.
    """
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, **kwargs)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    try:
        dot.write(to_file, format=extension)
    except (FileNotFoundError, OSError) as err:
        if isinstance(err, FileNotFoundError) or "dot" in str(err):
            raise ImportError("plot_model: Graphviz's `dot` program was not found; install "
                              "Graphviz (apt-get install graphviz, brew install graphviz) "
                              f"to draw {to_file!r}.") from err
        raise
    if extension == "png":
        try:
            from IPython import display
            return display.Image(filename=to_file)
        except ImportError:
            return None
    return None
