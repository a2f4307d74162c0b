"""Connectionist temporal classification (CTC) ops of Keras 3's ``keras.ops.nn``: the loss
(over ``optax.ctc_loss``) and greedy decoding."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optax

from thawnet.ops.dispatch import op
from thawnet.backend.types import Array, TensorLike, TensorTree


def _paddings(lengths, max_length, dtype):
    # 1.0 at the padded positions (index >= length), as optax expects.
    return (jnp.arange(max_length)[None, :] >= jnp.asarray(lengths)[:, None]).astype(dtype)


@op
def ctc_loss(target: TensorLike, output: Any, target_length: Any, output_length: Any,
             mask_index: int = 0) -> Array:
    """CTC loss per sequence.

    Args:
        target: ``(batch, max_label_length)`` int labels.
        output: ``(batch, max_time, classes)`` logits.
        target_length: ``(batch,)`` label lengths.
        output_length: ``(batch,)`` sequence lengths.
        mask_index: the blank class.

    Returns:
        ``(batch,)`` negative log-likelihoods.
    """
    output = jnp.asarray(output)
    dtype = jnp.result_type(output.dtype, jnp.float32)
    target = jnp.asarray(target, "int32")
    return optax.ctc_loss(output.astype(dtype),
                          _paddings(output_length, output.shape[1], dtype),
                          target, _paddings(target_length, target.shape[1], dtype),
                          blank_id=mask_index, log_epsilon=-1e5)


@op
def ctc_decode(inputs: TensorTree, sequence_lengths: Any, strategy: str = "greedy",
               beam_width: int = 100, top_paths: int = 1, merge_repeated: bool = True,
               mask_index: int = 0) -> tuple:
    """Decode CTC outputs greedily: best class per step, repeats merged, blanks removed.

    Args:
        inputs: ``(batch, max_time, classes)`` scores.
        sequence_lengths: ``(batch,)`` lengths.
        strategy: ``"greedy"`` (``"beam_search"`` is not supported).
        beam_width, top_paths: beam search only.
        merge_repeated: merge consecutive repeats of a class.
        mask_index: the blank class (None: the last class).

    Returns:
        ``(decoded, scores)``: ``(1, batch, max_time)`` int labels padded with -1, and
        ``(batch, 1)`` negative sums of the best scores.
    """
    if strategy != "greedy":
        raise ValueError(f"ops.ctc_decode: only strategy='greedy' is supported by thawnet; "
                         f"received strategy={strategy!r}.")
    inputs = jnp.asarray(inputs)
    batch, steps, classes = inputs.shape
    blank = classes - 1 if mask_index is None else mask_index
    best = jnp.argmax(inputs, axis=-1)
    scores = jnp.max(inputs, axis=-1)
    beyond = jnp.arange(steps)[None, :] >= jnp.asarray(sequence_lengths)[:, None]
    best = jnp.where(beyond, blank, best)
    scores = jnp.where(beyond, 0.0, scores)
    if merge_repeated:
        repeated = jnp.pad(best[:, 1:] == best[:, :-1], ((0, 0), (1, 0)))
        best = jnp.where(repeated, blank, best)
    dropped = best == blank
    # Move the kept labels to the front, in order (a stable sort on "dropped").
    order = jnp.argsort(jnp.where(dropped, steps, jnp.arange(steps)[None, :]), axis=-1)
    decoded = jnp.take_along_axis(jnp.where(dropped, -1, best), order, axis=-1)
    return decoded[None], -jnp.sum(scores, axis=1)[:, None]


__all__ = ["ctc_decode", "ctc_loss"]
