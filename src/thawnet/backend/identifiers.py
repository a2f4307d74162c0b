"""The one resolver of identifiers: how a name, a config dict, a class, an object or a function
becomes the loss, metric, optimizer, initializer, regularizer, constraint or activation it
names (issue #11: one rule and one error for all seven namespaces).

Order of look-ups for a name: the caller's ``custom_objects``, open ``custom_object_scope``
blocks and objects registered with ``thawnet.saving.register_keras_serializable`` (see
:mod:`thawnet.backend.registry`), then the namespace's own names. Unknown names raise
``ValueError("<where>unknown <kind> 'name'; known: [...]")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from thawnet.backend import registry


@dataclass(frozen=True)
class IdentifierKind:
    """How one namespace resolves identifiers.

    Args:
        kind: what an identifier names, for messages (``"loss"``).
        by_name: ``name -> object``, or None for an unknown name.
        class_named: ``class name -> class`` for config dicts, or None.
        known: the names to list when a name is unknown.
        base: instances of it are returned as they are; subclasses are instantiated.
        wrap: applied to other callables (None: they are returned as they are).
        none: what ``None`` resolves to.
    """

    kind: str
    by_name: Callable[[str], Any]
    class_named: Callable[[str], Any]
    known: Callable[[], Iterable[str]]
    base: tuple = field(default_factory=tuple)
    wrap: Callable | None = None
    none: Any = None

    def get(self, identifier: Any, where: str = "", custom_objects: dict | None = None) -> Any:
        """The object ``identifier`` names (see the module docstring for the look-ups).

        Args:
            identifier: ``None``, a name, a config dict, a class, an object or a callable.
            where: prefix naming the caller in error messages (``'Dense "d": kernel: '``).
            custom_objects: ``{name: object}`` looked up first.

        Returns:
            The resolved object (``self.none`` for None).

        Raises:
            ValueError: an unknown name or class, or a value of no accepted kind.
        """
        if identifier is None:
            return self.none
        if self.base and isinstance(identifier, self.base):
            return identifier
        if isinstance(identifier, str):
            custom = registry.custom_lookup(identifier, custom_objects)
            if custom is not None:
                return custom() if isinstance(custom, type) else custom
            found = self.by_name(identifier)
            if found is None:
                raise self.unknown(identifier, where)
            return found
        if isinstance(identifier, dict):
            return self._from_config(identifier, where, custom_objects)
        if isinstance(identifier, type) and self.base and issubclass(identifier, self.base):
            return identifier()
        if callable(identifier) and not isinstance(identifier, type):
            return self.wrap(identifier) if self.wrap is not None else identifier
        raise ValueError(
            f"{where}could not interpret {self.kind} {identifier!r}: pass a name (known: "
            f"{sorted(self.known())}), a {self.kind} object, a config dict "
            "{'class_name': ..., 'config': {...}} or a callable.")

    def deserialize(self, config: dict[str, Any], where: str = "",
                    custom_objects: dict | None = None) -> Any:
        """The object a config dict ``{"class_name": ..., "config": {...}}`` describes (Keras's
        extra keys ``module`` and ``registered_name`` are accepted; a plain function is
        ``{"class_name": "function", "config": "<name>"}``).

        Raises:
            ValueError: ``config`` is not a dict, or names an unknown class.
        """
        if not isinstance(config, dict):
            raise ValueError(f"{where}a {self.kind} config must be a dict "
                             "{'class_name': ..., 'config': {...}}; received "
                             f"{type(config).__name__} {config!r:.80}.")
        return self._from_config(config, where, custom_objects)

    def _from_config(self, config: dict, where: str, custom_objects: dict | None) -> Any:
        name = config.get("class_name")
        if name == "function" and isinstance(config.get("config"), str):
            # Keras writes a plain function (an activation, a loss function) by its name.
            return self.get(config.get("registered_name") or config["config"], where,
                            custom_objects)
        cls = registry.custom_lookup(name, custom_objects) if isinstance(name, str) else None
        if cls is None and isinstance(name, str):
            cls = self.class_named(name)
        if cls is None:
            raise self.unknown(name, where, what=f"{self.kind} class")
        inner = config.get("config", {})
        if not isinstance(inner, dict):
            raise ValueError(f"{where}the config of {self.kind} {name!r} must be a dict; "
                             f"received {type(inner).__name__}.")
        from_config = getattr(cls, "from_config", None)
        return from_config(dict(inner)) if from_config is not None else cls(**inner)

    def unknown(self, name: Any, where: str = "", what: str | None = None) -> ValueError:
        """The error for an unknown name: ``"<where>unknown <kind> 'name'; known: [...]."``"""
        return ValueError(f"{where}unknown {what or self.kind} {name!r}; known: "
                          f"{sorted(self.known())}.")


__all__ = ["IdentifierKind"]
