"""The engine-level channel config keys operations read, with their defaults.

Every marketplace schema carries ``reconciliation`` and ``buffer_stock``; a
channel saved before they existed still gets the defaults here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_CORRECTIONS = 1000

# The content types and change streams reconciliation corrects through.
PRICE_CONTENT_TYPE = "productprice"
STOCK_CONTENT_TYPE = "productstock"
PRODUCT_CONTENT_TYPE = "product"


@dataclass(frozen=True)
class Reconciliation:
    auto_correct: bool = True
    max_corrections: int = DEFAULT_MAX_CORRECTIONS


def reconciliation(config: Mapping[str, Any] | None) -> Reconciliation:
    """``reconciliation.auto_correct`` and ``.max_corrections`` of a channel config."""
    section = (config or {}).get("reconciliation") or {}
    if not isinstance(section, Mapping):
        return Reconciliation()
    auto = section.get("auto_correct", True)
    limit = section.get("max_corrections", DEFAULT_MAX_CORRECTIONS)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        limit = DEFAULT_MAX_CORRECTIONS
    return Reconciliation(auto_correct=bool(auto), max_corrections=limit)


def buffer_stock(config: Mapping[str, Any] | None) -> int:
    """The channel's ``buffer_stock``: what the stock flows hold back (0 when unset)."""
    value = (config or {}).get("buffer_stock")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value
