"""LoRA on a whole model: ``thawnet.enable_lora`` / ``thawnet.merge_lora``.

    thawnet.enable_lora(model, "block5*", rank=4)    # every LoRA-capable layer matching
    model.fit(...)                                   # only the factors (and biases...) train
    thawnet.merge_lora(model)                        # fold the factors back, for export

Patterns are globs matched against a layer's name or its path inside the model
(``"encoder/dense*"``), nested models included, as :func:`thawnet.freeze` does. Layers that
cannot take LoRA (no ``enable_lora``: BatchNormalization, pooling...) are skipped when a
pattern with wildcards reaches them, and refused when named exactly.
"""

from __future__ import annotations

import fnmatch
from typing import Any


def _walk(model, prefix=""):
    """``(path, layer)`` for every layer under ``model``, nested models included, each once."""
    seen = set()
    for layer in model.layers:
        if id(layer) in seen or layer is model:
            continue
        seen.add(id(layer))
        path = prefix + layer.name
        yield path, layer
        if hasattr(layer, "layers"):
            yield from _walk(layer, path + "/")


def _matches(pattern: str, path: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(path, pattern)


def lora_capable(layer) -> bool:
    """Whether ``layer`` has ``enable_lora`` (Dense, EinsumDense, Conv, DepthwiseConv,
    Embedding)."""
    return callable(getattr(layer, "enable_lora", None)) and hasattr(layer, "lora_enabled")


def enable_lora(model: Any, pattern: str | None, rank: int, lora_alpha: float | None = None, *,
                a_initializer: str = "he_uniform", b_initializer: str = "zeros") -> list[str]:
    """``layer.enable_lora(rank, ...)`` on every LoRA-capable layer of ``model`` matching
    ``pattern``; returns their paths.

    Args:
        model: a built model.
        pattern: glob on layer names or paths (``None``/``"*"``: every capable layer).
        rank, lora_alpha, a_initializer, b_initializer: as :meth:`Dense.enable_lora`.

    Raises:
        ValueError: the model is not built, nothing capable matches, an exactly named layer
            cannot take LoRA, or a matched layer already has LoRA (nothing is changed then).

    >>> import thawnet
    >>> m = thawnet.Sequential([thawnet.Input((4,)), thawnet.layers.Dense(3, name="d")])
    >>> thawnet.enable_lora(m, "d", rank=2)
    ['d']
    """
    pattern = "*" if pattern is None else pattern
    if not getattr(model, "built", False):
        raise ValueError(f'enable_lora: model "{model.name}" is not built, so its layers have '
                         "no kernels to adapt yet. Build it first (give it an Input, call it "
                         "on data, or model.build(input_shape)).")
    matched = [(p, layer) for p, layer in _walk(model) if _matches(pattern, p, layer.name)]
    chosen = [(p, layer) for p, layer in matched if lora_capable(layer)]
    wildcard = any(c in pattern for c in "*?[")
    refused = [f"{p} ({type(layer).__name__})" for p, layer in matched
               if not lora_capable(layer)]
    if refused and not wildcard:
        raise ValueError(f"enable_lora: layer {refused[0]} of model \"{model.name}\" cannot "
                         "take LoRA; LoRA adapts Dense, EinsumDense, Conv1D/2D/3D, "
                         "DepthwiseConv1D/2D and Embedding layers.")
    if not chosen:
        capable = [p for p, layer in _walk(model) if lora_capable(layer)]
        raise ValueError(f"enable_lora: no LoRA-capable layer of model \"{model.name}\" "
                         f"matches {pattern!r}. LoRA-capable layers: {capable}.")
    already = [p for p, layer in chosen if layer.lora_enabled]
    if already:
        raise ValueError(f"enable_lora: LoRA is already enabled on {already} of model "
                         f"\"{model.name}\"; nothing was changed. Use a pattern that leaves "
                         "them out, or call thawnet.merge_lora(model) first.")
    for _, layer in chosen:
        layer.enable_lora(rank, lora_alpha=lora_alpha, a_initializer=a_initializer,
                          b_initializer=b_initializer)
    return [p for p, _ in chosen]


def merge_lora(model: Any, pattern: str | None = None) -> list[str]:
    """``layer.merge_lora()`` on every LoRA-enabled layer of ``model`` (matching ``pattern``);
    returns their paths (empty when none has LoRA).

    Afterwards the model is a plain one with the same outputs (within float rounding): each
    kernel holds ``kernel + lora_alpha / rank * a @ b`` and is trainable again.
    """
    pattern = "*" if pattern is None else pattern
    chosen = [(p, layer) for p, layer in _walk(model)
              if lora_capable(layer) and layer.lora_enabled and _matches(pattern, p, layer.name)]
    for _, layer in chosen:
        layer.merge_lora()
    return [p for p, _ in chosen]


def unmerge_lora(model: Any, pattern: str | None = None) -> list[str]:
    """``layer.unmerge_lora()`` on every layer of ``model`` (matching ``pattern``) that
    :func:`merge_lora` merged in this session; returns their paths."""
    pattern = "*" if pattern is None else pattern
    chosen = [(p, layer) for p, layer in _walk(model)
              if lora_capable(layer) and getattr(layer, "_lora_merged", None) is not None
              and not layer.lora_enabled and _matches(pattern, p, layer.name)]
    for _, layer in chosen:
        layer.unmerge_lora()
    return [p for p, _ in chosen]


def lora_layers(model) -> list[str]:
    """Paths of the layers of ``model`` with LoRA enabled."""
    return [p for p, layer in _walk(model) if lora_capable(layer) and layer.lora_enabled]


__all__ = ["enable_lora", "lora_capable", "lora_layers", "merge_lora", "unmerge_lora"]
