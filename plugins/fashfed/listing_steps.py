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

from pazar.plugin import Item, StepContext, StepType, params_schema
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


class Listings:
    """Every product of the seller on Fashfed, streamed page by page."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.page_size = int(ctx.params.get("page_size") or api.MAX_LIMIT)

    def __iter__(self) -> Iterator[Item]:
        run = self.ctx.run
        for raw in self.ctx.client().products(page_size=self.page_size):
            row = listing_row(raw)
            if not row["sku"]:
                if run is not None:
                    run.log(
                        None,
                        f"product {raw.get('id')} has no sku; left out of the snapshot",
                        "warning",
                    )
                continue
            yield Item(key=row["sku"], data=row)


STEP_TYPES = [
    StepType(
        name="fashfed.listings",
        kind="source",
        factory=Listings,
        params_schema=params_schema(
            page_size={
                "type": "integer",
                "minimum": 1,
                "maximum": api.MAX_LIMIT,
                "default": api.MAX_LIMIT,
                "description": "Products per request (the 'limit' sent with the first page).",
            }
        ),
        description="Every product of the seller on Fashfed (PRD102; record: sku, remote_id, "
        "status listed, on_sale; no price or stock: Fashfed's product list has none), for "
        "state.listings_snapshot.",
    )
]
