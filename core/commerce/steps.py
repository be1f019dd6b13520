"""Flow steps that write into the commerce backend: the sinks of order imports and of
the cancellations marketplaces report.

Marketplace plugins turn their orders into the backend's order shape (see
``LocalCommerce.create_order``); this sink stores a batch of them in one
transaction.  An order already stored is skipped, not failed: order imports read
overlapping time windows on purpose, so seeing an order again is the normal case.
"""

from __future__ import annotations

from typing import Any

from core.pipeline import Item, RunHandle, StepContext
from core.registry import StepType, batch_size_param, params_schema


class CreateOrders:
    """``commerce.create_orders``: one order per item (``item.data`` in the backend's shape)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]

    def send(self, items: list[Item], run: RunHandle) -> None:
        from core.commerce import backend_for

        ctx = self.ctx
        with ctx.db.session() as session:
            backend = backend_for(session, ctx.channel, clock=ctx.clock)
            results = backend.create_orders([item.data for item in items])
        for item, (order_id, created, problem) in zip(items, results, strict=True):
            number = item.data.get("number")
            if problem:
                run.fail(item, problem, "local")
            elif created:
                run.succeed(item, remote_id=str(order_id))
                run.log(item.key, f"created order {number} (id {order_id})")
            else:
                run.skip(item, f"already imported as order id {order_id}")


class CancelItems:
    """``commerce.cancel_items``: one marketplace cancellation of an order line per item."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]

    def send(self, items: list[Item], run: RunHandle) -> None:
        from core.commerce import backend_for

        ctx = self.ctx
        with ctx.db.session() as session:
            backend = backend_for(session, ctx.channel, clock=ctx.clock)
            results = backend.cancel_items([item.data for item in items])
        for item, (item_id, done, problem) in zip(items, results, strict=True):
            if problem:
                run.fail(item, problem, "local")
            elif done:
                run.succeed(item, remote_id=str(item_id))
                run.log(item.key, f"cancelled order item {item_id}")
            else:
                run.skip(item, f"order item {item_id} was cancelled already")


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
