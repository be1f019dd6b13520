"""What the seller's side tells Hepsiburada about its orders: status and tracking (Order
Update), invoice links, refund decisions (Approve Refunds, Reject Refund), cancellations
made by the seller (Send Cancel Order Items), warehouse changes and package splits asked
for by an OMS.

The records come from the engine's sources (``commerce.changed_orders``,
``commerce.refund_decisions``, ``commerce.local_cancellations``,
``commerce.trigger_payload``); these sinks make the calls.  Hepsiburada refusing one
record (4xx) fails that record (a penalty); an outage fails the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pazar.plugin import (
    Item,
    MarketplaceError,
    PazarError,
    RunHandle,
    SplitRefused,
    StepContext,
    StepType,
    batch_size_param,
    params_schema,
    parse_instant,
    split_plan,
)
from pazar_hepsiburada import api

# The fulfilment ladder as Hepsiburada's calls: what to send to move a package to a status.
SHIPPED, DELIVERED, UNDELIVERED = "shipped", "delivered", "undelivered"
LADDER = {"new": 0, "preparing": 1, SHIPPED: 2, DELIVERED: 3, UNDELIVERED: 3}
# Hepsiburada's package statuses as pazar's.
HB_STATUS = {"InTransit": SHIPPED, "Delivered": DELIVERED, "Undelivered": UNDELIVERED}


def _instant(text: object) -> str | None:
    """A stored ISO instant as Hepsiburada's body dates (``api.body_instant``); None when
    the order has none."""
    return api.body_instant(parse_instant(text)) if text else None


class _Sink:
    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [self.payload(item) for item in items]

    def payload(self, item: Item) -> Any:
        return item.data

    def _refused(self, item: Item, exc: MarketplaceError, run: RunHandle) -> None:
        if not exc.record_fault:
            raise exc  # an outage or refused credentials: the run fails, nobody's record
        run.fail(item, exc.remote_message or exc.message, "remote")


class OrderUpdates(_Sink):
    """``hepsiburada.order_updates`` (Order Update, flag ``send_update_orders``).

    A local status ahead of what Hepsiburada holds is sent: ``shipped`` as in transit
    (with the tracking number and URL only when the channel's Send Shipping Info is on:
    otherwise Hepsiburada's carrier ships and says so itself), ``delivered`` and
    ``undelivered`` as such.  The tracking URL is the order's own, else rendered from
    the channel's Shipping Provider for its cargo company (the PTT and Loomis rules).
    Nothing is sent backwards; an order with nothing new succeeds without a call.
    """

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(ctx)
        self.shipping_info = bool(ctx.config.get("send_shipping_info"))
        self.providers = dict(ctx.config.get("shipping_provider") or {})
        self.url_of = ctx.templates.expression(
            "{{ number | tracking_url(provider, providers) }}", "shipping_provider"
        )

    def calls(self, item: Item) -> list[tuple[str, str, dict[str, Any]]]:
        """(status, call, body) in the order Hepsiburada needs them."""
        data = item.data
        if not data.get("status_ahead"):
            return []
        status, known = data["status"], data.get("known_status")
        out: list[tuple[str, str, dict[str, Any]]] = []
        moment = _instant(data.get("updated_at"))
        if self.shipping_info and LADDER.get(known or "", -1) < LADDER[SHIPPED] <= LADDER[status]:
            # the day it shipped here, not its last change (an invoice may come later)
            body: dict[str, Any] = {"shippedDate": _instant(data.get("shipped_at")) or moment}
            number = data.get("tracking_number")
            if number:
                body["trackingNumber"] = number
                body["trackingUrl"] = data.get("tracking_url") or self.tracking_url(data)
            out.append((SHIPPED, "in_transit", body))
        if status == DELIVERED:
            received: dict[str, Any] = {"receivedDate": moment}
            received_by = (data.get("extra") or {}).get("received_by")
            if received_by:  # who signed for it, when the seller's side knows
                received["receivedBy"] = str(received_by)
            out.append((DELIVERED, "deliver", received))
        if status == UNDELIVERED:
            reason = str((data.get("extra") or {}).get("undelivered_reason") or "Undelivered")
            out.append(
                (UNDELIVERED, "undeliver", {"undeliveredDate": moment, "undeliveredReason": reason})
            )
        return out

    def _holds(self, package: str, status: str) -> bool:
        """Whether Hepsiburada's package is at ``status`` or past it already (a call whose
        answer was lost, e.g. the process was killed before recording it)."""
        reached = HB_STATUS.get(str(self.ctx.client().package_info(package).get("status")))
        return (
            reached is not None
            and LADDER[reached] >= LADDER[status]
            and (reached == status or status == SHIPPED)
        )

    def tracking_url(self, data: Mapping[str, Any]) -> str | None:
        if not self.providers:
            return None
        return self.url_of.render(
            {
                "number": data.get("tracking_number"),
                "provider": data.get("cargo_company") or "",
                "providers": self.providers,
            }
        )

    def payload(self, item: Item) -> Any:
        try:
            calls = self.calls(item)
        except PazarError as exc:
            return {"package": item.data.get("package_id"), "error": exc.message}
        return {"package": item.data.get("package_id"), "calls": [(c, b) for _, c, b in calls]}

    def send(self, items: list[Item], run: RunHandle) -> None:
        client = self.ctx.client()
        for item in items:
            try:
                calls = self.calls(item)
            except PazarError as exc:  # a tracking URL the mapping cannot make
                run.fail(item, exc.message, "mapping")
                continue
            held = item.data.get("known_status")
            try:
                for status, call, body in calls:
                    try:
                        getattr(client, call)(item.data["package_id"], body)
                    except MarketplaceError as exc:
                        if exc.status != 409 or not self._holds(item.data["package_id"], status):
                            raise
                        run.log(item.key, f"Hepsiburada holds {status} already")
                    else:
                        run.log(item.key, f"{status} sent for package {item.data['package_id']}")
                    held = status
            except MarketplaceError as exc:
                self._refused(item, exc, run)
                continue
            item.state = held
            run.succeed(item, remote_id=str(item.data["package_id"]))


class InvoiceLinks(_Sink):
    """``hepsiburada.invoice_links`` (flag ``send_invoice_link``): the order's invoice link
    on its package, once.  Hepsiburada keeps the first link it was given (409): a later
    change is logged, not retried."""

    def payload(self, item: Item) -> Any:
        return {"package": item.data.get("package_id"), "invoiceLink": item.data["invoice_url"]}

    def send(self, items: list[Item], run: RunHandle) -> None:
        client = self.ctx.client()
        for item in items:
            try:
                client.send_invoice(item.data["package_id"], item.data["invoice_url"])
            except MarketplaceError as exc:
                if exc.status == 409:
                    run.log(
                        item.key,
                        "Hepsiburada has an invoice for this package already; it keeps the "
                        "first link",
                        "warning",
                    )
                    run.succeed(item)
                    continue
                self._refused(item, exc, run)
                continue
            run.log(item.key, f"invoice link sent for package {item.data['package_id']}")
            run.succeed(item)


class ClaimDecisions(_Sink):
    """``hepsiburada.claim_decisions`` (Approve Refunds / Reject Refund): an approved refund
    accepts its claim; a rejected one rejects it with the reason, the explanation as the
    merchant's statement, and the photo URLs.  A claim Hepsiburada refuses as decided
    (409) that carries this very decision already (a call whose answer was lost) counts
    as sent; one decided otherwise is a penalty with Hepsiburada's answer."""

    def _decided(self, data: Mapping[str, Any]) -> bool:
        status = "Accepted" if data["status"] == "approved" else "Rejected"
        now = self.ctx.clock.now()
        claims = self.ctx.client().claims(status, begin=now - timedelta(days=90), end=now)
        return any(str(c.get("number")) == str(data["remote_id"]) for c in claims)

    def payload(self, item: Item) -> Any:
        data = item.data
        if data["status"] == "approved":
            return {"claim": data["remote_id"], "accept": {}}
        return {
            "claim": data["remote_id"],
            "reject": {
                "ClaimRejectionReason": data.get("reason"),
                "MerchantStatement": data.get("explanation"),
                "UploadedReportsUrls": data.get("photo_urls") or [],
            },
        }

    def send(self, items: list[Item], run: RunHandle) -> None:
        client = self.ctx.client()
        for item in items:
            data = item.data
            try:
                if data["status"] == "approved":
                    client.accept_claim(data["remote_id"])
                else:
                    client.reject_claim(
                        data["remote_id"],
                        reason=str(data.get("reason") or ""),
                        statement=str(data.get("explanation") or ""),
                        photos=list(data.get("photo_urls") or []),
                    )
            except MarketplaceError as exc:
                if exc.status == 409 and self._decided(data):
                    run.log(item.key, f"claim {data['remote_id']} was {data['status']} already")
                    run.succeed(item)
                    continue
                self._refused(item, exc, run)
                continue
            run.log(item.key, f"claim {data['remote_id']} {data['status']} on Hepsiburada")
            run.succeed(item)


