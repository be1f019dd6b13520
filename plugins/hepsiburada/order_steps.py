"""Hepsiburada's order side as flow steps: packages in, the backend's orders out; cancelled
lines in, cancelled order items out.

``get_orders`` (seed section 9) reads the packages of the last 12 hours on every run.
The windows overlap on purpose — a run that was late, failed or was killed loses
nothing — so the source drops packages already imported before they become items
(one query per page), and an idle run reads nothing.

A package that cannot become an order (a broken package, an unmapped cargo company or
place) is penalised by its package number (``Item.by_key``) like any record: held back
while its penalty waits, listed by ``pazar penalties list``, retried when released, even
once it has left the 12-hour window (the penalty keeps the package as read).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
from pazar_hepsiburada import api
from pazar_hepsiburada.orders import (
    DEFAULT_ORDER_NUMBER_FORMAT,
    PackageProblem,
    feed_moment,
    orders_from_package,
)

PAGE = 100  # packages checked against the stored orders per query


def _keys(package: Any) -> list[tuple[str, str]]:
    """(order number, package number) of every order in a package, as stored locally."""
    if not isinstance(package, Mapping) or not isinstance(package.get("items"), list):
        return []
    number = str(package.get("packageNumber") or "")
    orders = {str(i.get("orderNumber")) for i in package["items"] if isinstance(i, Mapping)} - {
        "",
        "None",
    }
    return [(o, number) for o in sorted(orders)]


class Packages:
    """``hepsiburada.packages``: packages created in the last ``hours`` not imported yet.

    With the channel's Automatic Packing on, paid lines Hepsiburada has not
    packaged yet are packaged first, one package per order (with the Store
    Account Cargo Company when set), so they are read in the same run.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.hours = int(ctx.params.get("hours", api.GET_ORDERS_WINDOW_HOURS))

    def _log(self, key: str | None, message: str, level: str = "info") -> None:
        if self.ctx.run is not None:
            self.ctx.run.log(key, message, level)

    def pack_open_lines(self) -> None:
        client = self.ctx.client()
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for line in client.order_lines():
            if line.get("canCreatePackage") is False or not line.get("id"):
                continue
            groups.setdefault(str(line.get("orderNumber")), []).append(line)
        if self.ctx.dry_run:
            if groups:
                self._log(None, f"dry run: would package {len(groups)} orders")
            return
        carrier = str(self.ctx.config.get("store_account_cargo_company") or "") or None
        for order_number, lines in groups.items():
            try:
                made = client.create_package(
                    [{"id": x["id"], "quantity": x.get("quantity", 1)} for x in lines],
                    cargo_company=carrier,
                )
            except MarketplaceError as exc:
                if exc.transient:
                    raise  # an outage: the run fails and the next one packs these
                self._log(order_number, f"automatic packing failed: {exc.message}", "warning")
                continue
            self._log(order_number, f"packaged as {made.get('packageNumber')}")

    def __iter__(self) -> Iterator[Item]:
        ctx = self.ctx
        if ctx.config.get("automatic_packing"):
            self.pack_open_lines()
        now = ctx.clock.now()
        # OMS dates stop at the minute: the end is the next minute so this one is included;
        # the window is ``hours`` long in all (24, the most Hepsiburada lists, is allowed).
        end = now + timedelta(minutes=1)
        packages = ctx.client().packages(begin=end - timedelta(hours=self.hours), end=end)
        wanted = set(ctx.keys or ())
        chosen = (p for p in packages if not wanted or str(p.get("packageNumber")) in wanted)
        seen: set[str] = set()
        for page in chunked(chosen, PAGE):
            for item in self._new(page):
                seen.add(item.key)
                yield item
        # Released (or due) penalties of packages the window no longer lists.
        for key, package in ctx.reads.due_records(self.content_type):
            if key not in seen and (not wanted or key in wanted):
                yield from self._new([package], held=False)

    @property
    def content_type(self) -> str:
        return str(self.ctx.flow.content_type or "order")

    def _new(self, page: list[Any], *, held: bool = True) -> Iterator[Item]:
        keys = [key for package in page for key in _keys(package)]
        stored = self.ctx.reads.stored_orders(keys)
        numbers = [str(p.get("packageNumber") or "?") for p in page if isinstance(p, Mapping)]
        waiting = self.ctx.reads.held_back(numbers, self.content_type) if held else set()
        for package in page:
            mine = _keys(package)
            if mine and all(key in stored for key in mine):
                continue
            number = (
                str(package.get("packageNumber") or "?") if isinstance(package, Mapping) else "?"
            )
            if number in waiting:
                continue  # penalised: its retry is not due (pazar penalties list)
            yield Item(key=number, data=package, record=package, by_key=True)


