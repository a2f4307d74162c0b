"""thawnet's model classes as the file code sees them: through the class registry.

:mod:`thawnet.io` sits below :mod:`thawnet.models` (a model's ``save``/``load_weights`` call
io, so io never imports models). Keras's file formats still name model kinds (a
``"Sequential"``, a ``"Functional"`` graph) and lay their weights out by them, so the readers
and writers here need the classes themselves. They get them the way they get every class a
file names: from the registry, where :mod:`thawnet.models` registers ``Model`` and
``Sequential`` at import (``@register``), before any file can be read or written. Tests are
``isinstance``, so subclasses are what their base is.
"""

from __future__ import annotations

from thawnet.backend.registry import registered


def _registered_class(name: str) -> type:
    cls = registered(name)
    if cls is None:  # only before thawnet.models is imported, which `import thawnet` does
        raise RuntimeError(f"thawnet.io needs thawnet's {name} class, which thawnet.models "
                           "registers when it is imported; import thawnet first.")
    return cls


def model_class() -> type:
    """:class:`thawnet.Model` (functional and subclassed models)."""
    return _registered_class("Model")


def sequential_class() -> type:
    """:class:`thawnet.Sequential`."""
    return _registered_class("Sequential")


def is_model(obj) -> bool:
    """Whether ``obj`` is a thawnet model (a Model, Sequential or any subclass)."""
    return isinstance(obj, model_class())


def is_sequential(obj) -> bool:
    """Whether ``obj`` is a Sequential model (or a subclass of Sequential)."""
    return isinstance(obj, sequential_class())


def is_graph_model(obj) -> bool:
    """Whether ``obj`` is a model that runs its graph, ``Model(inputs, outputs)``: Keras's
    ``Functional`` (a subclass that overrides ``call`` is not: its code is the model)."""
    cls = model_class()
    return isinstance(obj, cls) and obj.is_functional and type(obj).call is cls.call


def is_plain_graph_model(obj) -> bool:
    """Whether ``obj`` is exactly a ``Model(inputs, outputs)`` (not a subclass): the model
    Keras names ``"Functional"`` in its weight files."""
    return type(obj) is model_class() and obj.is_functional


__all__ = ["is_graph_model", "is_model", "is_plain_graph_model", "is_sequential",
           "model_class", "sequential_class"]
