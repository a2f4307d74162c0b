"""The trainability half of a fine-tuning search: blocks of a base, which of them train, at
which learning-rate multiplier, with or without LoRA, and the bit-exact restore of the base.

Blocks are runs of consecutive top-level layers of the base that hold weights. ``"auto"``
groups them by the block number in their names (``block_3_expand``, ``block5_conv1``,
``conv4_block2_out``); layers before the first numbered block form the stem, layers after
the last join it (MobileNetV2's ``Conv_1`` / ``out_relu`` join ``block_16``). ``"layers"``
makes every weighted layer its own block. A list of layer names gives the last layer of each
block, in order (the layers after the last one join the last block).
"""

from __future__ import annotations

import re

import jax.numpy as jnp
import numpy as np

import thawnet
from thawnet.models.lora_model import enable_lora, lora_capable, lora_layers, merge_lora
from thawnet.training import weight_audit
from thawnet.variables import materialize_all

_BLOCK = re.compile(r"^(.*?block_?\d+)")


def _weighted_layers(base):
    return [layer for layer in base.layers if layer.weights]


def resolve_blocks(base, blocks="auto") -> list[list[str]]:
    """The base's blocks, bottom to top, each a list of top-level layer names.

    Args:
        base: a built model.
        blocks: "auto", "layers", or a list of the names of each block's last layer.

    Returns:
        A list of blocks (lists of layer names, in model order).

    Raises:
        ValueError: an unknown mode, or a named layer the base does not have at top level.
    """
    layers = _weighted_layers(base)
    names = [layer.name for layer in layers]
    if not layers:
        raise ValueError(f'FineTuneSearch: base model "{base.name}" has no weights; give a '
                         "built model with its pretrained weights loaded.")
    if blocks == "layers":
        return [[name] for name in names]
    if blocks == "auto":
        out, key = [], None
        for name in names:
            match = _BLOCK.match(name)
            new_key = match.group(1) if match else key
            if not out or (new_key != key and match):
                out.append([])
            out[-1].append(name)
            key = new_key
        return out
    if isinstance(blocks, (list, tuple)) and blocks and all(isinstance(b, str) for b in blocks):
        missing = [b for b in blocks if b not in names]
        if missing:
            raise ValueError(f"FineTuneSearch: blocks names {missing} that are not weighted "
                             f'top-level layers of "{base.name}"; layers: {names}.')
        ends = sorted(names.index(b) for b in blocks)
        out, start = [], 0
        for end in ends:
            out.append(names[start:end + 1])
            start = end + 1
        if start < len(names):
            out[-1].extend(names[start:])
        return [b for b in out if b]
    raise ValueError(f'FineTuneSearch: blocks must be "auto", "layers" or a list of layer '
                     f"names (the last layer of each block); received blocks={blocks!r}.")


def snapshot(model) -> dict:
    """Host copies of every weight of ``model``, by path (the pretrained state)."""
    by_path = model.variables_by_path()
    materialize_all(by_path.values())
    return {p: np.array(v.value, copy=True) for p, v in by_path.items()}


def restore(model, saved: dict) -> None:
    """Assign the weights of ``saved`` (a :func:`snapshot`) back to ``model``, bit for bit;
    LoRA factors added since are merged away first (the kernels are then overwritten)."""
    if lora_layers(model):
        merge_lora(model)
    by_path = model.variables_by_path()
    if set(by_path) != set(saved):
        raise RuntimeError(f'FineTuneSearch: the weights of "{model.name}" changed structure '
                           f"since the snapshot (added: {sorted(set(by_path) - set(saved))[:5]},"
                           f" missing: {sorted(set(saved) - set(by_path))[:5]}); the base must "
                           "only be changed by the search during a search.")
    for path, v in by_path.items():
        v.assign(jnp.asarray(saved[path]))


def restore_audit(model, saved: dict):
    """The audit (:func:`thawnet.training.weight_audit.compare`) of ``model`` against
    ``saved`` with nothing counted as trained: every weight must read "unchanged", i.e. the
    same bits as the snapshot (a weight missing from either side counts as changed)."""
    report = weight_audit.compare(model, saved, trained_paths=set())
    extra = set(saved) - set(model.variables_by_path())
    return report, sorted(extra)


def apply_split(base, blocks, unfreeze_top, multiplier=1.0, decay=1.0, lora_rank=0):
    """Freeze the base except its top ``unfreeze_top`` blocks (with ``thawnet.freeze(up_to=)``),
    set their learning-rate multipliers (``multiplier * decay**i`` for the i-th block from the
    top) and, with ``lora_rank`` > 0, LoRA on their LoRA-capable layers.

    Returns:
        ``(first trainable layer name or None, LoRA layer count)``.
    """
    for layer in base.layers:
        layer.lr_multiplier = 1.0
    thawnet.unfreeze(base)
    if unfreeze_top < len(blocks):
        if unfreeze_top == 0:
            thawnet.freeze(base)
        else:
            thawnet.freeze(base, up_to=blocks[-unfreeze_top - 1][-1])
    top = blocks[len(blocks) - unfreeze_top:]
    for i, block in enumerate(reversed(top)):
        for name in block:
            base.get_layer(name).lr_multiplier = float(multiplier * decay ** i)
    lora = 0
    if lora_rank:
        for block in top:
            for name in block:
                if lora_capable(base.get_layer(name)):
                    enable_lora(base, name, rank=lora_rank)
                    lora += 1
    return (top[0][0] if top else None), lora
