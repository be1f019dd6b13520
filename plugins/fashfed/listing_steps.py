"""``fashfed.listings``: which SKUs Fashfed has, for the engine's listings snapshot.

Reads the seller's products (PRD102, ``GET /api/i2/products/``) page by page (``page`` and
``limit``, following ``next``) with the client's own paging, and turns each product into the
row the engine's ``state.listings_snapshot`` sink stores.  A PRD102 product has
``id, name, base_code, sku, category, attributes, images, created_at, updated_at`` and
nothing else: no price, no stock and no sale status are documented.  So a row has the SKU
and Fashfed's product id, price and stock unknown (None), and a product Fashfed lists counts
as on sale (status ``listed``).  The flow says so to the sink (``unavailable``), so the
dashboard shows the price and stock numbers as not available for Fashfed and reconciliation
corrects nothing it cannot see.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pazar.plugin import ListingsSource, StepType
from pazar_fashfed import api

LISTED = "listed"  # on Fashfed's product list; PRD102 documents no sale status


def listing_row(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One PRD102 product as a snapshot row: SKU and remote id; price and stock unknown."""
    sku = raw.get("sku")
    return {
        "sku": str(sku).strip() if sku not in (None, "") else "",
        "remote_id": raw.get("id"),
        "price": None,
        "stock": None,
        "status": LISTED,
        "on_sale": True,
    }


class Listings(ListingsSource):
    """Every product of the seller on Fashfed, streamed page by page."""

    default_page_size = api.MAX_LIMIT

    def read(self) -> Iterator[Mapping[str, Any]]:
        return self.ctx.client().products(page_size=self.page_size)

    def row(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return listing_row(raw)

    def unnamed(self, raw: Mapping[str, Any]) -> str:
        return f"product {raw.get('id')}"


STEP_TYPES = [
    StepType(
        name="fashfed.listings",
        kind="source",
        factory=Listings,
        params_schema=Listings.params(
            "Products per request (the 'limit' sent with the first page).", maximum=api.MAX_LIMIT
        ),
        description="Every product of the seller on Fashfed (PRD102; record: sku, remote_id, "
        "status listed, on_sale; no price or stock: Fashfed's product list has none), for "
        "state.listings_snapshot.",
    )
]
