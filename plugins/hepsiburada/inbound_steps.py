"""What Hepsiburada tells the seller's side after an order was imported: claims (Order
Refund), shipped / delivered / undelivered packages (Updated Orders) and packages broken
up (Unpacked Orders).

Each source reads an overlapping window on every run (a late or failed run loses
nothing) and drops what is stored already before it becomes an item; the engine's sinks
(``commerce.create_refund_requests``, ``commerce.update_order_statuses``,
``commerce.cancel_packages``) store each once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from pazar.plugin import (
    Item,
    MarketplaceError,
    RunHandle,
    StepContext,
    StepType,
    chunked,
    params_schema,
)
from pazar_hepsiburada import api
from pazar_hepsiburada.orders import feed_moment

PAGE = 100
DEFAULT_REFUNDABLE_DAYS = 15


def _log(ctx: StepContext, key: str | None, message: str, level: str = "info") -> None:
    if ctx.run is not None:
        ctx.run.log(key, message, level)


class Claims:
    """``hepsiburada.claims``: claims awaiting the merchant (``statuses``), created since the
    channel's Refund Start Date and within its Orders Refundable Days, not stored yet."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.statuses = list(ctx.params.get("statuses") or api.REFUND_CLAIM_STATUSES)

    def window(self) -> tuple[datetime, datetime]:
        now = self.ctx.clock.now()
        days = self.ctx.config.get("orders_refundable_days")
        days = DEFAULT_REFUNDABLE_DAYS if days is None else int(days)
        begin = now - timedelta(days=days)
        start = feed_moment(self.ctx.config.get("refund_start_date"))
        if start is not None and start > begin:
            begin = start
        return begin, now + timedelta(minutes=1)

    def __iter__(self) -> Iterator[Item]:
        begin, end = self.window()
        if begin >= end:
            return  # Refund Start Date is in the future
        client = self.ctx.client()
        wanted = set(self.ctx.keys or ())
        for status in self.statuses:
            claims = (c for c in client.claims(status, begin=begin, end=end))
            for page in chunked(claims, PAGE):
                numbers = [str(c.get("number") or "") for c in page]
                stored = self.ctx.reads.stored_refunds(numbers)
                for claim, number in zip(page, numbers, strict=True):
                    if number and number not in stored and (not wanted or number in wanted):
                        yield Item(key=number, data=dict(claim))


class ClaimRefunds:
    """``hepsiburada.claim_refunds``: a claim as a refund request for the backend.

    The local reason is ``refund_reason_mapping[Reason]``, else ``default_reason_id``
    (seed section 2).  A claim on an order older than Orders Refundable Days (15 when
    empty) is skipped, as is a claim on a line this channel never imported."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        mapping = ctx.config.get("refund_reason_mapping") or {}
        self.mapping = {str(k).casefold(): v for k, v in mapping.items()}
        self.default = ctx.config.get("default_reason_id")
        days = ctx.config.get("orders_refundable_days")
        self.days = DEFAULT_REFUNDABLE_DAYS if days is None else int(days)

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        now = self.ctx.clock.now()
        for item in items:
            claim = item.data
            missing = [k for k in ("number", "orderNumber", "lineItemId") if not claim.get(k)]
            if missing:
                run.fail(item, f"claim has no {', '.join(missing)}", "remote")
                continue
            ordered = feed_moment(claim.get("orderDate"))
            if ordered is not None and ordered < now - timedelta(days=self.days):
                run.skip(
                    item,
                    f"order {claim['orderNumber']} of {ordered.date()} is older than "
                    f"orders_refundable_days ({self.days})",
                )
                continue
            reason = str(claim.get("Reason") or claim.get("reason") or "")
            local = self.mapping.get(reason.casefold(), self.default)
            if local in (None, ""):
                run.fail(
                    item,
                    f"no refund_reason_mapping entry for {reason!r} and no default_reason_id: "
                    "set one with pazar channel set SLUG default_reason_id=ID",
                    "mapping",
                )
                continue
            photos = [
                str(r.get("ImageUrl"))
                for r in claim.get("Reports") or []
                if isinstance(r, Mapping) and r.get("ImageUrl")
            ]
            item.data = {
                "remote_id": str(claim["number"]),
                "remote_number": str(claim["orderNumber"]),
                "item_remote_id": str(claim["lineItemId"]),
                "reason_id": int(local),
                "remote_reason": reason or None,
                "explanation": claim.get("explanation") or None,
                "photo_urls": photos,
            }
            out.append(item)
        return out


class PackageFeeds:
    """``hepsiburada.package_feeds``: packages shipped, delivered or undelivered in the last
    ``hours`` (the feeds keep a month and refuse dates: the window is applied here)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.hours = int(ctx.params.get("hours", api.GET_UPDATED_ORDERS_WINDOW_HOURS))

    def __iter__(self) -> Iterator[Item]:
        since = self.ctx.clock.now() - timedelta(hours=self.hours)
        wanted = set(self.ctx.keys or ())
        client = self.ctx.client()
        for feed, field in (
            ("shipped", "ShippedDate"),
            ("delivered", "DeliveredDate"),
            ("undelivered", "UndeliveredDate"),
        ):
            for row in client.package_feed(feed):
                when = feed_moment(row.get(field))
                number = str(row.get("PackageNumber") or "")
                if when is not None and when < since or (wanted and number not in wanted):
                    continue
                yield Item(key=number or "?", data={**row, "feed": feed})


