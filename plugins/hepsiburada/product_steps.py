"""Hepsiburada product flows: create/update through the import API, delete as stock 0.

The payload comes from the engine's ``core.render_mapping`` step (category and
attributes as the channel's mapping says); this module adds only what is
Hepsiburada's: the import file's shape, the comma-decimal price, stock minus
the buffer stock, images as ``Image1..Image10``, and the shipping-info upload
of Product Update.  The engine tracks each import until Hepsiburada says each
product matched or was rejected (``check_uploads``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from pazar.plugin import (
    Item,
    PazarError,
    Poll,
    RunHandle,
    StepContext,
    StepType,
    UploadSink,
    batch_size_param,
    params_schema,
)
from pazar_hepsiburada import api
from pazar_hepsiburada.upload_steps import listing_status

MAX_IMAGES = 10
SHIPPING_CONTENT_TYPE = "productshipping"
SHIPPING_KIND = "shipping-info-uploads"
SHIPPING_FIELDS = ("dispatchTime", "dispatch_time")


def hb_decimal(value: Any) -> str:
    """Hepsiburada's import file writes amounts with a comma: 130.5 → "130,50"."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise PazarError(f"price {value!r} is not a number") from None
    return f"{amount}".replace(".", ",")


def available_stock(quantity: Any, config: Mapping[str, Any]) -> int:
    """The seed's rule: stock minus ``buffer_stock``, never below zero."""
    return max(int(quantity or 0) - int(config.get("buffer_stock") or 0), 0)


def import_row(item: Item, config: Mapping[str, Any]) -> dict[str, Any]:
    """One product of the import file from a mapped item."""
    record: Mapping[str, Any] = item.record or {}
    attributes = dict(item.data.get("attributes") or {})
    attributes.setdefault("merchantSku", item.key)
    if record.get("price") is not None:
        attributes["price"] = hb_decimal(record["price"])
    attributes["stock"] = str(available_stock(record.get("quantity"), config))
    for n, url in enumerate((record.get("images") or [])[:MAX_IMAGES], start=1):
        attributes.setdefault(f"Image{n}", url)
    category = str(item.data["category"])
    return {
        "categoryId": int(category) if category.isdigit() else category,
        "merchant": config.get("merchant_id"),
        "attributes": attributes,
    }


def shipping_row(item: Item, extra: Mapping[str, Any]) -> dict[str, Any] | None:
    """The shipping-info upload row of Product Update, or None when there is nothing to send."""
    record: Mapping[str, Any] = item.record or {}
    local = record.get("attributes") or {}
    row: dict[str, Any] = {"merchantSku": item.key, **extra}
    for name in SHIPPING_FIELDS:
        if local.get(name) not in (None, ""):
            row["dispatchTime"] = int(local[name])
            break
    return row if len(row) > 1 else None


def poll_import(client: Any, tracking_id: str) -> Poll:
    """An import's answer: pending while any product is (or while Hepsiburada lists none
    yet: an empty answer never means accepted), else the rejected SKUs."""
    rejected: dict[str, str] = {}
    seen = False
    for result in client.iter_import_status(tracking_id):
        seen = True
        if result.state == "pending":
            return Poll("pending")
        if result.state == "rejected" and result.merchant_sku:
            rejected[result.merchant_sku] = result.message or "rejected by Hepsiburada"
    if not seen:
        return Poll("pending")
    return Poll("done", rejected=rejected)


class ProductImport(UploadSink):
    """``hepsiburada.product_import``: mapped products → one import file per batch.

    With ``shipping_info`` (Product Update) every product also gets a
    shipping-info upload row: ``dispatchTime`` from the product's
    ``dispatchTime``/``dispatch_time`` attribute plus the channel's
    ``product_shipping_info_extra_data``, tracked as its own batch.
    """

    kind: ClassVar[str] = "import"
    title: ClassVar[str] = "product import"

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(ctx)
        self.shipping_info = bool(ctx.params.get("shipping_info", False))

    def row(self, item: Item) -> Any:
        return import_row(item, self.ctx.config)

    def render(self, items: list[Item]) -> list[Any]:
        rows = super().render(items)
        if self.shipping_info:
            rows += [{SHIPPING_KIND: row} for row in self._shipping_rows(items).values()]
        return rows

    def upload(self, rows: list[Any]) -> str:
        return str(self.ctx.client().import_products(rows))

    def status(self, remote_id: str, kind: str) -> Poll:
        client = self.ctx.client()
        if kind == self.kind:
            return poll_import(client, remote_id)
        return listing_status(client, kind, remote_id)

    def after_upload(self, items: list[Item], run: RunHandle) -> None:
        if not self.shipping_info:
            return
        rows = self._shipping_rows(items)
        if rows:
            self.upload_more(
                [item for item in items if item.key in rows],
                list(rows.values()),
                run,
                kind=SHIPPING_KIND,
                content_type=SHIPPING_CONTENT_TYPE,
                send=lambda payload: self.ctx.client().upload(SHIPPING_KIND, payload),
            )

    def _shipping_rows(self, items: list[Item]) -> dict[str, dict[str, Any]]:
        extra = self.ctx.config.get("product_shipping_info_extra_data") or {}
        rows = {item.key: shipping_row(item, extra) for item in items}
        return {key: row for key, row in rows.items() if row is not None}


class ZeroStock:
    """``hepsiburada.zero_stock``: products removed from the catalog get stock 0 (seed: delete_product).

    A stock-0 row cannot be refused for its content, so the upload is recorded at
    once: each product's integration action turns ``deleted`` and it is not sent again.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [{"merchantSku": item.key, "availableStock": 0} for item in items]

    def send(self, items: list[Item], run: RunHandle) -> None:
        upload_id = self.ctx.client().upload("stock-uploads", self.render(items))
        run.log(None, f"stock-uploads: {len(items)} removed products set to 0 as {upload_id}")


STEP_TYPES = [
    StepType(
        name="hepsiburada.product_import",
        kind="sink",
        factory=ProductImport,
        params_schema=params_schema(
            batch_size=batch_size_param("Products per import file.", default=500, maximum=1000),
            shipping_info={
                "type": "boolean",
                "default": False,
                "description": "Also upload shipping info (dispatchTime and the channel's "
                "product_shipping_info_extra_data) for each product.",
            },
        ),
        description="Send mapped products through Hepsiburada's import API, tracked as batch "
        "requests until matched (check_uploads).",
    ),
    StepType(
        name="hepsiburada.zero_stock",
        kind="sink",
        factory=ZeroStock,
        params_schema=params_schema(
            batch_size=batch_size_param(
                "Rows per stock upload.", default=1000, maximum=api.MAX_UPLOAD_ROWS
            )
        ),
        description="Set the stock of removed products to 0 on Hepsiburada.",
    ),
]
