"""LoRA (low-rank adaptation), shared by Dense, EinsumDense, Conv1D/2D/3D, DepthwiseConv1D/2D
and Embedding.

``layer.enable_lora(rank)`` freezes the layer's base matrix (its own ``trainable`` flag turns
off, and :attr:`~thawnet.variables.Variable.frozen_by` records ``"enable_lora"`` so the summary
can say why) and adds two trained factors ``a`` (``base.shape[:-1] + (rank,)``) and ``b``
(``(rank, base.shape[-1])``). The layer then computes with the effective matrix::

    effective = base + (lora_alpha / rank) * (a @ b)

``b`` starts at zero, so enabling LoRA changes no output. ``merge_lora()`` folds the product
into the base matrix and removes the factors: the layer is a plain one again, with the same
outputs (``unmerge_lora()`` undoes the last merge). The weights, their names and their
order are Keras 3's (base, bias, ``a``, ``b``).

A layer using this mixin sets three class attributes and calls three hooks::

    _lora_base_name = "kernel"        # the base weight; stored as ``self._kernel``
    _lora_factor_names = ("lora_kernel_a", "lora_kernel_b")
    _lora_constraint_name = "kernel_constraint"   # LoRA is refused when it is set

    __init__: self._init_lora(lora_rank, lora_alpha)
    build (last): self._build_lora()
    call: self._lora_effective(self._kernel.value)

A layer whose base matrix is not factored as ``base[:-1] x base[-1]`` overrides
``_lora_factor_shapes`` and ``_lora_product`` (DepthwiseConv: ``a`` spans the window, ``b``
the channels). Model-wide ``enable_lora`` / ``merge_lora`` are in
:mod:`thawnet.models.lora_model`.
"""

from __future__ import annotations

import numbers

import jax.numpy as jnp
import numpy as np

from thawnet import initializers
from thawnet.backend.types import Identifier
from thawnet.variables import Variable

FROZEN_BY_LORA = "enable_lora"


def _check_rank(who: str, rank, arg: str) -> int:
    if not isinstance(rank, numbers.Integral) or isinstance(rank, bool) or rank <= 0:
        raise ValueError(f"{who}: {arg} must be a positive integer (the rank of the LoRA "
                         f"factors, e.g. 4); received {arg}={rank!r}.")
    return int(rank)


class MergedLoraWeight:
    """How a LoRA layer's base matrix appears in Keras 3 weight files.

    Keras 3 stores a LoRA layer's matrix merged (base + scaled product) and no factors, and on
    loading puts the file's matrix in the base and zeroes the factors. This stand-in gives the
    Keras file readers and writers exactly that: ``value`` is the merged matrix, ``assign``
    sets the base and zeroes the factors, so a file round trip keeps every output.

    Args:
        layer: the LoRA-enabled layer.
    """

    def __init__(self, layer: "LoraMixin"):
        self._layer = layer
        self._base = layer._lora_base()
        self.name, self.path = self._base.name, self._base.path
        self.shape, self.dtype = self._base.shape, self._base.dtype
        self.role = self._base.role

    @property
    def is_materialized(self) -> bool:
        # ``value`` materialises the base and the factors itself when first read.
        return True

    @property
    def value(self):
        return (self._base.value + self._layer._lora_update()).astype(self.dtype)

    def assign(self, value) -> None:
        self._base.assign(value)
        for factor in self._layer._lora_factors():
            factor.assign(jnp.zeros(factor.shape, factor.dtype))


