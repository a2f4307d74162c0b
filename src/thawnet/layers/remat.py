"""Rematerialization as in Keras 3: ``RematScope`` chooses layers whose activations are
recomputed in the backward pass instead of kept (``jax.checkpoint``), trading compute for
memory.

Modes (Keras's): ``"full"`` every layer, ``"activations"`` layers with an ``activation``,
``"larger_than"`` layers whose output has more than ``output_size_threshold`` elements,
``"list_of_layers"`` the layers named in ``layer_names``; ``None`` turns it off. A layer
takes the scope active when it is *created*, as in Keras.
"""

from __future__ import annotations

import contextvars
import math
from typing import Any

import jax

from thawnet.backend.types import TensorTree

_MODES = (None, "full", "activations", "larger_than", "list_of_layers")
_active: contextvars.ContextVar = contextvars.ContextVar("thawnet_remat", default=None)


class RematScope:
    """Context manager: layers created inside are rematerialized by ``mode``.

    Args:
        mode: one of ``None``, ``"full"``, ``"activations"``, ``"larger_than"``,
            ``"list_of_layers"``.
        output_size_threshold: for ``"larger_than"``, the output size above which a layer
            is rematerialized.
        layer_names: for ``"list_of_layers"``, the names of the layers to rematerialize.

    Example:
        >>> import thawnet
        >>> from thawnet.layers.remat import RematScope
        >>> with RematScope(mode="full"):
        ...     layer = thawnet.layers.Dense(2)
        >>> layer._remat_scope.mode
        'full'
    """

    def __init__(self, mode: str | None = "full", output_size_threshold: int = 1024,
                 layer_names: list[str] | None = None):
        if mode not in _MODES:
            raise ValueError(f"RematScope: mode must be one of {list(_MODES)}; received "
                             f"mode={mode!r}.")
        if mode == "list_of_layers" and not layer_names:
            raise ValueError("RematScope: mode='list_of_layers' needs the names of the layers "
                             "to rematerialize; received layer_names=None. Pass layer_names=[...].")
        self.mode = mode
        self.output_size_threshold = output_size_threshold
        self.layer_names = list(layer_names or [])
        self._token = None

    def __enter__(self) -> "RematScope":
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _active.reset(self._token)


def current_scope() -> RematScope | None:
    """The innermost active :class:`RematScope`, or None."""
    return _active.get()


class Rematerialization:
    """Mixin of Layer: ``rematerialized_call``, Keras 3's hook."""

    def rematerialized_call(self, layer_call: Any, *args, **kwargs) -> TensorTree:
        """``layer_call`` itself, or wrapped in ``jax.checkpoint`` when the RematScope this
        layer was created in selects it (``args``/``kwargs``: the call's inputs, which the
        ``"larger_than"`` mode measures)."""
        scope = self.__dict__.get("_remat_scope")
        if scope is None or scope.mode is None or not self._remat_selected(scope, args):
            return layer_call
        return jax.checkpoint(layer_call)

    def _remat_selected(self, scope: RematScope, args) -> bool:
        if scope.mode == "full":
            return True
        if scope.mode == "activations":
            return getattr(self, "activation", None) is not None
        if scope.mode == "list_of_layers":
            return self.name in scope.layer_names
        if not args or not hasattr(args[0], "shape"):
            return False
        shape = self.compute_output_shape(tuple(args[0].shape))
        if not isinstance(shape, tuple) or not all(isinstance(d, int) for d in shape):
            return False  # several outputs or unknown sizes: Keras measures one known shape
        return math.prod(shape) > scope.output_size_threshold
