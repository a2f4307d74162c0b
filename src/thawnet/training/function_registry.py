"""The one registry of a model's compiled functions.

Every compiled function a model runs — its eager ``model(x)``, ``predict``, the train, test and
results steps — lives here, under ``(kind, split key, options)``: ``kind`` says which job it
does (``"eager"``, ``"predict"``, ``"train"``, ``"test"``, ``"results"``), the split key is
the trainable split and layer flags it was built for, the options the variant (scan length,
TerminateOnNaN guard). Each entry is one ``jax.jit`` function, which keeps one compiled
program per input shapes and dtypes, so a lookup costs one dict access and a new batch shape
compiles once.

A change of the trainable split selects another entry (flipping a layer back reuses the
first one: gradual unfreezing and fine-tuning searches compile each split once). A change of
the model's structure — a layer added or popped, a graph set, ``compile()`` again — calls
:meth:`FunctionRegistry.clear`, the single hook every cache depends on.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator


class FunctionRegistry:
    """``{(kind, key, options): compiled function}`` for one model, cleared as one.

    >>> registry = FunctionRegistry()
    >>> fn = registry.get("results", None, (), lambda: len)
    >>> registry.get("results", None, (), lambda: max) is fn
    True
    >>> registry.clear(); len(registry)
    0
    """

    def __init__(self) -> None:
        self._entries: dict = {}
        self.clears = 0  # how many times the structure changed since the model was made

    def get(self, kind: str, key: Any, options: tuple, build: Callable[[], Any]) -> Any:
        """The entry for ``(kind, key, options)``, built by ``build()`` on first use."""
        cache_key = (kind, key, options)
        entry = self._entries.get(cache_key)
        if entry is None:
            entry = self._entries[cache_key] = build()
        return entry

    def clear(self) -> None:
        """Drop every entry (their compiled programs go with them)."""
        if self._entries:
            self._entries = {}
        self.clears += 1

    def programs(self, kind: str | None = None) -> int:
        """Compiled programs held (one per entry and input shapes/dtypes), of ``kind`` or
        all; what a test counts to prove that nothing recompiles."""
        return sum(_program_count(entry) for (k, _, _), entry in self._entries.items()
                   if kind is None or k == kind)

    def has(self, kind: str, key: Any) -> bool:
        """Whether some entry of ``kind`` was built for ``key`` (any options)."""
        return any(k == kind and split == key for k, split, _ in self._entries)

    def items(self) -> Iterator[tuple]:
        return iter(list(self._entries.items()))

    def __iter__(self) -> Iterator[tuple]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def _program_count(entry: Any) -> int:
    """Programs behind an entry: a jitted function, or a tuple holding one (eager calls)."""
    for candidate in (entry, *(entry if isinstance(entry, tuple) else ())):
        size = getattr(candidate, "_cache_size", None)
        if callable(size):
            return int(size())
    return 0
