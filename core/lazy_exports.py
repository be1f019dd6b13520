"""Re-exports a package resolves when first asked for, so importing the package stays cheap.

``pazar.plugin`` (every marketplace imports it) and ``pazar.flows`` (``pazar status`` reads
its schedules) name many things whose homes import SQLAlchemy, Jinja or jsonschema; a
command that needs none of them should not pay for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(namespace: dict[str, Any], homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``namespace`` (the module's ``globals()``):
    ``homes`` maps an exported name to the module that defines it; the value is kept in the
    namespace once found, so later lookups are plain attribute reads."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    return __getattr__
