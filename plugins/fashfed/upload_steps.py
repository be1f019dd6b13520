"""Fashfed's bulk uploads (products, stocks, prices) as the engine's upload sinks.

Fashfed decides about uploaded rows asynchronously (``api.BULK_*``): a bulk answers with an
id, its status later says completed or failed, and a completed bulk lists the rows it
rejected.  The engine (``pazar.plugin.UploadSink``) owns the batch request, the records in
flight, ``check_uploads`` and the penalties; this module builds Fashfed's rows and reads its
answers.  Product Delete is a plain sink: a stock-0 row has nothing Fashfed could refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from pazar.plugin import (
    Item,
    MarketplaceError,
    PazarError,
    Poll,
    RunHandle,
    StepContext,
    StepType,
    UploadSink,
    batch_size_param,
    params_schema,
)
from pazar_fashfed import api

_SKU = {"type": "string", "minLength": 1, "maxLength": 255}
_AMOUNT = {"type": "string", "pattern": r"^\d+\.\d{2}$"}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
STOCK_ROW: Mapping[str, Any] = {
    "type": "object",
    "required": ["sku", "stock"],
    "additionalProperties": False,
    "properties": {"sku": _SKU, "stock": {"type": "integer", "minimum": 0}},
}
PRICE_ROW: Mapping[str, Any] = {
    "type": "object",
    "required": ["sku", "price", "currency"],
    "additionalProperties": False,
    "properties": {"sku": _SKU, "price": _AMOUNT, "retail_price": _AMOUNT, "currency": _CURRENCY},
}
PRODUCT_ROW: Mapping[str, Any] = {
    "type": "object",
    "required": [
        "sku",
        "name",
        "base_code",
        "category",
        "attributes",
        "price",
        "currency",
        "stock",
    ],
    "properties": {
        "sku": _SKU,
        "name": {"type": "string", "minLength": 1},
        "base_code": {"type": "string", "minLength": 1},
        "category": {"type": "string", "minLength": 1},
        "attributes": {"type": "object"},
        "images": {"type": "array", "items": {"type": "string"}},
        "price": _AMOUNT,
        "retail_price": _AMOUNT,
        "currency": _CURRENCY,
        "stock": {"type": "integer", "minimum": 0},
    },
}


def amount(value: Any, what: str = "price") -> str:
    """An amount as Fashfed's decimal strings write it: 130.5 → ``"130.50"``."""
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    except (InvalidOperation, ValueError):
        raise PazarError(f"{what} {value!r} is not a number") from None


def currency(value: Any) -> str:
    return str(value or api.DEFAULT_CURRENCY).upper()


def available_stock(quantity: Any, config: Mapping[str, Any]) -> int:
    """The seed's Buffer Stock: the stock minus ``buffer_stock``, never below zero."""
    return max(int(quantity or 0) - int(config.get("buffer_stock") or 0), 0)


def product_row(item: Item, config: Mapping[str, Any]) -> dict[str, Any]:
    """A mapped product as one row of a products bulk: the default attributes at the top,
    the category's attributes under ``attributes``, price and stock from the record."""
    record: Mapping[str, Any] = item.record or {}
    attributes = dict(item.data.get("attributes") or {})
    row: dict[str, Any] = {"sku": item.key}
    for key, _name, _mandatory in api.DEFAULT_ATTRIBUTES:
        if key in attributes:
            row[key] = attributes.pop(key)
    row.setdefault("name", record.get("name"))
    row.setdefault("base_code", record.get("base_code") or item.key)
    row["category"] = str(item.data.get("category") or "")
    row["attributes"] = attributes
    row["images"] = [str(url) for url in record.get("images") or []]
    if record.get("price") is not None:
        row["price"] = amount(record["price"])
    if record.get("retail_price") is not None:
        row["retail_price"] = amount(record["retail_price"], "retail_price")
    row["currency"] = currency(record.get("currency"))
    row["stock"] = available_stock(record.get("quantity"), config)
    return row


