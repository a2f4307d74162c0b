"""EinsumDense: ``activation(einsum(equation, inputs, kernel) + bias)``.

The equation names the input's axes, the kernel's and the output's, e.g. ``"abc,cde->abde"``
(a projection of a sequence onto ``d`` heads of size ``e``). Three forms are accepted, as in
Keras 3: ``"ab,bc->ac"``, ``"...ab,bc->...ac"`` (leading axes elided) and ``"ab...,bc->ac..."``
(trailing axes elided). Kernel and bias shapes are derived from the equation, the input shape
and ``output_shape`` (the output's shape without the batch axis and the elided axes).
"""

from __future__ import annotations

import math
import re

import jax.numpy as jnp

from thawnet import activations, constraints, initializers, regularizers
from thawnet.backend.types import Config, Identifier, ShapeLike, TensorTree
from thawnet.layers.input_spec import InputSpec
from thawnet.layers.layer import Layer, register
from thawnet.layers.lora import LoraMixin
from thawnet.variables import Variable

_FORMS = (
    # (pattern, leading axes elided?)
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$"), False),
    (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$"), True),
    (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$"), False),
)


def _analyze_einsum_string(equation: str, bias_axes, input_shape, output_shape):
    """Shapes implied by an EinsumDense equation.

    Args:
        equation: the layer's einsum equation.
        bias_axes: output axis letters that get a bias, or None.
        input_shape: the full input shape (batch axis first).
        output_shape: the output shape without the batch axis and elided axes (int or tuple).

    Returns:
        ``(kernel_shape, bias_shape, full_output_shape, input_axes, output_axes)``: lists;
        ``bias_shape`` is None without ``bias_axes``; ``input_axes`` / ``output_axes`` are the
        kernel axes contracted with the input and those that reach the output (the fans of
        the kernel's initializer).

    Raises:
        ValueError: the equation has none of the three forms, or it does not fit the shapes.
    """
    text = equation.replace(" ", "") if isinstance(equation, str) else equation
    for pattern, left_elided in _FORMS:
        match = pattern.match(text) if isinstance(text, str) else None
        if match:
            break
    else:
        raise ValueError(
            f"Invalid einsum equation {equation!r}: EinsumDense takes one of the forms "
            "'ab,bc->ac', '...ab,bc->...ac' or 'ab...,bc->ac...' (input axes, kernel axes, "
            "output axes, each a run of letters).")
    in_spec, kernel_spec, out_spec = match.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)
    known = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    full = [input_shape[0]] + known
    if elided > 0 and left_elided:
        full[1:1] = list(input_shape[1:elided])
    elif elided > 0:
        full += list(input_shape[len(input_shape) - elided:])
    offset = elided if left_elided else 0
    in_pos = {c: i + offset for i, c in enumerate(in_spec)}
    out_pos = {c: i + offset for i, c in enumerate(out_spec)}
    for c in in_spec:
        if c in out_pos and full[out_pos[c]] is not None \
                and full[out_pos[c]] != input_shape[in_pos[c]]:
            raise ValueError(
                f"Input shape and output shape do not match at shared dimension '{c}' of the "
                f"equation {equation!r}: the input has {input_shape[in_pos[c]]} there, "
                f"output_shape asks for {full[out_pos[c]]}. Fix output_shape (or use None "
                "for that axis).")
    for c in out_spec:
        if c not in in_spec and c not in kernel_spec:
            raise ValueError(
                f"Dimension '{c}' of the output '{out_spec}' in {equation!r} is in neither "
                f"the input '{in_spec}' nor the kernel '{kernel_spec}': its size is unknown.")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, c in enumerate(kernel_spec):
        if c in out_pos:
            kernel_shape.append(full[out_pos[c]])
            output_axes.append(i)
        elif c in in_pos:
            kernel_shape.append(input_shape[in_pos[c]])
            input_axes.append(i)
        else:
            raise ValueError(
                f"Weight dimension '{c}' of {equation!r} is in neither the input '{in_spec}' "
                f"nor the output '{out_spec}': the kernel must be fully specified by them.")
    bias_shape = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in out_spec:
                raise ValueError(
                    f"Bias dimension '{c}' was requested (bias_axes={bias_axes!r}), but is "
                    f"not part of the output spec '{out_spec}' of {equation!r}.")
        # The bias spans the output axes from its first letter on (size 1 where it is not
        # named), so that it broadcasts against the output from the right.
        first = min(out_spec.index(c) for c in bias_axes)
        bias_shape = [full[out_pos[c]] if c in bias_axes else 1 for c in out_spec[first:]]
        if not left_elided:
            bias_shape += [1] * max(elided, 0)
    return kernel_shape, bias_shape, full, input_axes, output_axes


class _FansFromAxes(initializers.Initializer):
    """A variance-scaling initializer whose fans are the products of given kernel axes.

    The default fan rule treats a rank-3 kernel as a convolution; an einsum kernel's fans are
    the sizes of its contracted axes (fan in) and of its output axes (fan out). Values are
    drawn for the equivalent 2-D shape ``(fan_in, fan_out)``: the entries are independent, so
    the reshaped draw has the distribution the fans call for.
    """

    def __init__(self, base, input_axes, output_axes):
        self.base, self.input_axes, self.output_axes = base, input_axes, output_axes

    def _flat(self, shape):
        fan_in = math.prod(shape[i] for i in self.input_axes)
        fan_out = math.prod(shape[i] for i in self.output_axes)
        return (fan_in, fan_out)

    def __call__(self, key, shape, dtype="float32"):
        return jnp.reshape(self.base(key, self._flat(shape), dtype), shape)

    def sample(self, rng, shape, dtype="float32"):
        return self.base.sample(rng, self._flat(shape), dtype).reshape(shape)

    def get_config(self):
        return self.base.get_config()


@register
class EinsumDense(LoraMixin, Layer):
    """A dense layer of any rank, written as an einsum equation.

    Args:
        equation: ``"ab,bc->ac"``, ``"...ab,bc->...ac"`` or ``"ab...,bc->ac..."`` forms.
        output_shape: int or tuple, the output's shape without the batch axis and the axes
            the ellipsis stands for; ``None`` entries are taken from the input.
        activation: name or callable (default linear).
        bias_axes: letters of output axes that get a bias (e.g. ``"de"``), or None.
        kernel_initializer, bias_initializer: initializers (glorot_uniform, zeros); a
            variance-scaling kernel initializer takes its fans from the equation's axes.
        kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint: as Dense.
        lora_rank, lora_alpha: LoRA at build (see :meth:`enable_lora`): the factors split the
            kernel's last axis, ``a`` has shape ``kernel.shape[:-1] + (rank,)``.

    >>> from thawnet.layers import EinsumDense
    >>> EinsumDense("abc,cde->abde", output_shape=(None, 2, 4),
    ...             bias_axes="de").compute_output_shape((None, 3, 8))
    (None, None, 2, 4)
    """

    def __init__(self, equation: str, output_shape: ShapeLike, activation: Identifier = None,
                 bias_axes: str | None = None, kernel_initializer: Identifier = "glorot_uniform",
                 bias_initializer: Identifier = "zeros", kernel_regularizer: Identifier = None,
                 bias_regularizer: Identifier = None, kernel_constraint: Identifier = None,
                 bias_constraint: Identifier = None, lora_rank: int | None = None,
                 lora_alpha: float | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        who = f'EinsumDense "{self.name}"'
        if not isinstance(equation, str):
            raise ValueError(f"{who}: equation must be a string such as 'ab,bc->ac'; "
                             f"received equation={equation!r}.")
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise ValueError(f"{who}: bias_axes must be a string of output axis letters or "
                             f"None; received bias_axes={bias_axes!r}.")
        self.equation = equation
        try:
            self.partial_output_shape = ((output_shape,) if isinstance(output_shape, int)
                                         else tuple(output_shape))
        except TypeError:
            raise ValueError(f"{who}: output_shape must be an int or a tuple of ints/None; "
                             f"received output_shape={output_shape!r}.") from None
        self.bias_axes = bias_axes
        self.activation = activations.get(activation, who)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint, f"{who}: kernel_constraint: ")
        self.bias_constraint = constraints.get(bias_constraint, f"{who}: bias_constraint: ")
        self.bias = None
        self._init_lora(lora_rank, lora_alpha)

    def _shapes(self, input_shape):
        return _analyze_einsum_string(self.equation, self.bias_axes, input_shape,
                                      self.partial_output_shape)

    def build(self, input_shape: ShapeLike) -> None:
        kernel_shape, bias_shape, _, input_axes, output_axes = self._shapes(input_shape)
        if any(d is None for d in kernel_shape):
            raise ValueError(
                f'EinsumDense "{self.name}": the kernel shape {tuple(kernel_shape)} of '
                f"{self.equation!r} has unknown sizes for input shape {tuple(input_shape)}; "
                "give those axes in output_shape or a known input shape.")
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling):
            init = _FansFromAxes(init, input_axes, output_axes)
        # Both weights are parameters, trained by the optimizer.
        self._kernel = self.add_weight("kernel", tuple(kernel_shape), init,
                                       regularizer=self.kernel_regularizer,
                                       constraint=self.kernel_constraint)
        if bias_shape is not None:
            self.bias = self.add_weight("bias", tuple(bias_shape), self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self._build_lora()

    @property
    def kernel(self) -> Variable:
        """The kernel Variable; with LoRA enabled, the effective kernel (an array), as Keras."""
        return self._lora_base_property()

    @property
    def full_output_shape(self) -> tuple:
        """The output shape computed at build (Keras's attribute)."""
        return tuple(self._shapes(self._build_input_shape)[2])

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        return tuple(self._shapes(input_shape)[2])

    def call(self, inputs: TensorTree, training: bool | None = None) -> TensorTree:
        out = jnp.einsum(self.equation, inputs, self._lora_effective(self._kernel.value))
        if self.bias is not None:
            out = out + self.bias.value
        return out if self.activation is None else self.activation(out)

    def get_config(self) -> Config:
        return {**super().get_config(), "output_shape": self.partial_output_shape,
                "equation": self.equation,
                "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                **self._lora_config()}


__all__ = ["EinsumDense"]
