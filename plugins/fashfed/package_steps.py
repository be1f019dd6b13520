"""Fashfed packages after import: Order Update (status, invoice, tracking and waybill out),
Updated Orders (Shipped and Delivered packages in, when Fashfed ships) and Split Packages
(an OMS's split made on Fashfed).

The records come from the engine's sources (``commerce.changed_orders``,
``commerce.trigger_payload``) and go to its sinks (``commerce.update_order_statuses``,
``commerce.split_orders``); these steps hold what is Fashfed's: its calls
(``api.PACKAGE_STATUS_PATH``, ``api.PACKAGE_SPLIT_PATH``, assumed) and the seed's rules for
Send Shipping Info and Waybill Option.  Fashfed refusing one package (4xx) fails that
record; an outage fails the run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
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
from pazar_fashfed import api
from pazar_fashfed.order_steps import window_param
from pazar_fashfed.orders import NotAnOrder, cargo_company_id, fashfed_ships

RANK = {name: n for n, name in enumerate(api.UPDATE_STATUSES)}
ENDED = ("cancelled", "refunded")


def _refused(exc: MarketplaceError, item: Item, run: RunHandle) -> None:
    """A record Fashfed refused is a penalty with its words; anything else fails the run."""
    if not exc.record_fault:
        raise exc
    run.fail(item, exc.remote_message or exc.message, "remote")


# -- Order Update ----------------------------------------------------------------------------
def _i2_date(value: object) -> object:
    """A stored date as the i2 API writes dates (UTC, ``Z``); a value that is no date is
    passed on for Fashfed to refuse, failing that record only."""
    if not value:
        return value
    try:
        return api.iso(parse_instant(str(value)))
    except ValueError:
        return value


class PackageUpdates:
    """``fashfed.package_updates``: what to tell Fashfed of each changed order.

    ``data`` becomes ``{package, status, body}``.  A local status ahead of what Fashfed
    holds (Preparing, Shipped, Delivered; never backwards, and never Fashfed's own status
    echoed back) is sent with the order's fields: the invoice (number, date, e-archive
    URL), the tracking (number, URL, shipped date) only with Send Shipping Info, and with
    Waybill Option enabled a Shipped or Delivered package's waybill number (the invoice
    number, else the option's default).  Without a new status, the fields go out (with the
    status Fashfed holds) only when they differ from the ones last sent.  An order Fashfed
    need not hear of gets ``body`` None and a ``why``.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        config = ctx.config
        self.shipping_info = not fashfed_ships(config)
        waybill = config.get("waybill_option") or {}
        self.waybill = bool(waybill.get("enabled"))
        self.waybill_default = str(waybill.get("default") or "")
        self.url_of = ctx.templates.expression(
            "{{ number | tracking_url(provider, providers) }}", "cargo_companies.tracking_url"
        )

    def tracking_url(self, data: Mapping[str, Any]) -> str | None:
        if data.get("tracking_url"):
            return str(data["tracking_url"])
        template = data.get("cargo_tracking_url")
        if not template or not data.get("tracking_number"):
            return None
        provider = str(data.get("cargo_company") or "carrier")
        return self.url_of.render(
            {
                "number": data["tracking_number"],
                "provider": provider,
                "providers": {provider: {"tracking_url": template}},
            }
        )

    def fields(self, data: Mapping[str, Any], status: str) -> dict[str, Any]:
        """The invoice, tracking and waybill fields of an order Fashfed holds at ``status``."""
        invoice = {
            "invoice_number": data.get("invoice_number"),
            "invoice_date": _i2_date(data.get("invoice_date")),
            "e_archive_url": data.get("invoice_url"),
        }
        out: dict[str, Any] = {k: v for k, v in invoice.items() if v}
        if self.shipping_info and RANK[status] >= RANK["shipped"]:
            if data.get("tracking_number"):
                out["tracking_number"] = data["tracking_number"]
                url = self.tracking_url(data)
                if url:
                    out["tracking_url"] = url
            shipped = data.get("shipped_at") or data.get("updated_at")
            if shipped:
                out["shipped_date"] = api.iso(parse_instant(str(shipped)))
        if self.waybill and status in api.WAYBILL_STATUSES:
            waybill = data.get("invoice_number") or self.waybill_default
            if waybill:
                out[api.WAYBILL_FIELD] = str(waybill)
        return out

    def update(self, item: Item) -> dict[str, Any]:
        data = item.data
        local, known = data.get("status"), data.get("known_status")
        new = local if data.get("status_ahead") and local in RANK else None
        held = new or (known if known in RANK else None)
        out: dict[str, Any] = {"package": data["package_id"], "status": held, "body": None}
        if local in ENDED:
            out["why"] = f"the order is {local}: nothing to tell Fashfed"
            return out
        if held is None:
            out["why"] = "not reported to the ERP yet (status new): nothing to send"
            return out
        fields = self.fields(data, held)
        # The fields' own hash: a status Fashfed reported itself is not a reason to call.
        item.payload_hash = _digest({"package": data["package_id"], **fields})
        if new is None and (not fields or item.payload_hash == item.last_payload_hash):
            out["why"] = f"Fashfed holds {held} and these details already: nothing new"
            return out
        out["body"] = {"status": api.PACKAGE_STATUS[held], **fields}
        return out

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        for item in items:
            known = item.data.get("known_status")
            try:
                update = self.update(item)
            except PazarError as exc:  # a tracking URL its cargo company cannot make
                run.fail(item, exc.message, "mapping")
                continue
            item.meta["known_status"] = known
            item.data = update
            out.append(item)
        return out