def bulk_poll(client: Any, kind: str, bulk_id: str) -> Poll:
    """Where a bulk stands, as the engine's poll answer (an unknown word is still pending)."""
    answer = client.bulk_status(kind, bulk_id)
    word = str(answer.get("status") or "").strip().lower()
    if word == api.BULK_FAILED:
        return Poll("failed", message=f"Fashfed reported the {kind} bulk {bulk_id} as failed")
    if word != api.BULK_DONE:
        return Poll("pending")
    rejected = {
        str(row["sku"]): str(row.get("message") or row.get("code") or "rejected by Fashfed")
        for row in client.bulk_errors(kind, bulk_id)
        if row.get("sku")
    }
    return Poll("done", rejected=rejected)


class BulkUpload(UploadSink):
    """One bulk upload of ``kind`` per batch of items."""

    def upload(self, rows: list[Any]) -> str:
        return self.ctx.client().bulk(self.kind, rows)

    def status(self, remote_id: str, kind: str) -> Poll:
        return bulk_poll(self.ctx.client(), kind, remote_id)


class StockBulk(BulkUpload):
    # Absolute values, applied in the order uploaded: a newer one need not wait.
    supersedes: ClassVar[bool] = True
    kind: ClassVar[str] = "stocks"
    title: ClassVar[str] = "stock bulk"
    row_schema: ClassVar[Mapping[str, Any] | None] = STOCK_ROW


class PriceBulk(BulkUpload):
    # Absolute values, applied in the order uploaded: a newer one need not wait.
    supersedes: ClassVar[bool] = True
    kind: ClassVar[str] = "prices"
    title: ClassVar[str] = "price bulk"
    row_schema: ClassVar[Mapping[str, Any] | None] = PRICE_ROW

    def row(self, item: Item) -> Any:
        row = {k: v for k, v in item.data.items() if v is not None}
        for key in ("price", "retail_price"):
            if key in row:
                row[key] = amount(row[key], key)
        row["currency"] = currency(row.get("currency"))
        return row


class ProductBulk(BulkUpload):
    kind: ClassVar[str] = "products"
    title: ClassVar[str] = "product bulk"
    row_schema: ClassVar[Mapping[str, Any] | None] = PRODUCT_ROW

    def row(self, item: Item) -> Any:
        return product_row(item, self.ctx.config)


class ZeroStock:
    """``fashfed.zero_stock``: products removed from the catalog get stock 0 (seed: delete_product).

    Recorded at once, like any synchronous sink: each product's integration action turns
    ``deleted`` and it is not sent again.  Fashfed refusing the request fails its records.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [{"sku": item.key, "stock": 0} for item in items]

    def send(self, items: list[Item], run: RunHandle) -> None:
        try:
            bulk_id = self.ctx.client().bulk("stocks", self.render(items))
        except MarketplaceError as exc:
            if not exc.record_fault:
                raise
            for item in items:
                run.fail(item, exc.remote_message or exc.message, "remote")
            return
        run.log(None, f"stock bulk {bulk_id}: {len(items)} removed products set to 0")


_LATER = "; results arrive through check_uploads."
# (name, sink, what one request holds, what the sink does)
_SINKS = (
    ("fashfed.stock_bulk", StockBulk, "Stock rows", "Upload {sku, stock} rows as a bulk" + _LATER),
    (
        "fashfed.price_bulk",
        PriceBulk,
        "Price rows",
        "Upload {sku, price, retail_price, currency} rows as a bulk" + _LATER,
    ),
    (
        "fashfed.product_bulk",
        ProductBulk,
        "Products",
        "Upload mapped products with price and stock (minus buffer_stock) as a bulk" + _LATER,
    ),
    (
        "fashfed.zero_stock",
        ZeroStock,
        "Removed products",
        "Set the stock of products removed from the catalog to 0 on Fashfed.",
    ),
)


def _bulk_params(what: str) -> dict[str, Any]:
    return params_schema(
        batch_size=batch_size_param(
            f"{what} per bulk upload (at most {api.BULK_MAX_ROWS}).",
            default=api.BULK_MAX_ROWS,
            maximum=api.BULK_MAX_ROWS,
        )
    )


STEP_TYPES = [
    StepType(
        name=name, kind="sink", factory=factory, params_schema=_bulk_params(what), description=does
    )
    for name, factory, what, does in _SINKS
]
