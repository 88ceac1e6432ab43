"""Lazy public names of a subpackage (PEP 562), so ``import qdstack.analysis`` stays cheap.

``from qdstack.analysis import fit_decay`` imports :mod:`qdstack.analysis.decay` only then;
the command line, which imports single modules, never pays for the whole subpackage.
"""

from __future__ import annotations

import importlib

__all__ = ["attach"]


def attach(package: str, names: dict[str, tuple[str, str]]):
    """``(__getattr__, __dir__, __all__)`` for a package exporting ``name -> (module, attribute)``."""

    def __getattr__(name: str):
        try:
            module, attr = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f"{package}.{module}"), attr)
        return value

    def __dir__():
        return sorted(names)

    return __getattr__, __dir__, sorted(names)
