"""Bounding boxes (``"xyxy"`` pixels) moved with their images: Keras's clipping rule and the
per-image parameter broadcasting shared by the geometric layers."""

from __future__ import annotations

import jax.numpy as jnp


def check_format(who: str, bounding_box_format) -> None:
    if bounding_box_format != "xyxy":
        raise NotImplementedError(f'{who}: bounding boxes are supported in the "xyxy" format '
                                  f"(pixels) only; received bounding_box_format="
                                  f"{bounding_box_format!r}. Convert them first.")


def corners(bounding_boxes):
    boxes = jnp.asarray(bounding_boxes["boxes"], "float32")
    return boxes, tuple(boxes[..., i:i + 1] for i in range(4))


def per_image(values, boxes):
    """``(batch,)``-like parameters shaped to broadcast against ``(N, 4)`` or
    ``(batch, N, 4)`` boxes (a single image's boxes take the first entry)."""
    values = jnp.reshape(jnp.asarray(values, "float32"), (-1,))
    return values[0] if boxes.ndim == 2 else values[:, None, None]


def clipped(bounding_boxes, x1, y1, x2, y2, height, width):
    """Keras's ``clip_to_image_size``: corners clipped to the image; a box left with no area
    gets the label -1."""
    boxes = jnp.concatenate([jnp.clip(x1, 0, width), jnp.clip(y1, 0, height),
                             jnp.clip(x2, 0, width), jnp.clip(y2, 0, height)], axis=-1)
    out = {**bounding_boxes, "boxes": boxes}
    if bounding_boxes.get("labels") is not None:
        area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
        out["labels"] = jnp.where(area > 0, jnp.asarray(bounding_boxes["labels"]), -1)
    return out
