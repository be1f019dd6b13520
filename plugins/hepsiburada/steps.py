"""Hepsiburada flow steps: listing uploads (stock, price) and their result check.

Hepsiburada answers stock and price uploads asynchronously: the POST returns an
upload id, the rows' fate comes later from the status endpoint.  So a sink here
only uploads and opens a batch request (the items stay in flight and count as
sent); the ``check_uploads`` flow polls and records per-SKU outcomes through the
engine's batch machinery (``pazar.polling``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pazar import StepType, batch_size_param, params_schema
from pazar.errors import PazarError
from pazar.pipeline import Item, StepContext
from pazar.polling import Poll, PollSink, poll_sink_type
from pazar.state.batches import mark_sent, open_batch
from pazar_hepsiburada import api

# Which upload endpoint answers for a batch of a given content type.
UPLOAD_KIND_BY_CONTENT_TYPE = {
    "productstock": "stock-uploads",
    "productprice": "price-uploads",
    "productshipping": "shipping-info-uploads",
}
# Product Create / Update send through the mpop import API, polled by tracking id.
IMPORT_CONTENT_TYPE = "product"


def _row(data: Mapping[str, Any]) -> dict[str, Any]:
    """Drop empty optional fields: Hepsiburada treats a sent null as a value."""
    return {k: v for k, v in data.items() if v is not None}


class ListingUpload:
    """Sink: one listing upload per batch of items, tracked as a batch request."""

    kind = ""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [_row(item.data) for item in items]

    def send(self, items: list[Item], run: Any) -> None:
        ctx = self.ctx
        rows = self.render(items)
        try:
            upload_id = ctx.client().upload(self.kind, rows)
        except PazarError as exc:
            for item in items:
                run.fail(item, exc.message, "remote")
            return
        with ctx.db.session() as session:
            batch = open_batch(
                session,
                ctx.channel.id,
                ctx.flow.content_type,
                ctx.flow,
                run.run_id,
                items,
                clock=ctx.clock,
            )
            mark_sent(batch, upload_id, clock=ctx.clock)
            local_id = batch.local_batch_id
        for item in items:
            item.meta["deferred"] = True
        run.log(None, f"{self.kind}: uploaded {len(rows)} rows as {upload_id} (batch {local_id})")


class StockUploads(ListingUpload):
    kind = "stock-uploads"


class PriceUploads(ListingUpload):
    kind = "price-uploads"


class UploadResults(PollSink):
    """Sink of ``check_uploads``: asks Hepsiburada how each open upload ended."""

    def poll(self, batch: Mapping[str, Any]) -> Poll:
        if batch["content_type"] == IMPORT_CONTENT_TYPE:
            from pazar_hepsiburada.product_steps import poll_import

            return poll_import(self.ctx.client(), batch["remote_batch_id"])
        kind = UPLOAD_KIND_BY_CONTENT_TYPE.get(batch["content_type"])
        if kind is None:
            raise PazarError(
                f"no Hepsiburada upload kind for content type {batch['content_type']!r}"
            )
        status = self.ctx.client().upload_status(kind, batch["remote_batch_id"])
        if status.pending:
            return Poll("pending")
        if status.failed:
            return Poll("failed", message=f"Hepsiburada reported upload status {status.status!r}")
        return Poll("done", rejected=status.rejected())


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
    poll_sink_type(
        "hepsiburada.upload_results",
        UploadResults,
        "Poll open stock/price uploads; record accepted rows and penalise rejected SKUs.",
    ),
]


def register_steps(register: Callable[..., None]) -> None:
    register(*STEP_TYPES)
