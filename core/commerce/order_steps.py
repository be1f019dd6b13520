"""The order side's engine steps, for every marketplace: sources of what changed in the
commerce backend (orders, refund decisions, cancellations made here) and sinks of what a
marketplace reports (refunds, statuses, broken packages).

Sources select in pages by version with one indexed query each (see
``pazar.commerce.order_updates`` and ``pazar.commerce.requests``); each outbound flow has
its own content type, so its integration state says what it sent.  Sinks store a batch in
one transaction through the commerce backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pazar.commerce.order_updates import (
    changed_order_record,
    changed_orders_query,
    order_items_of,
)
from pazar.commerce.requests import decisions_query, local_cancellations_query
from pazar.commerce.statuses import UNREPORTED_MESSAGE, UNREPORTED_STATUSES
from pazar.commerce.steps import BackendSink
from pazar.pipeline import Item, RunHandle, StepContext
from pazar.registry import StepType, batch_size_param, params_schema

PAGE_SIZE = {
    "type": "integer",
    "minimum": 1,
    "maximum": 10000,
    "default": 500,
    "description": "Records read per query.",
}


class _PagedSource:
    """Pages of a version-ordered query until a short page; ``ctx.limit`` caps the total."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.content_type = str(ctx.flow.content_type or "DEFAULT")
        self.page_size = int(ctx.params.get("page_size") or 500)

    def query(self, after: int, limit: int) -> Any:
        raise NotImplementedError

    def items(self, session: Any, rows: list[Mapping[str, Any]]) -> list[Item]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Item]:
        after, left = 0, self.ctx.limit
        while True:
            size = self.page_size if left is None else min(self.page_size, left)
            if size <= 0:
                return
            with self.ctx.db.session() as session:
                rows = list(session.execute(self.query(after, size)).mappings())
                items = self.items(session, rows)
            wanted = set(self.ctx.keys or ())
            for item in items:
                if not wanted or item.key in wanted:
                    yield item
            if left is not None:
                left -= len(rows)
            if len(rows) < size:
                return
            after = int(rows[-1]["version"])


class ChangedOrders(_PagedSource):
    """``commerce.changed_orders``: orders changed since this flow last sent them.

    ``record``: the order (number, remote number, package id, status, invoice url,
    tracking number and url, cargo company code and its tracking url, extra, items),
    ``known_status`` (what the marketplace holds: the status last sent or the one it
    reported, the higher) and ``status_ahead`` (the local status is further on).  A sink
    sets ``item.state`` to the status the marketplace holds after it, so the next run
    compares with that.  ``needs`` leaves out orders missing a field (the invoice flow
    needs ``invoice_url``); orders with an open refund request are left out while it is
    open (seed section 8), unless ``skip_open_refunds`` is false.
    """

    def query(self, after: int, limit: int) -> Any:
        return changed_orders_query(
            self.ctx.channel.id,
            self.content_type,
            now=self.ctx.clock.now(),
            after=after,
            limit=limit,
            needs=tuple(self.ctx.params.get("needs") or ()),
            skip_open_refunds=bool(self.ctx.params.get("skip_open_refunds", True)),
        )

    def items(self, session: Any, rows: list[Mapping[str, Any]]) -> list[Item]:
        lines = order_items_of(session, [r["id"] for r in rows])
        return [
            Item(
                key=str(row["number"]),
                data=changed_order_record(row, lines[row["id"]]),
                object_id=int(row["id"]),
                version=int(row["version"]),
                content_type=self.content_type,
                remote_id=row["remote_id"],
                last_payload_hash=row["last_payload_hash"],
                state_read=True,
            )
            for row in rows
        ]


def _request_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "request_id": row["id"],
        "remote_id": row["remote_id"],
        "status": row["status"],
        "reason_id": row["reason_id"],
        "reason": row["remote_reason"],
        "explanation": row["explanation"],
        "photo_urls": list(row["photo_urls"] or []),
        "order_number": row["number"],
        "remote_number": row["remote_number"],
        "package_id": row["package_id"],
        "order_status": row["order_status"],
        "item_remote_id": row["item_remote_id"],
        "sku": row["sku"],
        "quantity": row["quantity"],
    }


class RefundDecisions(_PagedSource):
    """``commerce.refund_decisions``: marketplace refund requests decided here (``status``:
    approved or rejected; ``pazar refunds approve/reject``) not sent yet, each decision
    once.  ``record``: remote_id (the claim), status, reason, explanation, photo_urls,
    order and line."""

    def query(self, after: int, limit: int) -> Any:
        return decisions_query(
            self.ctx.channel.id,
            self.content_type,
            str(self.ctx.params["status"]),
            now=self.ctx.clock.now(),
            after=after,
            limit=limit,
        )

    def items(self, session: Any, rows: list[Mapping[str, Any]]) -> list[Item]:
        return [
            Item(
                key=str(row["remote_id"]),
                data=_request_record(row),
                object_id=int(row["id"]),
                version=int(row["version"]),
                content_type=self.content_type,
                last_payload_hash=row["last_payload_hash"],
                state_read=True,
            )
            for row in rows
        ]


