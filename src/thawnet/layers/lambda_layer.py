"""Lambda: a layer made of a Python function, for code (files hold names, never code)."""

from __future__ import annotations

from typing import Any, Callable

from thawnet.backend import registry
from thawnet.backend.types import ShapeLike, TensorTree
from thawnet.layers.layer import Layer, register


@register
class Lambda(Layer):
    """``Lambda(lambda x: x * 2)``: wraps ``function(inputs, **arguments)`` as a layer.

    Args:
        function: the computation, on arrays (use ``thawnet.ops``). In a saved model it
            is stored by its registered name, so only functions registered with
            ``@thawnet.saving.register_keras_serializable()`` can be saved; any other
            function makes ``save`` fail with an error naming this layer.
        output_shape: the output shape (without the batch axis), or a function of the
            input shape; by default it is inferred by abstract evaluation.
        mask: accepted for Keras compatibility; must be None.
        arguments: extra keyword arguments for ``function``.
    """

    def __init__(self, function: Callable | str, output_shape: ShapeLike | None = None,
                 mask: TensorTree | None = None, arguments: dict | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(function, str):
            resolved = registry.custom_lookup(function)
            if resolved is None:
                raise ValueError(
                    f'Lambda "{self.name}": no function is registered as {function!r}. '
                    "Register it with @thawnet.saving.register_keras_serializable() before "
                    "loading.")
            function = resolved
        if not callable(function):
            raise TypeError(f'Lambda "{self.name}": function must be callable; received '
                            f"{function!r}.")
        if mask is not None:
            raise ValueError(f'Lambda "{self.name}": mask is not supported; received '
                             f"mask={mask!r}. Compute the mask in a custom layer instead.")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape

    def call(self, inputs: TensorTree) -> TensorTree:
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape: ShapeLike) -> ShapeLike:
        declared = self._output_shape
        if declared is None:
            return super().compute_output_shape(input_shape)  # by abstract evaluation
        if callable(declared):
            return tuple(declared(input_shape))
        return (input_shape[0],) + tuple(declared)

    def get_config(self) -> dict[str, Any]:
        name = registry.registered_name(self.function)
        function = name if name in registry.CUSTOM_OBJECTS else self.function
        output_shape = self._output_shape if not callable(self._output_shape) else None
        return {**super().get_config(), "function": function, "output_shape": output_shape,
                "arguments": self.arguments}


__all__ = ["Lambda"]