class PackageStatuses:
    """``hepsiburada.package_statuses``: a feed row as a status for the backend.  A shipped
    package's tracking comes from its cargo info (tracking number and URL, carrier
    through the channel's Cargo Company Mapping)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        mapping = ctx.config.get("cargo_company_mapping") or {}
        self.cargo = {str(k).casefold(): v for k, v in mapping.items()}

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        for item in items:
            row = item.data
            if not row.get("PackageNumber"):
                run.fail(item, "feed row has no PackageNumber", "remote")
                continue
            update: dict[str, Any] = {
                "package_id": str(row["PackageNumber"]),
                "status": row["feed"],
            }
            if row["feed"] == "shipped" and not self.ctx.dry_run:
                update.update(self._tracking(item.key, run))
            if row["feed"] == "undelivered":
                update["reason"] = row.get("UndeliveredReason")
            item.data = update
            out.append(item)
        return out

    def _tracking(self, number: str, run: RunHandle) -> dict[str, Any]:
        try:
            info = self.ctx.client().package_info(number)
        except MarketplaceError as exc:
            if exc.transient:
                raise
            run.log(number, f"no cargo info: {exc.remote_message or exc.message}", "warning")
            return {}
        out: dict[str, Any] = {}
        if info.get("trackingInfoCode"):
            out["tracking_number"] = str(info["trackingInfoCode"])
        if info.get("trackingInfoUrl"):
            out["tracking_url"] = str(info["trackingInfoUrl"])
        carrier = str(info.get("cargoCompany") or "")
        cargo = self.cargo.get(carrier.casefold(), self.cargo.get("default"))
        if cargo not in (None, ""):
            with contextlib.suppress(TypeError, ValueError):
                out["cargo_company_id"] = int(cargo)
        return out


class Unpacked:
    """``hepsiburada.unpacked``: packages Hepsiburada broke up in the last ``hours`` whose
    local order is not cancelled yet (packages never imported here are left out)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.hours = int(ctx.params.get("hours", api.UNPACKED_WINDOW_HOURS))

    def __iter__(self) -> Iterator[Item]:
        wanted = set(self.ctx.keys or ())
        rows = self.ctx.client().unpacked_packages(self.hours)
        for page in chunked(rows, PAGE):
            numbers = [str(r.get("packageNumber") or "") for r in page]
            statuses = self.ctx.reads.package_statuses(numbers)
            for row, number in zip(page, numbers, strict=True):
                if statuses.get(number) in (None, "cancelled"):
                    continue
                if not wanted or number in wanted:
                    yield Item(key=number, data=dict(row))


class UnpackedCancellations:
    """``hepsiburada.unpacked_cancellations``: a broken package as the cancellation of its
    order, with the channel's Cancellation Reason Id (seed section 9)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.reason = ctx.config.get("cancellation_reason_id")

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        for item in items:
            if self.reason in (None, ""):
                run.fail(
                    item,
                    "no cancellation_reason_id: set one with pazar channel set SLUG "
                    "cancellation_reason_id=ID",
                    "mapping",
                )
                continue
            item.data = {
                "package_id": item.key,
                "reason_id": int(self.reason),
                "remote_reason": "Unpacked",
                "remote_id": f"unpacked-{item.key}",
            }
            out.append(item)
        return out


def _hours(default: int, maximum: int, what: str) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": maximum,
        "default": default,
        "description": what,
    }


STEP_TYPES = [
    StepType(
        name="hepsiburada.claims",
        kind="source",
        factory=Claims,
        params_schema=params_schema(
            statuses={
                "type": "array",
                "items": {"enum": list(api.CLAIM_STATUSES)},
                "minItems": 1,
                "uniqueItems": True,
                "default": list(api.REFUND_CLAIM_STATUSES),
                "description": "Claim statuses to read (those awaiting the merchant).",
            }
        ),
        description="Claims since refund_start_date within orders_refundable_days, not stored yet.",
    ),
    StepType(
        name="hepsiburada.claim_refunds",
        kind="step",
        factory=ClaimRefunds,
        params_schema=params_schema(),
        description="Claims as refund requests (refund_reason_mapping, else default_reason_id).",
    ),
    StepType(
        name="hepsiburada.package_feeds",
        kind="source",
        factory=PackageFeeds,
        params_schema=params_schema(
            hours=_hours(
                api.GET_UPDATED_ORDERS_WINDOW_HOURS,
                24 * 30,
                "How far back each run reads the feeds.",
            )
        ),
        description="Packages shipped, delivered or undelivered in the last hours.",
    ),
    StepType(
        name="hepsiburada.package_statuses",
        kind="step",
        factory=PackageStatuses,
        params_schema=params_schema(),
        description="Feed rows as statuses (with tracking and cargo company for shipped ones).",
    ),
    StepType(
        name="hepsiburada.unpacked",
        kind="source",
        factory=Unpacked,
        params_schema=params_schema(
            hours=_hours(api.UNPACKED_WINDOW_HOURS, 24 * 30, "How far back each run looks.")
        ),
        description="Packages broken up on Hepsiburada whose local order is not cancelled.",
    ),
    StepType(
        name="hepsiburada.unpacked_cancellations",
        kind="step",
        factory=UnpackedCancellations,
        params_schema=params_schema(),
        description="Broken packages as cancellations with cancellation_reason_id.",
    ),
]
