"""BatchNormalization (LayerNormalization is in :mod:`thawnet.layers.layer_normalization`;
both are exported here).

Both compute in at least float32 (half-precision inputs are upcast for the statistics) and
return the layer's dtype. Batch statistics use the biased variance, as Keras does.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp

from thawnet import constraints, initializers, regularizers
from thawnet.backend import dtype_policy as dtype_policy_lib
from thawnet.backend import global_config
from thawnet.backend.types import Axis, Config, Identifier, ShapeLike, TensorTree
from thawnet.layers import _batch_renorm as renorm_lib
from thawnet.layers.argument_errors import ArgumentTypeError
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register
from thawnet.layers.layer_normalization import LayerNormalization
from thawnet.layers.normalization_arguments import check_epsilon, compute_dtype_of, is_int
from thawnet.variables import STATISTIC, layer_trains_now


@register
class BatchNormalization(Layer):
    """Normalise each feature with batch statistics in training, moving statistics otherwise.

    In training mode (``training=True`` and the layer effectively trainable) the output is
    ``gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta`` with the batch mean and biased
    variance over every axis but ``axis``, and the statistics are updated as
    ``moving = moving * momentum + batch * (1 - momentum)``. Otherwise the moving statistics
    are used. A frozen layer always runs in inference mode and never updates its statistics,
    even with ``training=True`` (what fine-tuning needs). Frozen means the one rule of
    ``thawnet.variables.is_layer_effectively_trainable``: the layer's own flag or the flag of
    any model or layer that owns it is off. (Keras 3 looks at the layer's own flag only, so a
    thawed BatchNormalization inside a frozen model updates its statistics there; not here.)

    Weights, in order: ``gamma`` (if ``scale``), ``beta`` (if ``center``) — parameters —
    then ``moving_mean`` and ``moving_variance`` — statistics, never trained by gradients.
    With ``renorm=True`` three more statistics follow: ``moving_stddev``, ``renorm_mean`` and
    ``renorm_stddev`` (see ``_batch_renorm.py``).

    Args:
        axis: int, the feature axis (default -1, channels last).
        momentum: float in [0, 1], weight of the old value in the moving averages.
        epsilon: small float added to the variance.
        center: learn an offset ``beta``.
        scale: learn a scale ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: initializers (zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer: penalties added to the training loss.
        beta_constraint, gamma_constraint: projections applied after every optimizer step.
        renorm: use batch renormalisation in training (the output is corrected towards the
            moving statistics by factors ``r`` and ``d``).
        renorm_clipping: dict with optional keys ``rmin``, ``rmax``, ``dmax`` bounding ``r``
            to ``[rmin, rmax]`` and ``d`` to ``[-dmax, dmax]``.
        renorm_momentum: momentum of the moving averages that ``r`` and ``d`` are taken from.
        synchronized: accepted for Keras config compatibility; only False is supported (True
            needs the TensorFlow backend in Keras too).

    >>> import numpy as np
    >>> from thawnet.layers import BatchNormalization
    >>> bn = BatchNormalization()
    >>> y = bn(np.arange(6, dtype="float32").reshape(3, 2), training=True)
    >>> [w.name for w in bn.weights]
    ['gamma', 'beta', 'moving_mean', 'moving_variance']
    """

    # A mask (Masking, Embedding(mask_zero=True)) passes through, and the batch statistics
    # of training mode leave the masked steps out.
    supports_masking = True

    def __init__(self, axis: Axis = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Identifier = "zeros",
                 gamma_initializer: Identifier = "ones",
                 moving_mean_initializer: Identifier = "zeros",
                 moving_variance_initializer: Identifier = "ones",
                 beta_regularizer: Identifier = None, gamma_regularizer: Identifier = None,
                 beta_constraint: Identifier = None, gamma_constraint: Identifier = None,
                 renorm: bool = False, renorm_clipping: dict[str, float] | None = None,
                 renorm_momentum: float = 0.99, synchronized: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'BatchNormalization "{self.name}"'
        if not is_int(axis):
            raise ArgumentTypeError(f"{who}: axis must be an integer (the feature axis); "
                                    f"received axis={axis!r}.")
        if (not isinstance(momentum, numbers.Real) or isinstance(momentum, bool)
                or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"{who}: momentum must be a number in [0, 1]; received "
                             f"momentum={momentum!r}.")
        if synchronized:
            raise ValueError(f"{who}: synchronized=True is not supported (it needs the "
                             "TensorFlow backend in Keras too); use synchronized=False.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = check_epsilon(who, epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint, f"{who}: beta_constraint: ")
        self.gamma_constraint = constraints.get(gamma_constraint, f"{who}: gamma_constraint: ")
        self.renorm = bool(renorm)
        if self.renorm:
            renorm_clipping = renorm_lib.check_clipping(who, renorm_clipping)
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape: ShapeLike) -> None:
        input_shape = tuple(input_shape)
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(
                f'BatchNormalization "{self.name}": axis={self.axis} is out of range for inputs '
                f"of rank {rank} (shape {input_shape}). Use axis=-1 for channels-last data.")
        size = input_shape[self.axis]
        if size is None:
            raise ValueError(
                f'BatchNormalization "{self.name}" needs a known size on axis {self.axis}; '
                f"received shape {input_shape}.")
        shape = (size,)
        # gamma and beta are parameters (trained); the moving averages are statistics.
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           role=STATISTIC)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, role=STATISTIC)
        if self.renorm:
            stddev_init = renorm_lib.SqrtOf(self.moving_variance_initializer)
            self.moving_stddev = self.add_weight("moving_stddev", shape, stddev_init,
                                                 role=STATISTIC)
            self.renorm_mean = self.add_weight("renorm_mean", shape,
                                               self.moving_mean_initializer, role=STATISTIC)
            self.renorm_stddev = self.add_weight("renorm_stddev", shape, stddev_init,
                                                 role=STATISTIC)
        for v in self._own_variables:
            v.autocast = False  # as Keras: read in float32 even under a float16 autocast
        self._axis_pos = self.axis % rank
        self._reduce_axes = tuple(d for d in range(rank) if d != self._axis_pos)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: size})

    def axis_hint(self, axis: Axis) -> str:
        return ("The layer was built for a different number of features; check the previous "
                "layer's output or the axis argument.")

    def rank_hint(self, expected_rank: int) -> str:
        return ("BatchNormalization keeps the rank it was built with; use a new layer for "
                "inputs of another rank.")

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return input_shape

    def call(self, inputs: TensorTree, training: bool | None = False, mask: TensorTree | None = None
            ) -> TensorTree:
        if mask is not None and mask.ndim != inputs.ndim - 1:
            raise ValueError(
                f'BatchNormalization "{self.name}": the mask must have one dimension less than '
                f"the inputs (one flag per step); received mask.shape={tuple(mask.shape)} for "
                f"inputs.shape={tuple(inputs.shape)}.")
        x = inputs.astype(compute_dtype_of(inputs))
        with dtype_policy_lib.no_autocast():  # statistics in float32 under any policy (Keras)
            moving_mean = self.moving_mean.value.astype(x.dtype)
            moving_variance = self.moving_variance.value.astype(x.dtype)
            gamma = self.gamma.value.astype(x.dtype) if self.scale else None
            beta = self.beta.value.astype(x.dtype) if self.center else None
        # The one rule (own flag and every owner's), read through the stateless scope: a
        # frozen owner freezes these statistics even when this layer's own flag is set.
        if training and layer_trains_now(self):
            mean, variance = self._moments(x, mask)
            if self.renorm:
                gamma, beta = self._renorm_step(mean, variance, gamma, beta)
            else:
                m = self.momentum
                self.moving_mean.assign(moving_mean * m + mean * (1.0 - m))
                self.moving_variance.assign(moving_variance * m + variance * (1.0 - m))
        else:
            mean, variance = moving_mean, moving_variance
        bshape = [1] * x.ndim
        bshape[self._axis_pos] = mean.shape[0]
        # rsqrt as Keras: 1/sqrt rounds differently outside a fused (jit) program.
        inv = jax.lax.rsqrt(variance + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        shift = -mean * inv
        if beta is not None:
            shift = shift + beta
        out = x * inv.reshape(bshape) + shift.reshape(bshape)
        return out.astype(self.compute_dtype)

    def _moments(self, x, mask):
        """Batch mean and biased variance over every axis but the feature axis; with a mask,
        over the unmasked steps only (weights 0/1, the sums guarded by the global epsilon)."""
        if mask is None:
            return jnp.mean(x, axis=self._reduce_axes), jnp.var(x, axis=self._reduce_axes)
        weights = jnp.broadcast_to(mask.astype(bool)[..., None], x.shape).astype(x.dtype)
        count = jnp.sum(weights, axis=self._reduce_axes, keepdims=True) + global_config.epsilon()
        mean = jnp.sum(x * weights, axis=self._reduce_axes, keepdims=True) / count
        variance = jnp.sum(jnp.square((x - mean) * weights), axis=self._reduce_axes,
                           keepdims=True) / count
        return mean.reshape(-1), variance.reshape(-1)

    def _renorm_step(self, mean, variance, gamma, beta):
        """Update the renorm statistics; return the corrected ``(gamma, beta)``."""
        names = ("renorm_mean", "renorm_stddev", "moving_mean", "moving_stddev")
        with dtype_policy_lib.no_autocast():
            stats = {n: getattr(self, n).value.astype(mean.dtype) for n in names}
        r, d = renorm_lib.correction(mean, variance, stats["renorm_mean"],
                                     stats["renorm_stddev"], self.epsilon, self.renorm_clipping)
        new = renorm_lib.updated_statistics(mean, variance, stats, self.epsilon, self.momentum,
                                            self.renorm_momentum)
        for name, value in new.items():
            getattr(self, name).assign(value)
        return renorm_lib.fold(r, d, gamma, beta)

    def get_config(self) -> Config:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer":
                    initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
                "synchronized": False, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum}


__all__ = ["BatchNormalization", "LayerNormalization"]
