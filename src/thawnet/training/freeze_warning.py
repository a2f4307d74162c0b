"""The classic freezing mistake, caught: a training call that trains less than compile() saw.

A GAN script written for Keras 2 compiles the discriminator ``D``, sets ``D.trainable = False``,
compiles the combined model, then calls ``D.train_on_batch``. Keras 2 captured the trainable
state at ``compile()``, so D still trained. Keras 3 and thawnet read the flags at every call,
so D trains nothing, silently. thawnet warns once per model and trainable split when a
``fit`` / ``train_on_batch`` call has no trainable weight at all, or fewer than at
``compile()``, and names the layers frozen since then and the fixes.
"""

from __future__ import annotations

import warnings


class FrozenSinceCompileWarning(UserWarning):
    """A training call trains fewer weights than the model had trainable at ``compile()``."""


def _flags(model):
    """``{id: (layer, own trainable flag)}`` for the model and every layer inside it."""
    return {id(layer): (layer, bool(layer.trainable))
            for layer in [model, *model._all_layers()]}


def remember_compiled_split(model) -> None:
    """Record, at ``compile()``, each layer's flag and the number of trainable weights
    (None while the model is unbuilt: its weights do not exist yet).

    Args:
        model: the model being compiled.
    """
    model._compiled_flags = _flags(model)
    model._compiled_trainable_count = (len(model.trainable_split()[0]) if model.built
                                       else None)
    model._freeze_warned = set()


def warn_if_frozen_since_compile(model, split_key, call: str) -> bool:
    """Warn (once per model and split) when this training call trains nothing, or fewer
    weights than at ``compile()``.

    Args:
        model: the model about to train.
        split_key: ``(trainable paths, frozen paths, flags)`` of this call.
        call: ``"fit"`` or ``"train_on_batch"``, for the message.

    Returns:
        True when a warning was emitted.
    """
    trainable = len(split_key[0])
    at_compile = getattr(model, "_compiled_trainable_count", None)
    if at_compile is None and model.built:
        # Compiled before it was built: the first training call is the reference.
        at_compile = model._compiled_trainable_count = trainable
    if trainable > 0 and (at_compile is None or trainable >= at_compile):
        return False
    warned = model.__dict__.setdefault("_freeze_warned", set())
    if split_key in warned:
        return False
    warned.add(split_key)
    before = getattr(model, "_compiled_flags", {})
    frozen = [layer.name for key, (layer, was) in before.items()
              if was and not layer.trainable]
    what = ("has no trainable weight" if trainable == 0 else
            f"trains {trainable} weights, {at_compile} were trainable at compile()")
    since = (f"Frozen since compile(): {frozen}." if frozen else
             "No layer's trainable flag changed since compile().")
    warnings.warn(
        f'Model "{model.name}": this {call}() call {what}, so it leaves those weights '
        f"unchanged (Keras 3 does the same; Keras 2 trained what was trainable at "
        f"compile()). {since} To train them, set `trainable = True` on those layers "
        f"before this call (and back to False afterwards, e.g. around a GAN's "
        f"discriminator step), or write a custom train_step.",
        FrozenSinceCompileWarning, stacklevel=3)
    return True
