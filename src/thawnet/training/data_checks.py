"""Checks of training data that would otherwise fail silently inside compiled code.

JAX does not raise on NaN inputs or on out-of-range gather indices (it clamps, or fills), so a
label 10 for a 10-class output would train on class 9 without a word, and a token id past an
Embedding's vocabulary would read a NaN row. These checks run once per ``fit``/``evaluate``/
``train_on_batch`` call on the host, vectorised (one sum per array; the position of a bad
value is searched for only once one is known to exist), before anything is compiled. An array
found finite is not scanned again when the same object comes back (``fit`` after ``fit``).

What is checked: NaN/infinity in x, y and sample_weight; the shape of each target against its
loss (:mod:`thawnet.training.target_checks`); sparse labels in ``[0, classes)``; and indices
in ``[0, input_dim)`` for every Embedding fed directly by a model input. An Embedding fed by
another layer's output cannot be checked here (its indices exist only inside compiled code).
"""

from __future__ import annotations

import weakref

import numpy as np

from thawnet.layers.embedding import Embedding, out_of_range_message
from thawnet.losses import SparseCategoricalCrossentropy
from thawnet.training.target_checks import check_target_shapes


def _leaves_with_names(structure, what):
    if isinstance(structure, dict):
        return [(f"{what}[{k!r}]", v) for k, v in structure.items()]
    if isinstance(structure, (list, tuple)):
        return [(f"{what}[{i}]", v) for i, v in enumerate(structure)]
    return [(what, structure)]


# Arrays already found finite, by id (with a weak reference, so a new array that reuses the
# id is scanned again): the same data set given to fit after fit is scanned once.
_KNOWN_FINITE: dict = {}


def _known_finite(arr) -> bool:
    ref = _KNOWN_FINITE.get(id(arr))
    return ref is not None and ref() is arr


def _remember_finite(arr) -> None:
    try:
        ref = weakref.ref(arr)
    except TypeError:  # not weak-referenceable: scanned every time
        return
    if len(_KNOWN_FINITE) > 256:
        for key in [k for k, r in _KNOWN_FINITE.items() if r() is None]:
            del _KNOWN_FINITE[key]
    _KNOWN_FINITE[id(arr)] = ref


def check_finite(structure, what):
    """Raise if a floating array holds NaN or infinity, naming the first bad sample.

    One pass over each array (its sum is NaN or infinite when a value is; a sum that merely
    overflows is checked value by value), once per array object: a data set given to ``fit``
    again is not scanned again (change it in place and the check does not see it).
    """
    if structure is None:
        return
    for name, arr in _leaves_with_names(structure, what):
        if (not np.issubdtype(arr.dtype, np.floating) or not arr.size
                or _known_finite(arr)):
            continue
        if not np.isfinite(arr.sum(dtype=np.float64 if arr.dtype.itemsize > 4 else None)):
            found = np.argwhere(~np.isfinite(arr))
            if found.size:
                bad = found[0]
                raise ValueError(
                    f"{name} contains NaN or infinity (first at index "
                    f"{tuple(int(i) for i in bad)}: {arr[tuple(bad)]}). Clean or impute the data "
                    "before training; NaN inputs make every weight they touch NaN.")
        _remember_finite(arr)


def _per_output(structure, names):
    """``y`` as one array per output: a dict is read by output name, a list in order."""
    if isinstance(structure, dict):
        return [structure.get(n) for n in names]
    if isinstance(structure, (list, tuple)):
        return list(structure)
    return [structure]


def _graph(model):
    return getattr(model, "_graph", None)


def check_targets(model, compiled_loss, y, what="y"):
    """Each target has the shape its (built-in) loss expects; see ``target_checks``."""
    if compiled_loss is None or y is None or _graph(model) is None:
        return
    names = compiled_loss.output_names
    check_target_shapes(compiled_loss.losses, [t.shape for t in _graph(model).output_tensors],
                        _per_output(y, names), names, what)


