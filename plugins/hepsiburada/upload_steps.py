"""Hepsiburada's listing uploads (stock, price) as upload sinks.

Hepsiburada answers stock and price uploads asynchronously: the POST returns an upload id,
each row's fate comes later from the upload's status.  The engine's upload machinery
(``pazar.plugin.UploadSink``) owns the rest: the batch request, the records in flight,
``check_uploads`` asking each open upload's status through the sink that sent it, the
successes, penalties and expiry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pazar.plugin import (
    Item,
    Poll,
    StepType,
    UploadSink,
    batch_size_param,
    params_schema,
)
from pazar_hepsiburada import api

# What a listing row may carry (the reference's request shapes): the engine refuses any
# other row locally, with reason ``mapping``, instead of sending it.
_SKU = {"type": "string", "minLength": 1, "maxLength": 255}
STOCK_ROW: Mapping[str, Any] = {
    "type": "object",
    "required": ["merchantSku", "availableStock"],
    "additionalProperties": False,
    "properties": {
        "merchantSku": _SKU,
        "hepsiburadaSku": _SKU,
        "availableStock": {"type": "integer", "minimum": 0},
        "maximumPurchasableQuantity": {"type": "integer", "minimum": 0},
    },
}
PRICE_ROW: Mapping[str, Any] = {
    "type": "object",
    "required": ["merchantSku", "price"],
    "additionalProperties": False,
    "properties": {
        "merchantSku": _SKU,
        "hepsiburadaSku": _SKU,
        "price": {"type": "number", "exclusiveMinimum": 0},
    },
}


def listing_row(data: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty optional fields: Hepsiburada treats a sent null as a value."""
    return {k: v for k, v in data.items() if v is not None}


def listing_status(client: Any, kind: str, upload_id: str) -> Poll:
    """Where a listing upload stands, as the engine's poll answer."""
    status = client.upload_status(kind, upload_id)
    if status.pending:
        return Poll("pending")
    if status.failed:
        return Poll("failed", message=f"Hepsiburada reported upload status {status.status!r}")
    return Poll("done", rejected=status.rejected())


class ListingUpload(UploadSink):
    """One listing upload per batch of items."""

    def row(self, item: Item) -> Any:
        return listing_row(item.data)

    def upload(self, rows: list[Any]) -> str:
        return str(self.ctx.client().upload(self.kind, rows))

    def status(self, remote_id: str, kind: str) -> Poll:
        return listing_status(self.ctx.client(), kind, remote_id)


class StockUploads(ListingUpload):
    # Absolute values, applied in the order uploaded: a newer one need not wait.
    supersedes: ClassVar[bool] = True
    kind: ClassVar[str] = "stock-uploads"
    row_schema: ClassVar[Mapping[str, Any] | None] = STOCK_ROW


class PriceUploads(ListingUpload):
    # Absolute values, applied in the order uploaded: a newer one need not wait.
    supersedes: ClassVar[bool] = True
    kind: ClassVar[str] = "price-uploads"
    row_schema: ClassVar[Mapping[str, Any] | None] = PRICE_ROW


def _upload_schema(what: str) -> dict[str, Any]:
    return params_schema(
        batch_size=batch_size_param(
            f"{what} rows per upload (Hepsiburada takes at most {api.MAX_UPLOAD_ROWS}).",
            default=1000,
            maximum=api.MAX_UPLOAD_ROWS,
        )
    )


STEP_TYPES = [
    StepType(
        name="hepsiburada.stock_uploads",
        kind="sink",
        factory=StockUploads,
        params_schema=_upload_schema("Stock"),
        description="Upload availableStock (and maximumPurchasableQuantity) rows; "
        "results arrive through check_uploads.",
    ),
    StepType(
        name="hepsiburada.price_uploads",
        kind="sink",
        factory=PriceUploads,
        params_schema=_upload_schema("Price"),
        description="Upload price rows; results arrive through check_uploads.",
    ),
]
