"""Flow steps that write into the commerce backend: the sinks of order imports and of
the cancellations marketplaces report.

Marketplace plugins turn their orders (and cancellations) into the backend's shape
(see ``LocalCommerce.create_order`` and ``cancel_items``); these sinks store a batch
in one transaction.  What is stored already is skipped, not failed: imports read
overlapping time windows on purpose, so seeing an order again is the normal case.
"""

from __future__ import annotations

from typing import Any

from pazar.commerce import backend_for
from pazar.pipeline import Item, RunHandle, StepContext
from pazar.registry import StepType, batch_size_param, params_schema


class BackendSink:
    """A sink that hands a batch to one commerce-backend method in one transaction.

    The method answers per item ``(id, done, problem)``: a problem fails the item
    (reason ``local``), done succeeds it with a log line, anything else is skipped
    as already there (seen again, which overlapping reads make normal).
    """

    method = ""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]

    def send(self, items: list[Item], run: RunHandle) -> None:
        ctx = self.ctx
        with ctx.db.session() as session:
            backend = backend_for(session, ctx.channel, clock=ctx.clock)
            results = getattr(backend, self.method)([item.data for item in items])
        for item, (object_id, done, problem) in zip(items, results, strict=True):
            if problem:
                run.fail(item, problem, "local")
            elif done:
                run.succeed(item, remote_id=str(object_id))
                run.log(item.key, self.done_message(item, object_id))
            else:
                run.skip(item, self.seen_message(object_id))

    def done_message(self, item: Item, object_id: Any) -> str:
        raise NotImplementedError

    def seen_message(self, object_id: Any) -> str:
        raise NotImplementedError


class CreateOrders(BackendSink):
    """``commerce.create_orders``: one order per item (``item.data`` in the backend's shape)."""

    method = "create_orders"

    def done_message(self, item: Item, object_id: Any) -> str:
        return f"created order {item.data.get('number')} (id {object_id})"

    def seen_message(self, object_id: Any) -> str:
        return f"already imported as order id {object_id}"


class CancelItems(BackendSink):
    """``commerce.cancel_items``: one marketplace cancellation of an order line per item."""

    method = "cancel_items"

    def done_message(self, item: Item, object_id: Any) -> str:
        return f"cancelled order item {object_id}"

    def seen_message(self, object_id: Any) -> str:
        return f"order item {object_id} was cancelled already"


STEP_TYPES = [
    StepType(
        name="commerce.create_orders",
        kind="sink",
        factory=CreateOrders,
        params_schema=params_schema(
            batch_size=batch_size_param("Orders stored per transaction.", default=50, maximum=1000)
        ),
        description="Store marketplace orders in the commerce backend, each once per "
        "(order number, package).",
    ),
    StepType(
        name="commerce.cancel_items",
        kind="sink",
        factory=CancelItems,
        params_schema=params_schema(
            batch_size=batch_size_param(
                "Cancellations stored per transaction.", default=100, maximum=1000
            )
        ),
        description="Cancel order items the marketplace cancelled (status, reason and an "
        "approved cancel request), each once.",
    ),
]