def check_sparse_labels(model, compiled_loss, y):
    """Integer labels of sparse crossentropy must lie in ``[0, classes)``."""
    if compiled_loss is None or y is None or _graph(model) is None:
        return
    outputs = _graph(model).output_tensors
    ys = _per_output(y, compiled_loss.output_names)
    for loss, out, labels, name in zip(compiled_loss.losses, outputs, ys,
                                       compiled_loss.output_names):
        if (not isinstance(loss, SparseCategoricalCrossentropy) or labels is None
                or not out.shape or out.shape[-1] is None):
            continue
        classes = out.shape[-1]
        ignore = loss.fn_kwargs.get("ignore_class")
        values = np.asarray(labels)
        if ignore is not None:
            values = values[values != ignore]
        if values.size == 0:
            continue
        if not np.issubdtype(values.dtype, np.integer) and not np.all(values == np.round(values)):
            raise ValueError(f"sparse_categorical_crossentropy expects integer class labels for "
                             f'output "{name}"; received non-integer values such as '
                             f"{values.flat[np.argmax(values != np.round(values))]}.")
        low, high = values.min(), values.max()
        if low < 0 or high >= classes:
            raise ValueError(
                f'Labels out of range for output "{name}": it has {classes} classes (labels 0 to '
                f"{classes - 1}), but y holds {high if high >= classes else low}. Check the "
                "labels, or give the last layer as many units as there are classes.")


def _inputs_by_tensor(graph, x):
    """``{id(input tensor): (name, array)}`` for the model inputs found in ``x``."""
    tensors = graph.input_tensors
    if isinstance(x, dict):
        pairs = [(t, f"x[{t.name!r}]", x.get(t.name)) for t in tensors]
    elif isinstance(x, (list, tuple)):
        pairs = [(t, f"x[{i}]", a) for i, (t, a) in enumerate(zip(tensors, x))]
    else:
        pairs = [(tensors[0], "x", x)] if len(tensors) == 1 else []
    return {id(t): (name, a) for t, name, a in pairs if a is not None}


def check_embedding_indices(model, x, batch_size, what="x"):
    """Indices fed straight from a model input to an Embedding lie in ``[0, input_dim)``.

    Args:
        model: a model with a graph (others are not checked).
        x: the inputs, as the dataset holds them.
        batch_size: the batch size, to say in which batch the first bad index falls.
        what: how the data is named in the message (``"x"``, ``"validation_data x"``).

    Raises:
        ValueError: naming the layer, ``input_dim``, the range received, and the first bad
            index with its sample and batch (counted before any shuffling).
    """
    graph = _graph(model)
    if graph is None or x is None:
        return
    arrays = _inputs_by_tensor(graph, x)
    for node in graph.nodes:
        if not isinstance(node.layer, Embedding) or len(node.input_tensors) != 1:
            continue
        entry = arrays.get(id(node.input_tensors[0]))
        if entry is None or entry[1].size == 0:
            continue
        name, values = entry[0].replace("x", what, 1), np.asarray(entry[1])
        dim = node.layer.input_dim
        low, high = values.min(), values.max()
        if not np.issubdtype(values.dtype, np.integer):
            low, high = np.trunc(low), np.trunc(high)  # the layer truncates floats to int32
        if low >= 0 and high < dim:
            continue
        as_index = values if np.issubdtype(values.dtype, np.integer) else np.trunc(values)
        first = tuple(int(i) for i in np.argwhere((as_index < 0) | (as_index >= dim))[0])
        where = (f"; the first bad one is {name}[{', '.join(map(str, first))}] = "
                 f"{int(as_index[first])} (sample {first[0]}, batch {first[0] // batch_size} "
                 f"with batch_size={batch_size}, counted before shuffling)")
        raise ValueError(out_of_range_message(node.layer.name, dim, int(low), int(high), where))


def check_training_data(model, compiled_loss, dataset, what=""):
    """All the checks above, on a dataset about to be trained or evaluated on.

    Args:
        model: the (built) model.
        compiled_loss: its ``CompiledLoss`` (None when compiled without a loss).
        dataset: an ``ArrayDataset``.
        what: a prefix for the names in messages (``"validation_data "``), empty for the
            data of the call itself.
    """
    if getattr(dataset, "streamed", False):
        # A stream (generator, PyDataset...) is checked batch by batch as it is read, with
        # these same checks: give it the model to check against.
        dataset.attach(model, compiled_loss)
        return
    check_finite(dataset.x, f"{what}x")
    check_finite(dataset.y, f"{what}y")
    if dataset.sample_weight is not None:
        check_finite(dataset.sample_weight, f"{what}sample_weight")
    check_targets(model, compiled_loss, dataset.y, f"{what}y")
    check_sparse_labels(model, compiled_loss, dataset.y)
    check_embedding_indices(model, dataset.x, dataset.batch_size, f"{what}x")
