"""The public API of a subpackage, loaded on first use.

Each subpackage's ``__init__`` names its public names and the module that defines each; a name
is imported when it is first read (``from pipeline.split import split_corpus``), so importing a
package, or one of its modules, does not import the others (``stance predict`` starts fast).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: Mapping[str, Sequence[str]]) -> tuple[list[str], Callable, Callable]:
    """``(__all__, __getattr__, __dir__)`` for *package*, where *where* maps each of its modules
    (a name relative to the package) to the public names it defines."""
    owner = {name: module for module, names in where.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = owner.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(owner)

    return sorted(owner), __getattr__, __dir__