class LoraMixin:
    """``enable_lora`` / ``merge_lora`` and the effective matrix, for one base weight."""

    _lora_base_name = "kernel"
    _lora_factor_names = ("lora_kernel_a", "lora_kernel_b")
    _lora_constraint_name = "kernel_constraint"
    _lora_regularizer_name = "kernel_regularizer"

    def _lora_who(self) -> str:
        return f'{type(self).__name__} "{self.name}"'

    def _init_lora(self, lora_rank, lora_alpha) -> None:
        """Store the constructor's ``lora_rank`` / ``lora_alpha`` (applied at build)."""
        if lora_rank is not None:
            lora_rank = _check_rank(self._lora_who(), lora_rank, "lora_rank")
        if lora_alpha is not None and lora_rank is None:
            raise ValueError(f"{self._lora_who()}: lora_alpha={lora_alpha!r} needs lora_rank "
                             "as well (the scale is lora_alpha / lora_rank); give lora_rank=, "
                             "or call layer.enable_lora(rank, lora_alpha=...) after building.")
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False

    def _build_lora(self) -> None:
        """The end of ``build``: a ``lora_rank`` given to the constructor enables LoRA now."""
        if self.lora_rank and not self.lora_enabled:
            self._attach_lora(self.lora_rank, self.lora_alpha, "he_uniform", "zeros")

    # -- the public API -----------------------------------------------------------------------
    def enable_lora(self, rank: int, lora_alpha: float | None = None,
                    a_initializer: Identifier = "he_uniform", b_initializer: Identifier = "zeros"
            ) -> None:
        """Freeze the base matrix and train two low-rank factors instead (Keras 3's API).

        Args:
            rank: positive int, the inner size of the factors.
            lora_alpha: the scale's numerator (default ``rank``): the update is
                ``lora_alpha / rank * a @ b``.
            a_initializer, b_initializer: initializers of the factors (``b`` at zeros keeps
                the outputs unchanged when LoRA is enabled).

        Raises:
            ValueError: the layer is not built, LoRA is already enabled, or the base matrix
                has a constraint.

        >>> from thawnet.layers import Dense
        >>> layer = Dense(3)
        >>> layer.build((None, 4))
        >>> layer.enable_lora(2)
        >>> [w.name for w in layer.trainable_weights]
        ['bias', 'lora_kernel_a', 'lora_kernel_b']
        """
        who = self._lora_who()
        rank = _check_rank(who, rank, "rank")
        if getattr(self, self._lora_constraint_name, None) is not None:
            words = self._lora_base_name.rstrip("s") + " constraints"
            raise ValueError(
                f"{who}: LoRA is incompatible with {words} (the factors would bypass the "
                "constraint); received "
                f"{self._lora_constraint_name}={getattr(self, self._lora_constraint_name)!r}. "
                f"Create the layer without {self._lora_constraint_name} to enable LoRA.")
        if not self.built:
            raise ValueError(f"{who}: Cannot enable lora on a layer that isn't yet built: its "
                             "base matrix does not exist yet. Call layer.build(input_shape) "
                             "(or the layer on data) first, or pass lora_rank= to the "
                             "constructor to enable it at build.")
        if self.lora_enabled:
            raise ValueError(f"{who}: lora is already enabled (rank {self.lora_rank}); it can "
                             "be enabled only once per layer. Call layer.merge_lora() first "
                             "to fold the current factors into the base matrix.")
        self._attach_lora(rank, lora_alpha, a_initializer, b_initializer)

    def merge_lora(self) -> None:
        """Fold ``lora_alpha / rank * a @ b`` into the base matrix and remove the factors.

        Afterwards the layer is a plain one: the base matrix is trainable again (its own flag
        as it was before ``enable_lora``), ``lora_enabled`` is False, the config holds no
        ``lora_rank``, and the outputs are the same as before merging.

        Raises:
            ValueError: LoRA is not enabled on this layer.
        """
        if not self.lora_enabled:
            raise ValueError(f"{self._lora_who()}: merge_lora() needs LoRA enabled; this layer "
                             "has no LoRA factors to merge. Call layer.enable_lora(rank) "
                             "first.")
        base = self._lora_base()
        a, b = self._lora_factors()
        # Kept (host copies) for unmerge_lora(); not weights: files and counts ignore them.
        self._lora_merged = (self.lora_rank, self.lora_alpha, np.asarray(a.value),
                             np.asarray(b.value))
        base.assign((base.value + self._lora_update()).astype(base.dtype))
        self._own_variables = [v for v in self._own_variables if v is not a and v is not b]
        for name in self._lora_factor_names:
            object.__delattr__(self, name)
        base.own_trainable = self._lora_base_was_trainable
        base.frozen_by = None
        self.lora_enabled = False
        self.lora_rank = None
        self.lora_alpha = None

    def unmerge_lora(self) -> None:
        """Undo the last :meth:`merge_lora`: the factors come back with their values and the
        base matrix becomes ``kernel - lora_alpha / rank * a @ b`` (frozen by enable_lora
        again), so the outputs stay the same within float rounding.

        Raises:
            ValueError: LoRA is enabled, or the layer was never merged in this session.
        """
        merged = getattr(self, "_lora_merged", None)
        if self.lora_enabled or merged is None:
            state = "has LoRA enabled" if self.lora_enabled else "was never merged"
            raise ValueError(f"{self._lora_who()}: unmerge_lora() undoes merge_lora(), but "
                             f"this layer {state}. Call layer.merge_lora() first.")
        rank, alpha, a_value, b_value = merged
        self._attach_lora(rank, alpha, "zeros", "zeros")
        a, b = self._lora_factors()
        a.assign(jnp.asarray(a_value, a.dtype))
        b.assign(jnp.asarray(b_value, b.dtype))
        base = self._lora_base()
        base.assign((base.value - self._lora_update()).astype(base.dtype))
        self._lora_merged = None

    # -- what layers call ---------------------------------------------------------------------
    def _lora_effective(self, base_value):
        """``base_value`` plus the scaled product of the factors (or itself without LoRA)."""
        if not self.lora_enabled:
            return base_value
        return (base_value + self._lora_update()).astype(self.compute_dtype)

    def _lora_config(self) -> dict:
        """The ``lora_rank`` / ``lora_alpha`` config entries (none when LoRA is off)."""
        if not self.lora_rank:
            return {}
        return {"lora_rank": self.lora_rank, "lora_alpha": self.lora_alpha}

    def _lora_base_property(self):
        """What ``layer.kernel`` reads: the Variable, or the effective array with LoRA."""
        base = self.__dict__.get("_" + self._lora_base_name)
        if base is None:
            raise AttributeError(f"{self._lora_who()} has no {self._lora_base_name} before it "
                                 "is built; call layer.build(input_shape) or the layer on "
                                 "data first.")
        return self._lora_effective(base.value) if self.lora_enabled else base

    def _keras_file_weights(self) -> list:
        """Keras 3 files hold a LoRA layer's matrix merged, without the factors."""
        own = super()._keras_file_weights()
        if not self.lora_enabled:
            return own
        base, factors = self._lora_base(), self._lora_factors()
        return [MergedLoraWeight(self) if v is base else v for v in own
                if all(v is not f for f in factors)]

    # -- internals ----------------------------------------------------------------------------
    def _lora_base(self) -> Variable:
        return getattr(self, "_" + self._lora_base_name)

    def _lora_factors(self) -> tuple[Variable, Variable]:
        return tuple(getattr(self, name) for name in self._lora_factor_names)

    def _lora_scale(self) -> float:
        return self.lora_alpha / self.lora_rank

    # -- the factorisation: a layer with another layout overrides these two ---------------
    def _lora_factor_shapes(self, base_shape: tuple, rank: int) -> tuple[tuple, tuple]:
        """Shapes of ``a`` and ``b``: ``base[:-1] + (rank,)`` and ``(rank, base[-1])``, as
        Keras 3 for Dense, Conv and EinsumDense kernels and Embedding tables."""
        return tuple(base_shape[:-1]) + (rank,), (rank, base_shape[-1])

    def _lora_product(self, a, b):
        """The low-rank matrix ``a @ b``, in the base matrix's shape."""
        return a @ b

    def _lora_update(self):
        """``lora_alpha / rank * product(a, b)``: what LoRA adds to the base matrix."""
        a, b = self._lora_factors()
        return self._lora_scale() * self._lora_product(a.value, b.value)

    def _attach_lora(self, rank, lora_alpha, a_initializer, b_initializer) -> None:
        base = self._lora_base()
        regularizer = getattr(self, self._lora_regularizer_name, None)
        a_name, b_name = self._lora_factor_names
        # Factors are float32 whatever the layer's dtype (Keras 3): small updates to a
        # low-precision base would underflow. Both are parameters, trained by the optimizer.
        a_shape, b_shape = self._lora_factor_shapes(base.shape, rank)
        a = self.add_weight(name=a_name, shape=a_shape,
                            initializer=initializers.get(a_initializer), dtype="float32",
                            regularizer=regularizer)
        b = self.add_weight(name=b_name, shape=b_shape,
                            initializer=initializers.get(b_initializer), dtype="float32",
                            regularizer=regularizer)
        object.__setattr__(self, a_name, a)
        object.__setattr__(self, b_name, b)
        # The base stays a parameter; only its own flag turns off, and the reason is kept.
        self._lora_base_was_trainable = base.own_trainable
        base.own_trainable = False
        base.frozen_by = FROZEN_BY_LORA
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank


__all__ = ["LoraMixin", "MergedLoraWeight", "FROZEN_BY_LORA"]