def _digest(value: Mapping[str, Any]) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PackageStatus:
    """``fashfed.package_status``: send each body (``POST packages/{number}/status/``);
    the status sent is what Fashfed holds afterwards (``item.state``)."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]

    def send(self, items: list[Item], run: RunHandle) -> None:
        client = self.ctx.client()
        for item in items:
            package, body = item.data["package"], item.data["body"]
            if body is None:
                run.log(item.key, item.data.get("why") or "nothing to send")
                item.state = item.meta.get("known_status")
                run.succeed(item)
                continue
            try:
                client.update_package(package, body)
            except MarketplaceError as exc:
                _refused(exc, item, run)
                continue
            sent = ", ".join(k for k in body if k != "status")
            run.log(
                item.key,
                f"package {package}: {item.data['status']}" + (f" with {sent}" if sent else ""),
            )
            item.state = item.data["status"]
            run.succeed(item, remote_id=str(package))


# -- Updated Orders --------------------------------------------------------------------------
class MovedPackages:
    """``fashfed.moved_packages``: packages Fashfed moved to Shipped or Delivered in the last
    ``hours``, when Fashfed manages shipping (Send Shipping Info off); with the brand
    shipping, the statuses are the seller's own and nothing is read."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.hours = int(ctx.params.get("hours", api.GET_UPDATED_ORDERS_WINDOW_HOURS))

    def __iter__(self) -> Iterator[Item]:
        ctx = self.ctx
        if not fashfed_ships(ctx.config):
            if ctx.run is not None:
                ctx.run.log(
                    None,
                    "send_shipping_info is on: the brand ships, so Fashfed has no shipping "
                    "statuses to report; nothing read",
                    "warning",
                )
            return
        since = ctx.clock.now() - timedelta(hours=self.hours)
        wanted = set(ctx.keys or ())
        for name in api.WAYBILL_STATUSES:  # shipped, delivered
            for package in ctx.client().packages(status=api.PACKAGE_STATUS[name], since=since):
                number = str(package.get("number") or "")
                if number and (not wanted or number in wanted):
                    yield Item(key=number, data={**dict(package), "moved_to": name})


