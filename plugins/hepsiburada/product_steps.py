"""Hepsiburada product flows: create/update through the import API, delete as stock 0.

The payload comes from the engine's ``core.render_mapping`` step (category and
attributes as the channel's mapping says); this module adds only what is
Hepsiburada's: the import file's shape, the comma-decimal price, stock minus
the buffer stock, images as ``Image1..Image10``, and the shipping-info upload
of Product Update.  Imports are tracked as batch requests until Hepsiburada
says each product matched or was rejected (``check_uploads``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from pazar import StepType, batch_size_param, params_schema
from pazar.errors import PazarError
from pazar.pipeline import Item, RunHandle, StepContext
from pazar.polling import Poll
from pazar.state.batches import mark_sent, open_batch
from pazar_hepsiburada import api

MAX_IMAGES = 10
SHIPPING_CONTENT_TYPE = "productshipping"
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
    record: Mapping[str, Any] = item.meta.get("record") or {}
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
    record: Mapping[str, Any] = item.meta.get("record") or {}
    local = record.get("attributes") or {}
    row: dict[str, Any] = {"merchantSku": item.key, **extra}
    for name in SHIPPING_FIELDS:
        if local.get(name) not in (None, ""):
            row["dispatchTime"] = int(local[name])
            break
    return row if len(row) > 1 else None


def _track(
    ctx: StepContext, run: RunHandle, items: list[Item], content_type: str, remote: str
) -> str:
    """Open a batch request for ``items`` and mark it sent: they stay in flight until polled."""
    with ctx.db.session() as session:
        batch = open_batch(
            session, ctx.channel.id, content_type, ctx.flow, run.run_id, items, clock=ctx.clock
        )
        mark_sent(batch, remote, clock=ctx.clock)
        return batch.local_batch_id


class ProductImport:
    """``hepsiburada.product_import``: mapped products → one import file per batch.

    With ``shipping_info`` (Product Update) every product also gets a
    shipping-info upload row: ``dispatchTime`` from the product's
    ``dispatchTime``/``dispatch_time`` attribute plus the channel's
    ``product_shipping_info_extra_data``, tracked as its own batch.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.shipping_info = bool(ctx.params.get("shipping_info", False))

    def render(self, items: list[Item]) -> list[Any]:
        rows: list[Any] = [import_row(item, self.ctx.config) for item in items]
        if self.shipping_info:
            extra = self.ctx.config.get("product_shipping_info_extra_data") or {}
            rows += [
                {"shipping-info-uploads": row}
                for item in items
                if (row := shipping_row(item, extra)) is not None
            ]
        return rows

    def send(self, items: list[Item], run: RunHandle) -> None:
        ctx = self.ctx
        sendable, rows = [], []
        for item in items:
            try:
                rows.append(import_row(item, ctx.config))
            except PazarError as exc:
                run.fail(item, exc.message, "mapping")
                continue
            sendable.append(item)
        if not sendable:
            return
        try:
            tracking_id = ctx.client().import_products(rows)
        except PazarError as exc:
            for item in sendable:
                run.fail(item, exc.message, "remote")
            return
        local_id = _track(ctx, run, sendable, str(ctx.flow.content_type or "product"), tracking_id)
        for item in sendable:
            item.meta["deferred"] = True
        run.log(None, f"product import: {len(rows)} products as {tracking_id} (batch {local_id})")
        if self.shipping_info:
            self._ship(sendable, run)

    def _ship(self, items: list[Item], run: RunHandle) -> None:
        extra = self.ctx.config.get("product_shipping_info_extra_data") or {}
        pairs = [(item, shipping_row(item, extra)) for item in items]
        pairs = [(item, row) for item, row in pairs if row is not None]
        if not pairs:
            return
        try:
            upload_id = self.ctx.client().upload("shipping-info-uploads", [r for _, r in pairs])
        except PazarError as exc:
            run.log(None, f"shipping-info upload failed: {exc.message}", "warning")
            return
        tracked = [
            replace(item, meta={**item.meta, "content_type": SHIPPING_CONTENT_TYPE})
            for item, _ in pairs
        ]
        local_id = _track(self.ctx, run, tracked, SHIPPING_CONTENT_TYPE, upload_id)
        run.log(None, f"shipping-info-uploads: {len(pairs)} rows as {upload_id} (batch {local_id})")


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


def poll_import(client: Any, tracking_id: str) -> Poll:
    """An import's answer: pending while any product is, else the rejected SKUs."""
    rejected: dict[str, str] = {}
    for result in client.iter_import_status(tracking_id):
        if result.state == "pending":
            return Poll("pending")
        if result.state == "rejected" and result.merchant_sku:
            rejected[result.merchant_sku] = result.message or "rejected by Hepsiburada"
    return Poll("done", rejected=rejected)


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
