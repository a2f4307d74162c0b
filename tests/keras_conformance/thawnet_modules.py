"""Find ``thawnet.<name>`` if thawnet has it, else a placeholder saying it does not."""

from __future__ import annotations

import importlib
import types

import thawnet

from .missing import Missing


def thawnet_module(name: str):
    """``thawnet.<name>`` (imported if needed), or a :class:`Missing` naming what is absent.

    Args:
        name: a submodule name (``"ops"``, ``"random"``, ``"saving"``).

    Returns:
        The module, or ``Missing("module thawnet.<name>")`` (the message says whether the
        module does not exist or fails to import, so a broken module is not hidden).
    """
    if isinstance(getattr(thawnet, name, None), types.ModuleType):
        return getattr(thawnet, name)
    try:
        return importlib.import_module(f"thawnet.{name}")
    except ModuleNotFoundError as err:
        if err.name in (f"thawnet.{name}", "thawnet"):
            return Missing(f"module thawnet.{name}")
        return Missing(f"module thawnet.{name} (it fails to import: {err})")
    except Exception as err:  # noqa: BLE001 - a broken module is reported, not hidden
        return Missing(f"module thawnet.{name} (it fails to import: {type(err).__name__}: "
                       f"{err})")


def symbolic_tensor_type() -> type:
    """The class of thawnet's symbolic tensors, found through the public ``Input``."""
    return type(thawnet.layers.Input(shape=(1,)))