MARKETPLACE_REASON_KEYS = ("cancellation_reason_id", "cancellation_reason_mapping")


def marketplace_reason_ids(
    config: Mapping[str, Any], keys: Sequence[str] = MARKETPLACE_REASON_KEYS
) -> list[int]:
    """The local reasons a channel gives the marketplace's own cancellations: the config
    keys ``keys`` name, each a reason id or a mapping whose values are reason ids (by
    default ``cancellation_reason_id`` and ``cancellation_reason_mapping``)."""
    ids: list[Any] = []
    for key in keys:
        value = config.get(key)
        ids += list(value.values()) if isinstance(value, Mapping) else [value]
    out = []
    for value in ids:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return sorted(set(out))


class LocalCancellations(_PagedSource):
    """``commerce.local_cancellations``: order items cancelled here (``pazar orders
    cancel-items``), not sent yet, each once.  Never a cancellation that came from the
    marketplace (origin), nor one carrying a reason the channel uses for the
    marketplace's cancellations (the config keys ``reason_keys`` names; by default
    ``cancellation_reason_id`` and ``cancellation_reason_mapping``; the seed's rule).
    ``key``: ``ORDER/LINE``."""

    def query(self, after: int, limit: int) -> Any:
        return local_cancellations_query(
            self.ctx.channel.id,
            self.content_type,
            now=self.ctx.clock.now(),
            after=after,
            limit=limit,
            marketplace_reasons=marketplace_reason_ids(
                self.ctx.config,
                tuple(self.ctx.params.get("reason_keys") or MARKETPLACE_REASON_KEYS),
            ),
        )

    def items(self, session: Any, rows: list[Mapping[str, Any]]) -> list[Item]:
        return [
            Item(
                key=f"{row['remote_number']}/{row['item_remote_id']}",
                data=_request_record(row),
                object_id=int(row["id"]),
                version=int(row["version"]),
                content_type=self.content_type,
                last_payload_hash=row["last_payload_hash"],
                state_read=True,
            )
            for row in rows
        ]


class ReportedOrdersOnly:
    """``commerce.reported_orders_only``: a cancellation of an order the backend has not
    reported to its ERP yet (still ``new``) fails with the seed's "Unreported order of
    ERP can not be canceled" (a ``local`` penalty: release it once the order moved on)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        for item in items:
            if item.data.get("order_status") in UNREPORTED_STATUSES:
                run.fail(item, UNREPORTED_MESSAGE, "local")
            else:
                out.append(item)
        return out


class TriggerPayload:
    """``commerce.trigger_payload``: the data a trigger gave the run (an OMS's warehouse
    update or package split), as one item keyed by the payload's ``key`` field.  A run
    without a payload (a schedule, a bare manual run) reads nothing and says so."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.key = str(ctx.params.get("key") or "order_number")

    def __iter__(self) -> Iterator[Item]:
        payload = self.ctx.payload
        if not payload:
            if self.ctx.run is not None:
                self.ctx.run.log(
                    None,
                    "no payload: this flow runs on a trigger that carries one (POST "
                    f"/flow-trigger/{self.ctx.channel.slug}/{self.ctx.flow.flow} or pazar "
                    f"trigger {self.ctx.flow.ref} --channel {self.ctx.channel.slug} "
                    "--payload FILE.json)",
                    "warning",
                )
            return
        yield Item(key=str(payload.get(self.key) or "?"), data=dict(payload))


class SplitOrders(BackendSink):
    """``commerce.split_orders``: an order whose package the marketplace split follows it:
    the first new package keeps the order, each other one becomes an order of its own
    with the items it holds, so importing the new packages finds them stored."""

    method = "split_orders"

    def done_message(self, item: Item, object_id: Any) -> str:
        packages = ", ".join(p["package_id"] for p in item.data.get("packages") or [])
        return f"order {object_id} follows its package split into {packages}"

    def seen_message(self, object_id: Any) -> str:
        if object_id is None:
            return "order not imported here: nothing to split"
        return f"order {object_id} is split that way already"


class CreateRefundRequests(BackendSink):
    """``commerce.create_refund_requests``: a marketplace's refunds as open requests, once."""

    method = "create_refund_requests"

    def done_message(self, item: Item, object_id: Any) -> str:
        return f"refund request {object_id} opened for claim {item.data.get('remote_id')}"

    def seen_message(self, object_id: Any) -> str:
        return f"already stored as refund request {object_id}"


