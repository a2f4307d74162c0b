"""Mask propagation, mixed into :class:`~thawnet.layers.layer.Layer` (Keras 3 semantics).

* ``supports_masking``: whether the layer's outputs get a mask from :meth:`compute_mask`.
  False by default; True by default for a class that overrides ``compute_mask`` (as in
  Keras); a layer that only passes the mask on sets ``supports_masking = True``.
* Before ``call``: when the layer has a single tensor argument and ``call`` takes ``mask``,
  ``mask`` is that argument's mask (a list of masks for a list of inputs); with several
  tensor arguments, each ``<name>_mask`` argument of ``call`` (``query_mask``,
  ``value_mask``) gets the mask of ``<name>``. A mask given explicitly is kept.
* After ``call``: a layer that supports masking attaches ``compute_mask(inputs,
  previous_mask)`` to its outputs; one that does not drops the mask, with a warning.

Masks ride on the tensors (:mod:`thawnet.backend.masking`), so this works the same way for
eager calls, the functional graph's run (which calls each layer on arrays or tracers) and
Sequential models. Symbolic outputs get a symbolic ``_keras_mask`` (shape and dtype only; it
is not a node of the graph: the graph's run recomputes masks from the arrays).
"""

from __future__ import annotations

import inspect
import warnings

import jax

from thawnet.backend import shapes
from thawnet.backend.masking import get_keras_mask, set_keras_mask
from thawnet.backend.types import TensorTree
from thawnet.layers.node import SymbolicTensor


class MaskingSupport:
    """``supports_masking`` and ``compute_mask`` (Keras 3's names and defaults)."""

    supports_masking = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Keras: a layer that defines compute_mask supports masking unless it says otherwise.
        if "compute_mask" in cls.__dict__ and "supports_masking" not in cls.__dict__:
            cls.supports_masking = True

    def compute_mask(self, inputs: TensorTree, previous_mask: TensorTree | None
            ) -> TensorTree | None:
        """The mask of the outputs, given the inputs and their mask (default: the same mask).

        Args:
            inputs: the layer's first argument, as passed to ``call``.
            previous_mask: the mask of ``inputs`` (or the ``mask`` given to the call).

        Returns:
            A boolean tensor (one per output for several outputs), or ``None``.
        """
        return previous_mask


# -- the call signature ------------------------------------------------------------------------
_signatures: dict = {}


def _signature(layer):
    fn = getattr(type(layer), "call")
    found = _signatures.get(fn)
    if found is None:
        found = _signatures[fn] = inspect.signature(layer.call)
    return found


