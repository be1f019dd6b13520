"""Reading the seed's "marketplace code → local id" mappings from a channel config.

Several seed settings map a marketplace's codes to local ids (Cargo Company Mapping, Cancel
Reason Mapping, Refund Reason Mapping, ...).  Marketplaces do not promise the case of their
codes, and operators type the keys by hand, so every marketplace reads these mappings the
same way: case-insensitively, with a fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_EMPTY = (None, "")


def mapped(mapping: Mapping[str, Any] | None, code: str | None, fallback: Any = None) -> Any:
    """The value ``mapping`` gives ``code`` (keys compared case-insensitively), else
    ``fallback``; an empty value counts as not mapped."""
    if code not in _EMPTY and isinstance(mapping, Mapping):
        wanted = str(code).casefold()
        for key, value in mapping.items():
            if str(key).casefold() == wanted and value not in _EMPTY:
                return value
    return fallback
