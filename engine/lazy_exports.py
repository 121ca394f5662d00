"""Package indexes that import on first use (PEP 562): ``from package import name`` imports
only the module that defines ``name``, so a command that needs the settings does not load
xgboost, shap or plotly on its way."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

ExportTable = Mapping[str, Sequence[str]]  # defining module -> the names re-exported from it


def lazy_exports(
    package: str, *tables: ExportTable
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """The ``__getattr__``, ``__dir__`` and ``__all__`` of a package that re-exports the
    names of ``tables`` without importing their modules until a name is asked for.

    Parameters
    ----------
    package : the package's ``__name__``.
    *tables : defining module (absolute) -> the names the package re-exports from it; a
        name may appear once in all the tables together.

    Returns
    -------
    (__getattr__, __dir__, __all__), to assign at the package's top level. Nothing is
    cached on the package: a name is looked up in its module each time, so a test that
    patches the module patches the package too, and its undo leaves nothing stale.
    """
    where: dict[str, str] = {}
    for table in tables:
        for module, names in table.items():
            for name in names:
                if where.setdefault(name, module) != module:
                    raise ValueError(
                        f"{package}: {name} re-exported from {where[name]} and {module}"
                    )

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where[name]), name)

    def __dir__() -> list[str]:
        return sorted(set(where) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, sorted(where)