class PackageOrders:
    """``hepsiburada.package_orders``: each package item becomes its orders' items.

    A package that cannot become an order fails with the reason (a broken
    package from Hepsiburada: ``remote``; a missing cargo company mapping:
    ``mapping``), penalised by its package number.  The orders keep the package's
    number as their key, so the backend's refusal (an unknown place) is a penalty on
    the package too.  With Use Cargo Label, each package's shared cargo label is
    fetched in the Check Hepsijet Format Type format and kept on its orders.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        source = str(ctx.config.get("order_number_format") or "") or DEFAULT_ORDER_NUMBER_FORMAT
        self.number_format = ctx.templates.format(source, "config.order_number_format").render
        self.label_format = (
            str(ctx.config.get("check_hepsijet_format_type") or "").lower()
            or api.DEFAULT_LABEL_FORMAT
        )

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out: list[Item] = []
        for item in items:
            try:
                orders = orders_from_package(item.data, self.ctx.config, self.number_format)
            except PackageProblem as exc:
                run.fail(item, exc.message, exc.reason)  # type: ignore[arg-type]
                continue
            label = self._label(item.key, run) if self.ctx.config.get("use_cargo_label") else None
            for order in orders:
                if label is not None:
                    order["extra"] = {**order["extra"], "cargo_label": label}
                out.append(Item(key=item.key, data=order, record=item.record, by_key=True))
        return out

    def _label(self, number: str, run: RunHandle) -> dict[str, Any] | None:
        """The package's cargo label, or None (logged) when Hepsiburada has none for it."""
        if self.ctx.dry_run:
            return None
        try:
            label = self.ctx.client().label(number, self.label_format)
        except MarketplaceError as exc:
            if exc.transient:
                raise
            run.log(number, f"no cargo label: {exc.remote_message or exc.message}", "warning")
            return None
        return {"format": label.get("format") or self.label_format, "data": list(label["data"])}


class CancelledLines:
    """``hepsiburada.cancelled_lines``: lines cancelled in the last ``hours``, not stored yet.

    Hepsiburada lists a month of cancellations and refuses date filters on this path
    (``api.CANCELLED_LINES_PATH``), so the window is applied to ``cancelDate`` here and
    cancellations already stored are dropped before they become items.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.hours = int(ctx.params.get("hours", api.GET_CANCEL_ORDERS_WINDOW_HOURS))

    def __iter__(self) -> Iterator[Item]:
        since = self.ctx.clock.now() - timedelta(hours=self.hours)
        recent = (
            line
            for line in self.ctx.client().cancelled_lines()
            if (when := feed_moment(line.get("cancelDate"))) is None or when >= since
        )
        for page in chunked(recent, PAGE):
            yield from self._new(page)

    def _new(self, page: list[Mapping[str, Any]]) -> Iterator[Item]:
        ids = [str(line.get("lineItemId") or "") for line in page]
        stored = self.ctx.reads.stored_cancellations(ids)
        for line, line_id in zip(page, ids, strict=True):
            if line_id not in stored:
                yield Item(key=f"{line.get('orderNumber')}/{line_id}", data=dict(line))


class LineCancellations:
    """``hepsiburada.line_cancellations``: a cancelled line as a cancellation to store.

    The local reason is ``cancellation_reason_mapping[cancelReasonCode]``, else the
    channel's ``cancellation_reason_id`` (seed section 2).
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        mapping = ctx.config.get("cancellation_reason_mapping") or {}
        self.mapping = {str(k).casefold(): v for k, v in mapping.items()}
        self.default = ctx.config.get("cancellation_reason_id")

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        out: list[Item] = []
        for item in items:
            line = item.data
            missing = [k for k in ("orderNumber", "lineItemId") if not line.get(k)]
            if missing:
                run.fail(item, f"cancelled line has no {', '.join(missing)}", "remote")
                continue
            code = str(line.get("cancelReasonCode") or "")
            reason = self.mapping.get(code.casefold(), self.default)
            if reason in (None, ""):
                run.fail(
                    item,
                    f"no cancellation_reason_mapping entry for {code!r} and no "
                    "cancellation_reason_id: set one with pazar channel set SLUG "
                    "cancellation_reason_id=ID",
                    "mapping",
                )
                continue
            item.data = {
                "remote_number": str(line["orderNumber"]),
                "item_remote_id": str(line["lineItemId"]),
                "remote_id": str(line["lineItemId"]),
                "reason_id": int(reason),
                "remote_reason": code or None,
                "cancelled_by": line.get("cancelledBy"),
            }
            out.append(item)
        return out


STEP_TYPES = [
    StepType(
        name="hepsiburada.packages",
        kind="source",
        factory=Packages,
        params_schema=params_schema(
            hours={
                "type": "integer",
                "minimum": 1,
                "maximum": api.PACKAGES_MAX_WINDOW_HOURS,
                "default": api.GET_ORDERS_WINDOW_HOURS,
                "description": "How far back each run reads packages (Hepsiburada "
                f"lists at most {api.PACKAGES_MAX_WINDOW_HOURS} hours at once).",
            }
        ),
        description="Hepsiburada packages of the last hours not imported yet (automatic "
        "packing first when the channel asks for it).",
    ),
    StepType(
        name="hepsiburada.cancelled_lines",
        kind="source",
        factory=CancelledLines,
        params_schema=params_schema(
            hours={
                "type": "integer",
                "minimum": 1,
                "maximum": 24 * 30,
                "default": api.GET_CANCEL_ORDERS_WINDOW_HOURS,
                "description": "How far back each run looks at cancellations (Hepsiburada "
                "keeps a month).",
            }
        ),
        description="Order lines cancelled on Hepsiburada in the last hours, not stored yet.",
    ),
    StepType(
        name="hepsiburada.line_cancellations",
        kind="step",
        factory=LineCancellations,
        params_schema=params_schema(),
        description="Turn cancelled lines into cancellations for commerce.cancel_items "
        "(cancellation_reason_mapping, else cancellation_reason_id).",
    ),
    StepType(
        name="hepsiburada.package_orders",
        kind="step",
        factory=PackageOrders,
        params_schema=params_schema(),
        description="Turn Hepsiburada packages into orders for commerce.create_orders "
        "(order number format, cargo company mapping, tracking number, addresses).",
    ),
]