def _is_tensor(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _is_tensor_argument(value) -> bool:
    """A tensor, or a non-empty list/tuple/dict of tensors (None entries allowed), as Keras's
    call spec counts tensor arguments."""
    if _is_tensor(value):
        return True
    if isinstance(value, (list, tuple, dict)) and value:
        flat = _flatten(value)
        return any(_is_tensor(x) for x in flat) and all(x is None or _is_tensor(x)
                                                        for x in flat)
    return False


def _flatten(structure) -> list:
    """Leaves of nested lists/tuples/dicts, ``None`` kept as a leaf (masks are often None)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for s in structure for leaf in _flatten(s)]
    if isinstance(structure, dict):
        return [leaf for k in sorted(structure) for leaf in _flatten(structure[k])]
    return [structure]


def masks_of(structure):
    """The masks of a tensor or of a list/tuple/dict of tensors, in the same structure."""
    if isinstance(structure, (list, tuple)):
        return type(structure)(masks_of(s) for s in structure)
    if isinstance(structure, dict):
        return {k: masks_of(v) for k, v in structure.items()}
    return get_keras_mask(structure)


def any_mask(masks) -> bool:
    return any(m is not None for m in _flatten(masks))


# -- before and after call ---------------------------------------------------------------------
def populate_masks(layer, inputs, args, kwargs):
    """Fill the ``mask`` / ``<name>_mask`` arguments of ``layer.call`` from the tensors' masks.

    Args:
        layer: the layer being called.
        inputs, args, kwargs: the call's arguments (``training`` excluded).

    Returns:
        ``(kwargs, previous_mask)``: the keyword arguments with the masks added, and the mask
        :meth:`MaskingSupport.compute_mask` receives (the ``mask`` argument if there is one,
        else the mask of ``inputs``).
    """
    signature = _signature(layer)
    params = signature.parameters
    wants = "mask" in params or any(name.endswith("_mask") for name in params)
    if wants:
        try:
            bound = signature.bind(inputs, *args, **kwargs)
        except TypeError:
            bound = None  # the call itself will report the wrong arguments
        if bound is not None:
            bound.apply_defaults()
            tensor_args = {k: v for k, v in bound.arguments.items() if _is_tensor_argument(v)}
            if len(tensor_args) == 1:
                if "mask" in params and bound.arguments.get("mask") is None:
                    kwargs = dict(kwargs, mask=masks_of(next(iter(tensor_args.values()))))
            elif len(tensor_args) > 1:
                for name, value in tensor_args.items():
                    key = f"{name}_mask"
                    if key in params and bound.arguments.get(key) is None:
                        kwargs = dict(kwargs, **{key: masks_of(value)})
    if kwargs.get("mask") is not None:
        return kwargs, kwargs["mask"]
    return kwargs, masks_of(inputs)


def carry_masks(before, after) -> None:
    """Keep the masks of ``before`` on ``after``, its converted (cast) copy: a layer whose
    ``call`` reads its inputs' masks itself (Maximum) must still find them."""
    old, new = _flatten(before), _flatten(after)
    for x, y in zip(old, new):
        if y is not x:
            mask = get_keras_mask(x)
            if mask is not None:
                set_keras_mask(y, mask)


def _computes_masks(layer) -> bool:
    return type(layer).compute_mask is not MaskingSupport.compute_mask


def attach_output_masks(layer, inputs, outputs, previous_mask) -> None:
    """After an eager (or traced) call: attach the output masks, or warn that they are lost."""
    if layer.supports_masking:
        if not any_mask(previous_mask) and not _computes_masks(layer):
            return
        flat_outputs = _flatten(outputs)
        if all(get_keras_mask(t) is not None for t in flat_outputs):
            return  # the layer set them itself
        masks = layer.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for tensor, mask in zip(flat_outputs, _flatten(masks)):
            if mask is not None and get_keras_mask(tensor) is None:
                set_keras_mask(tensor, mask)
    elif any_mask(previous_mask):
        _warn_dropped(layer)


def attach_symbolic_masks(layer, inputs, outputs, previous_mask) -> None:
    """After a symbolic call: give the symbolic outputs symbolic masks (shape and dtype),
    found by abstract evaluation of :meth:`compute_mask` (no graph node is recorded)."""
    if not layer.supports_masking:
        if any_mask(previous_mask):
            _warn_dropped(layer)
        return
    if not _computes_masks(layer):
        masks = previous_mask
    else:
        masks = _abstract_masks(layer, inputs, previous_mask)
    if masks is None:
        return
    for tensor, mask in zip(_flatten(outputs), _flatten(masks)):
        if mask is not None and get_keras_mask(tensor) is None:
            if mask.history is None and getattr(mask, "_mask_source", None) is None:
                # A graph that uses this mask as a value (a model output, an explicit mask=)
                # reads it off this tensor's value when it runs (models/graph.py).
                mask._mask_source = tensor
            set_keras_mask(tensor, mask)


def _abstract_masks(layer, inputs, previous_mask):
    leaves, treedef = jax.tree_util.tree_flatten(
        (inputs, previous_mask), is_leaf=lambda x: isinstance(x, shapes.TensorSpec))
    positions = [i for i, leaf in enumerate(leaves) if isinstance(leaf, shapes.TensorSpec)]
    specs = [shapes.TensorSpec(leaves[i].shape, leaves[i].dtype) for i in positions]

    def run(_weights, tensors):
        filled = list(leaves)
        for i, tensor in zip(positions, tensors):
            filled[i] = tensor
        x, m = jax.tree_util.tree_unflatten(treedef, filled)
        return layer.compute_mask(x, m)

    out = shapes.infer(run, specs)
    return jax.tree_util.tree_map(lambda s: SymbolicTensor(s.shape, s.dtype), out,
                                  is_leaf=lambda s: isinstance(s, shapes.TensorSpec))


def _warn_dropped(layer) -> None:
    warnings.warn(
        f'{type(layer).__name__} "{layer.name}" received an input that carries a mask, but '
        "it does not support masking (supports_masking is False), so its outputs carry "
        "none: later layers and the loss will treat padded timesteps as real ones. Put the "
        "mask-consuming layers (RNN, pooling, attention) before it, or set "
        "supports_masking = True on a layer that keeps the time axis.", stacklevel=3)


__all__ = ["MaskingSupport", "get_keras_mask", "set_keras_mask", "populate_masks",
           "attach_output_masks", "attach_symbolic_masks", "masks_of"]
