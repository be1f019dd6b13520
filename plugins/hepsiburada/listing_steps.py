"""``hepsiburada.listings``: what is on sale on Hepsiburada, for the engine's listings snapshot.

Reads the listing API page by page (``offset``/``limit``, ``limit`` always sent) and
turns each listing into the row the engine's ``state.listings_snapshot`` sink
stores: SKU, price, stock and a status.  A listing is on sale when Hepsiburada
says it is salable and it is neither suspended, locked nor frozen; the status
names the first of those that holds, with Hepsiburada's reasons.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pazar.plugin import ListingsSource, StepType

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 5000


def _reasons(raw: Mapping[str, Any], key: str) -> str:
    values = raw.get(key) or []
    if not isinstance(values, list):
        values = [values]
    text = ", ".join(str(v) for v in values if v not in (None, ""))
    return f": {text}" if text else ""


def listing_status(raw: Mapping[str, Any]) -> tuple[str, bool]:
    """(status text, on sale) of one listing."""
    if raw.get("isSuspended"):
        return "suspended", False
    if raw.get("isLocked"):
        return "locked" + _reasons(raw, "lockReasons"), False
    if raw.get("isFrozen"):
        return "frozen" + _reasons(raw, "freezeReasons"), False
    if raw.get("isSalable", True) is False:
        return "not salable" + _reasons(raw, "deactivationReasons"), False
    return "on_sale", True


def listing_row(raw: Mapping[str, Any]) -> dict[str, Any]:
    status, on_sale = listing_status(raw)
    return {
        "sku": str(raw.get("merchantSku") or ""),
        "remote_id": raw.get("hepsiburadaSku"),
        "price": raw.get("price"),
        "stock": raw.get("availableStock"),
        "status": status,
        "on_sale": on_sale,
    }


class Listings(ListingsSource):
    """Every listing of the merchant, streamed page by page."""

    default_page_size = DEFAULT_PAGE_SIZE

    def read(self) -> Iterator[Mapping[str, Any]]:
        return self.ctx.client().listings(page_size=self.page_size)

    def row(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return listing_row(raw)

    def unnamed(self, raw: Mapping[str, Any]) -> str:
        return f"listing {raw.get('listingId') or raw.get('hepsiburadaSku')}"


STEP_TYPES = [
    StepType(
        name="hepsiburada.listings",
        kind="source",
        factory=Listings,
        params_schema=Listings.params(
            "Listings per request (the 'limit' sent with every page).", maximum=MAX_PAGE_SIZE
        ),
        description="Every Hepsiburada listing (record: sku, remote_id, price, stock, status, "
        "on_sale), for state.listings_snapshot.",
    )
]
