"""Example Market's sinks: stock is answered at once, prices later.

Transient failures (5xx, 429 after the waits, timeouts) are the engine's business: the
client raises them, the run fails, and no record is penalised.  Only the marketplace
refusing a row is a record's fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pazar.plugin import (
    Item,
    Poll,
    RunHandle,
    StepContext,
    StepType,
    UploadSink,
    batch_size_param,
    params_schema,
)

PRICE_ROW: Mapping[str, Any] = {
    "type": "object",
    "required": ["sku", "price"],
    "additionalProperties": False,
    "properties": {"sku": {"type": "string"}, "price": {"type": "number", "exclusiveMinimum": 0}},
}


class StockSink:
    """``example.stock``: one synchronous call per batch; each row's answer is final."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]

    def send(self, items: list[Item], run: RunHandle) -> None:
        answers = self.ctx.client().set_stock(self.render(items))
        for item in items:
            refusal = answers.get(item.key, "Example Market did not answer for this SKU")
            if refusal is None:
                run.succeed(item)
            else:
                run.fail(item, refusal, "remote")


class PriceUploads(UploadSink):
    """``example.price_uploads``: a batch upload; check_uploads asks how it ended."""

    kind: ClassVar[str] = "prices"
    row_schema: ClassVar[Mapping[str, Any] | None] = PRICE_ROW

    def upload(self, rows: list[Any]) -> str:
        return self.ctx.client().upload_prices(rows)

    def status(self, remote_id: str, kind: str) -> Poll:
        answer = self.ctx.client().price_batch(remote_id)
        if answer.get("state") != "finished":
            return Poll("pending")  # an answer that says nothing clear is not "done"
        failed = answer.get("failed") or []
        return Poll("done", rejected={str(r["sku"]): str(r["reason"]) for r in failed})


STEP_TYPES = [
    StepType(
        name="example.stock",
        kind="sink",
        factory=StockSink,
        params_schema=params_schema(
            batch_size=batch_size_param("Stock rows per call.", default=100, maximum=500)
        ),
        description="Send stock rows; Example Market accepts or refuses each at once.",
    ),
    StepType(
        name="example.price_uploads",
        kind="sink",
        factory=PriceUploads,
        params_schema=params_schema(
            batch_size=batch_size_param("Price rows per upload.", default=500, maximum=1000)
        ),
        description="Upload price rows; check_uploads records the outcome of each.",
    ),
]