class CancelLines(_Sink):
    """``hepsiburada.cancel_lines`` (Send Cancel Order Items): each line cancelled by the
    seller is cancelled on Hepsiburada with the channel's Send Cancellation Reason ID
    (80 WrongPrice, 83 MerchantCanNotBeSupplied).  Past Hepsiburada's daily limit (406)
    the run stops and the rest waits for the next run (no penalty)."""

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(ctx)
        self._merchant_cancelled: set[str] | None = None
        raw = ctx.config.get("send_cancellation_reason_id")
        self.reason = int(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None

    def payload(self, item: Item) -> Any:
        return {"lineItemId": item.data["item_remote_id"], "reasonId": self.reason}

    def _cancelled(self) -> set[str]:
        """Lines Hepsiburada lists as cancelled by the merchant (read once per run, on the
        first refusal: a cancellation whose answer was lost)."""
        if self._merchant_cancelled is None:
            self._merchant_cancelled = {
                str(line.get("lineItemId"))
                for line in self.ctx.client().cancelled_lines()
                if line.get("cancelledBy") == "Merchant"
            }
        return self._merchant_cancelled

    def send(self, items: list[Item], run: RunHandle) -> None:
        for item in items:
            if self.reason is None:
                run.fail(
                    item,
                    "send_cancellation_reason_id is not set: set it to 80 (WrongPrice) or 83 "
                    "(MerchantCanNotBeSupplied) with pazar channel set SLUG "
                    "send_cancellation_reason_id=83",
                    "mapping",
                )
                continue
            try:
                self.ctx.client().cancel_line(item.data["item_remote_id"], self.reason)
            except MarketplaceError as exc:
                if exc.status == 406:  # throttling, not the record's fault
                    raise self.ctx.client().error(
                        f"daily cancel limit reached: {exc.remote_message or exc.message}",
                        kind="rate_limited",
                        status=406,
                    ) from None
                if exc.status == 409 and item.data["item_remote_id"] in self._cancelled():
                    run.log(item.key, "Hepsiburada has this line cancelled by the merchant already")
                    run.succeed(item)
                    continue
                self._refused(item, exc, run)
                continue
            label = api.CANCEL_REASONS.get(self.reason, str(self.reason))
            run.log(item.key, f"line cancelled on Hepsiburada ({self.reason} {label})")
            run.succeed(item)


def _orders_for(ctx: StepContext, item: Item, run: RunHandle) -> list[dict[str, Any]] | None:
    """The live local orders (packages) the trigger's order number names, or None (failed)."""
    number = str(item.data.get("order_number") or "")
    orders = [o for o in ctx.reads.orders([number]) if o["status"] != "cancelled"]
    if not orders:
        run.fail(item, f"order {number} is not imported on this channel", "local")
        return None
    return orders


class WarehouseRequests:
    """``hepsiburada.warehouse_requests`` (Update Warehouse): the OMS's ``stock_location.
    erp_code`` through the channel's Shipping Address Label Mapping, for every package of
    the order."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        mapping = ctx.config.get("shipping_address_label_mapping") or {}
        self.mapping = {str(k): str(v) for k, v in mapping.items()}
        self.folded = {str(k).casefold(): str(v) for k, v in mapping.items()}

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        for item in items:
            code = str((item.data.get("stock_location") or {}).get("erp_code") or "")
            label = self.mapping.get(code) or self.folded.get(code.casefold())
            if not label:
                known = ", ".join(sorted(self.mapping)) or "none"
                run.fail(
                    item,
                    f"no shipping_address_label_mapping entry for erp_code {code!r} (known: "
                    f"{known}); add one with pazar channel set SLUG "
                    f"'shipping_address_label_mapping.{code or 'CODE'}=LABEL'",
                    "mapping",
                )
                continue
            orders = _orders_for(self.ctx, item, run)
            if orders is None:
                continue
            item.data = {
                "order_number": item.data["order_number"],
                "erp_code": code,
                "label": label,
                "packages": [o["package_id"] for o in orders],
            }
            out.append(item)
        return out


class WarehouseUpdates(_Sink):
    """``hepsiburada.warehouse_updates``: PUT each package's warehouse label."""

    def send(self, items: list[Item], run: RunHandle) -> None:
        client = self.ctx.client()
        for item in items:
            try:
                for package in item.data["packages"]:
                    client.set_warehouse(package, item.data["label"])
            except MarketplaceError as exc:
                self._refused(item, exc, run)
                continue
            run.log(
                item.key,
                f"warehouse {item.data['label']} (erp_code {item.data['erp_code']}) set on "
                f"package {', '.join(item.data['packages'])}",
            )
            run.succeed(item)


class SplitPackages:
    """``hepsiburada.split_packages`` (Split Packages): the OMS's split of an order's package
    is made on Hepsiburada, then the new packages and their lines are read back so the
    local order can follow them (``commerce.split_orders``).  A split that happened
    already (a re-run after a crash) is recognised by its lines and not made twice.
    The request is read against the order with the door's ``split_plan``, as Fashfed
    reads it; the order is found first with ``_orders_for`` (Hepsiburada's messages)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        for item in items:
            orders = _orders_for(self.ctx, item, run)
            if orders is None:
                continue
            if len(orders) > 1:
                names = ", ".join(o["number"] for o in orders)
                run.fail(item, f"order {item.key} is {len(orders)} packages: name one ({names})")
                continue
            try:
                plan = split_plan(orders, item.data)
            except SplitRefused as exc:
                run.fail(item, exc.message, "local")
                continue
            order = plan.order
            groups = [
                [{"orderLineId": line["remote_id"], "quantity": line["quantity"]} for line in group]
                for group in plan.groups
            ]
            if self.ctx.dry_run:
                item.data = {"package": order["package_id"], "split": groups}
                out.append(item)
                continue
            try:
                made = self._split(order, groups)
            except MarketplaceError as exc:
                if not exc.record_fault:
                    raise
                run.fail(item, exc.remote_message or exc.message, "remote")
                continue
            item.data = plan.record(made)
            out.append(item)
        return out

    def _split(self, order: Mapping[str, Any], groups: list[list[dict[str, Any]]]) -> list[Any]:
        client = self.ctx.client()
        lines = {line["orderLineId"] for g in groups for line in g} | {
            i["remote_id"] for i in order["items"] if i["status"] != "cancelled"
        }
        before = self._packages_of(lines, exclude=order["package_id"])
        if not before:
            client.split(order["package_id"], groups)
        return self._packages_of(lines, exclude=order["package_id"])

    def _packages_of(self, lines: set[str], *, exclude: str) -> list[dict[str, Any]]:
        """The packages (other than ``exclude``) holding these lines, newest first read."""
        now = self.ctx.clock.now()
        found: dict[str, list[str]] = {}
        for package in self.ctx.client().packages(
            begin=now - timedelta(hours=api.PACKAGES_MAX_WINDOW_HOURS, minutes=-1),
            end=now + timedelta(minutes=1),
        ):
            number = str(package.get("packageNumber"))
            mine = [str(i.get("lineItemId")) for i in package.get("items") or []]
            if number != exclude and set(mine) & lines:
                found[number] = [x for x in mine if x in lines]
        return [{"package_id": n, "item_remote_ids": ids} for n, ids in found.items()]


def _sink(name: str, factory: Any, what: str, description: str) -> StepType:
    return StepType(
        name=name,
        kind="sink",
        factory=factory,
        params_schema=params_schema(batch_size=batch_size_param(what, default=50, maximum=500)),
        description=description,
    )


STEP_TYPES = [
    _sink(
        "hepsiburada.order_updates",
        OrderUpdates,
        "Orders per batch.",
        "Send order statuses ahead of what Hepsiburada holds (in transit with tracking when "
        "send_shipping_info, delivered, undelivered).",
    ),
    _sink(
        "hepsiburada.invoice_links",
        InvoiceLinks,
        "Orders per batch.",
        "Send each order's invoice link to its package, once.",
    ),
    _sink(
        "hepsiburada.claim_decisions",
        ClaimDecisions,
        "Decisions per batch.",
        "Accept or reject claims as decided in the commerce backend (reason, statement, photos).",
    ),
    _sink(
        "hepsiburada.cancel_lines",
        CancelLines,
        "Lines per batch.",
        "Cancel the seller's cancelled lines on Hepsiburada with send_cancellation_reason_id.",
    ),
    _sink(
        "hepsiburada.warehouse_updates",
        WarehouseUpdates,
        "Requests per batch.",
        "Set the warehouse (shipping address label) of an order's packages.",
    ),
    StepType(
        name="hepsiburada.warehouse_requests",
        kind="step",
        factory=WarehouseRequests,
        params_schema=params_schema(),
        description="An OMS warehouse update (order_number, stock_location.erp_code) as the "
        "packages and label to send (shipping_address_label_mapping).",
    ),
    StepType(
        name="hepsiburada.split_packages",
        kind="step",
        factory=SplitPackages,
        params_schema=params_schema(),
        description="Split an order's package on Hepsiburada as an OMS asks, then read the "
        "new packages back for commerce.split_orders.",
    ),
]
