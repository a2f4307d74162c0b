"""Weight regularizers: penalties added to the training loss."""

from __future__ import annotations

from typing import Any, Callable

import jax.numpy as jnp
from thawnet.backend.identifiers import IdentifierKind
from thawnet.backend.types import Array, Config, Identifier, TensorLike


class Regularizer:
    def __call__(self, x: TensorLike) -> Array:
        raise NotImplementedError

    def get_config(self) -> Config:
        return {}


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x: TensorLike) -> Array:
        out = 0.0
        if self.l1:
            out = out + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            out = out + self.l2 * jnp.sum(jnp.square(x))
        return jnp.asarray(out, jnp.float32)

    def get_config(self) -> Config:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> Config:
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> Config:
        return {"l2": self.l2}


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def _regularizer_named(name):
    factory = _CLASSES.get(name) or _BY_NAME.get(name)  # Keras accepts "L1" and "l1"
    return factory() if factory is not None else None


_KIND = IdentifierKind("regularizer", by_name=_regularizer_named, class_named=_CLASSES.get,
                       known=lambda: set(_BY_NAME) | set(_CLASSES), base=(Regularizer,))


def get(identifier: Identifier, where: str = "") -> Regularizer | Callable | None:
    """Resolve None, a name (``"l2"``, ``"L1L2"``), a config dict, a Regularizer or a
    callable ``value -> scalar``."""
    return _KIND.get(identifier, where)


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Regularizer:
    """The regularizer a config dict ``{"class_name": ..., "config": {...}}`` describes, resolved
    as :func:`get` resolves one (``custom_objects`` first)."""
    return _KIND.deserialize(config, custom_objects=custom_objects)


def serialize(reg: Any) -> dict[str, Any] | None:
    if reg is None:
        return None
    if isinstance(reg, Regularizer):
        return {"class_name": type(reg).__name__, "config": reg.get_config()}
    raise ValueError(f"Cannot serialize regularizer {reg!r}.")