class UpdateOrderStatuses(BackendSink):
    """``commerce.update_order_statuses``: statuses a marketplace reports (shipped,
    delivered, undelivered; tracking) move orders and their items forward, never back."""

    method = "update_order_statuses"

    def done_message(self, item: Item, object_id: Any) -> str:
        return f"order {object_id}: {item.data.get('status')}"

    def seen_message(self, object_id: Any) -> str:
        if object_id is None:
            return "not imported here: nothing to update"
        return f"order {object_id} already has this status"


class CancelPackages(BackendSink):
    """``commerce.cancel_packages``: the orders made of packages the marketplace broke
    become cancelled (every live item, with the reason), once."""

    method = "cancel_packages"

    def done_message(self, item: Item, object_id: Any) -> str:
        return f"cancelled order {object_id} (package {item.data.get('package_id')})"

    def seen_message(self, object_id: Any) -> str:
        if object_id is None:
            return "package not imported here: nothing to cancel"
        return f"order {object_id} was cancelled already"


def _page_params(**more: Any) -> dict[str, Any]:
    return params_schema(page_size=PAGE_SIZE, **more)


STEP_TYPES = [
    StepType(
        name="commerce.changed_orders",
        kind="source",
        factory=ChangedOrders,
        params_schema=_page_params(
            needs={
                "type": "array",
                "items": {"enum": ["invoice_url", "tracking_number", "tracking_url"]},
                "uniqueItems": True,
                "default": [],
                "description": "Only orders with these fields set.",
            },
            skip_open_refunds={
                "type": "boolean",
                "default": True,
                "description": "Leave out orders with an open refund request (seed section 8).",
            },
        ),
        description="Orders whose status, invoice or tracking changed since this flow last "
        "sent them (never a status the marketplace holds already).",
    ),
    StepType(
        name="commerce.refund_decisions",
        kind="source",
        factory=RefundDecisions,
        params_schema={
            **_page_params(status={"enum": ["approved", "rejected"]}),
            "required": ["status"],
        },
        description="Marketplace refund requests approved or rejected in the commerce "
        "backend, not sent yet.",
    ),
    StepType(
        name="commerce.local_cancellations",
        kind="source",
        factory=LocalCancellations,
        params_schema=_page_params(
            reason_keys={
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "uniqueItems": True,
                "default": list(MARKETPLACE_REASON_KEYS),
                "description": "Config keys holding the local reasons of the marketplace's own "
                "cancellations (a reason id, or a mapping whose values are reason ids): "
                "cancellations with these reasons are never sent.",
            }
        ),
        description="Order items cancelled in the commerce backend (never one the "
        "marketplace cancelled), not sent yet.",
    ),
    StepType(
        name="commerce.reported_orders_only",
        kind="step",
        factory=ReportedOrdersOnly,
        params_schema=params_schema(),
        description="Fail cancellations of orders not reported to the ERP yet (seed: "
        "'Unreported order of ERP can not be canceled').",
    ),
    StepType(
        name="commerce.trigger_payload",
        kind="source",
        factory=TriggerPayload,
        params_schema=params_schema(
            key={
                "type": "string",
                "minLength": 1,
                "default": "order_number",
                "description": "The payload field that names the record (its key in logs).",
            }
        ),
        description="The data a trigger carried (an OMS's warehouse update or package "
        "split), as one record.",
    ),
    StepType(
        name="commerce.split_orders",
        kind="sink",
        factory=SplitOrders,
        params_schema=params_schema(
            batch_size=batch_size_param("Splits stored per transaction.", default=10, maximum=100)
        ),
        description="Local orders follow a package split on the marketplace (items move "
        "to an order per new package).",
    ),
    StepType(
        name="commerce.create_refund_requests",
        kind="sink",
        factory=CreateRefundRequests,
        params_schema=params_schema(
            batch_size=batch_size_param(
                "Refunds stored per transaction.", default=100, maximum=1000
            )
        ),
        description="Store a marketplace's refunds (claims) as open refund requests, each once.",
    ),
    StepType(
        name="commerce.update_order_statuses",
        kind="sink",
        factory=UpdateOrderStatuses,
        params_schema=params_schema(
            batch_size=batch_size_param(
                "Updates stored per transaction.", default=100, maximum=1000
            )
        ),
        description="Move orders and items to the statuses a marketplace reports (never "
        "backwards), with tracking.",
    ),
    StepType(
        name="commerce.cancel_packages",
        kind="sink",
        factory=CancelPackages,
        params_schema=params_schema(
            batch_size=batch_size_param(
                "Cancellations stored per transaction.", default=100, maximum=1000
            )
        ),
        description="Cancel the orders made of packages the marketplace broke, once.",
    ),
]