class PackageMoves:
    """``fashfed.package_moves``: a moved package as ``commerce.update_order_statuses``
    takes it: status, and for Shipped the tracking number and the carrier through Cargo
    Company Mapping."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        for item in items:
            package, status = item.data, item.data["moved_to"]
            update: dict[str, Any] = {"package_id": item.key, "status": status}
            if status == "shipped":
                company = package.get("shipping_company")
                slug = str(company.get("slug") or "") if isinstance(company, Mapping) else ""
                try:
                    update["cargo_company_id"] = cargo_company_id(self.ctx.config, slug)
                except NotAnOrder as exc:
                    run.fail(item, exc.message, "mapping")
                    continue
                if package.get("tracking_number"):
                    update["tracking_number"] = str(package["tracking_number"])
            item.data = update
            out.append(item)
        return out


# -- Split Packages --------------------------------------------------------------------------
class SplitPackages:
    """``fashfed.split_packages``: the OMS's split of an order's package made on Fashfed
    (the package keeps the first group; the other groups and the lines no group names
    become new packages), then the packages it became handed to ``commerce.split_orders``.
    A split already made (the answer lost to a crash) is recognised: the package no longer
    holds every line, and where the lines are now is read back instead."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out = []
        for item in items:
            number = str(item.data.get("order_number") or "")
            try:
                plan = split_plan(self.ctx.reads.orders([number]), item.data)
            except SplitRefused as exc:
                run.fail(item, exc.message, "local")
                continue
            order = plan.order
            groups = [[str(line["remote_id"]) for line in group] for group in plan.groups]
            lines = {str(x["remote_id"]) for x in [*sum(plan.groups, []), *plan.rest]}
            if self.ctx.dry_run:  # what would be asked of Fashfed, nothing made
                item.data = {"package": order["package_id"], "split": groups}
                out.append(item)
                continue
            try:
                made = self._split(order, groups, lines)
            except MarketplaceError as exc:
                _refused(exc, item, run)
                continue
            item.data = plan.record(made)
            out.append(item)
        return out

    def _split(
        self, order: Mapping[str, Any], groups: list[list[str]], lines: set[str]
    ) -> list[dict[str, Any]]:
        client = self.ctx.client()
        current = client.package(order["package_id"])
        held = {str(i.get("id")) for i in (current or {}).get("items") or []}
        if current is not None and lines <= held:
            rows = client.split_package(order["package_id"], groups)
        else:
            since = self.ctx.clock.now() - timedelta(hours=api.GET_UPDATED_ORDERS_WINDOW_HOURS)
            rows = [
                p
                for p in client.packages_updated(since=since)
                if {str(i.get("id")) for i in p.get("items") or []} & lines
            ]
            rows.sort(key=lambda p: str(p.get("number")) != order["package_id"])
        return [
            {
                "package_id": str(p.get("number")),
                "item_remote_ids": [
                    str(i.get("id")) for i in p.get("items") or [] if str(i.get("id")) in lines
                ],
            }
            for p in rows
        ]


STEP_TYPES = [
    StepType(
        name="fashfed.package_updates",
        kind="step",
        factory=PackageUpdates,
        params_schema=params_schema(),
        description="Changed orders as Fashfed package updates (status never backwards, "
        "invoice, tracking with send_shipping_info, waybill_option).",
    ),
    StepType(
        name="fashfed.package_status",
        kind="sink",
        factory=PackageStatus,
        params_schema=params_schema(
            batch_size=batch_size_param("Packages per batch.", default=50, maximum=500)
        ),
        description="Send package status, invoice, tracking and waybill to Fashfed.",
    ),
    StepType(
        name="fashfed.moved_packages",
        kind="source",
        factory=MovedPackages,
        params_schema=window_param(
            "Shipped and Delivered packages", api.GET_UPDATED_ORDERS_WINDOW_HOURS
        ),
        description="Packages Fashfed moved to Shipped or Delivered in the last hours (when "
        "Fashfed ships).",
    ),
    StepType(
        name="fashfed.package_moves",
        kind="step",
        factory=PackageMoves,
        params_schema=params_schema(),
        description="Moved packages as statuses for commerce.update_order_statuses (tracking "
        "number and cargo company for Shipped).",
    ),
    StepType(
        name="fashfed.split_packages",
        kind="step",
        factory=SplitPackages,
        params_schema=params_schema(),
        description="Split an order's package on Fashfed as an OMS asks, for "
        "commerce.split_orders.",
    ),
]
