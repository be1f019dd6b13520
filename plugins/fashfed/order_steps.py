"""Fashfed's order side as flow steps: Preparing packages in, orders out (Order Create);
completed cancel claims in, cancelled order lines out (Order Cancel).

Both read a window of the last hours on every run (seed section 9: 12 hours).  The windows
overlap on purpose, so a late, failed or killed run loses nothing; what is stored already is
dropped by the source before it becomes an item (one local query per page), so an idle run
only costs the marketplace read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
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
from pazar_fashfed import api
from pazar_fashfed.orders import (
    DEFAULT_ORDER_NUMBER_FORMAT,
    NotAnOrder,
    cancellation_from_claim,
    fashfed_ships,
    order_from_package,
)

PAGE = 100  # rows checked against local state per query


def _hours(ctx: StepContext, default: int) -> int:
    return int(ctx.params.get("hours", default))


class PreparingPackages:
    """``fashfed.packages``: Preparing packages updated in the last ``hours``, not imported yet."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.hours = _hours(ctx, api.GET_ORDERS_WINDOW_HOURS)

    def __iter__(self) -> Iterator[Item]:
        ctx = self.ctx
        since = ctx.clock.now() - timedelta(hours=self.hours)
        rows = ctx.client().packages(status=api.PACKAGE_STATUS["preparing"], since=since)
        wanted = set(ctx.keys or ())
        chosen = (p for p in rows if not wanted or str(p.get("number")) in wanted)
        for page in chunked(chosen, PAGE):
            numbers = [str(p.get("number") or "") for p in page]
            # By package: a package made by a split belongs to the order it was split from.
            stored = ctx.reads.package_statuses(numbers)
            for package, number in zip(page, numbers, strict=True):
                if number not in stored:
                    yield Item(key=number or "?", data=dict(package))


class PackageOrders:
    """``fashfed.package_orders``: each package becomes its order (and, with Use Cargo Label
    while Fashfed ships, carries its PDF cargo label).

    A package that cannot become an order fails with the reason (a broken package:
    ``remote``; a missing cargo company mapping: ``mapping``) and is read again by the
    next run, once fixed: orders are not tracked objects, so nothing is penalised.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        source = str(ctx.config.get("order_number_format") or "") or DEFAULT_ORDER_NUMBER_FORMAT
        self.number_format = ctx.templates.format(source, "config.order_number_format").render
        self.labels = bool(ctx.config.get("use_cargo_label")) and fashfed_ships(ctx.config)

    def _label(self, item: Item) -> bytes | None:
        if not self.labels or self.ctx.dry_run:
            return None
        try:
            return self.ctx.client().package_label(item.key)
        except MarketplaceError as exc:
            if exc.transient:
                raise  # an outage: the run fails, the next one reads the package again
            raise NotAnOrder(f"cargo label not available: {exc.message}") from None

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out: list[Item] = []
        for item in items:
            try:
                label = self._label(item)
                order = order_from_package(item.data, self.ctx.config, self.number_format, label)
            except NotAnOrder as exc:
                run.fail(item, exc.message, exc.reason)  # type: ignore[arg-type]
                continue
            item.data = order
            out.append(item)
        return out


class CancelClaims:
    """``fashfed.cancel_claims``: cancel claims completed in the last ``hours``, not stored yet
    (the seed's "Cancel Completed")."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.hours = _hours(ctx, api.GET_CANCEL_ORDERS_WINDOW_HOURS)

    def __iter__(self) -> Iterator[Item]:
        ctx = self.ctx
        since = ctx.clock.now() - timedelta(hours=self.hours)
        rows = ctx.client().claims(type="cancel", status="completed", since=since)
        for page in chunked(rows, PAGE):
            ids = [str(claim.get("id") or "") for claim in page]
            lines = [str(claim.get("package_item") or "") for claim in page]
            # A line cancelled here is stored under its line id (Send Cancel Order Items
            # sent it): Fashfed's claim for it is that same cancellation coming back.
            stored = ctx.reads.stored_cancellations(ids + lines)
            for claim, claim_id, line in zip(page, ids, lines, strict=True):
                if claim_id not in stored and line not in stored:
                    key = f"{api.package_of(line) or '?'}/{line or '?'}"
                    yield Item(key=key, data=dict(claim))


class ClaimRecords:
    """A claim as the record an engine sink stores (``convert``: a cancellation, a refund
    request); a claim that cannot be one fails with the reason (``remote``: broken;
    ``mapping``: no local reason for it)."""

    def __init__(self, ctx: StepContext, convert: Callable[[Any, Any], dict[str, Any]]) -> None:
        self.ctx = ctx
        self.convert = convert

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out: list[Item] = []
        for item in items:
            try:
                item.data = self.convert(item.data, self.ctx.config)
            except NotAnOrder as exc:
                run.fail(item, exc.message, exc.reason)  # type: ignore[arg-type]
                continue
            out.append(item)
        return out


def claim_records(convert: Callable[[Any, Any], dict[str, Any]]) -> Callable[..., ClaimRecords]:
    """The step factory of a :class:`ClaimRecords` converting with ``convert``."""
    return lambda ctx: ClaimRecords(ctx, convert)


def window_param(what: str, default: int) -> dict[str, Any]:
    return params_schema(
        hours={
            "type": "integer",
            "minimum": 1,
            "maximum": 24 * 30,
            "default": default,
            "description": f"How far back each run reads {what}.",
        }
    )


STEP_TYPES = [
    StepType(
        name="fashfed.packages",
        kind="source",
        factory=PreparingPackages,
        params_schema=window_param("Preparing packages", api.GET_ORDERS_WINDOW_HOURS),
        description="Fashfed packages in status Preparing updated in the last hours, not "
        "imported yet.",
    ),
    StepType(
        name="fashfed.package_orders",
        kind="step",
        factory=PackageOrders,
        params_schema=params_schema(),
        description="Turn Fashfed packages into orders for commerce.create_orders (order number "
        "format, cargo company mapping, send shipping info, neighbourhood, cargo label).",
    ),
    StepType(
        name="fashfed.cancel_claims",
        kind="source",
        factory=CancelClaims,
        params_schema=window_param("completed cancel claims", api.GET_CANCEL_ORDERS_WINDOW_HOURS),
        description="Fashfed cancel claims completed in the last hours, not stored yet.",
    ),
    StepType(
        name="fashfed.claim_cancellations",
        kind="step",
        factory=claim_records(cancellation_from_claim),
        params_schema=params_schema(),
        description="Turn cancel claims into cancellations for commerce.cancel_items "
        "(cancel_reason_mapping, else cancellation_reason_id).",
    ),
]
