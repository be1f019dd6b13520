"""The sandbox's order side (OMS): orders' line items, packages, and how lines become packages.

Kept apart from the HTTP handlers in :mod:`pazar_hepsiburada.sandbox` so the lifecycle
(paid line → ``Open`` in ``/orders`` → packaged → listed in ``/packages``) reads in one place.
Every method runs under the sandbox's lock; dates are stored in UTC and compared at the
minute, the resolution of OMS's ``yyyy-MM-dd HH:mm`` query dates.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pazar.plugin import parse_instant
from pazar_hepsiburada import api
from pazar_hepsiburada.sandbox_fulfilment import Fulfilment

TURKEY = timedelta(hours=api.TURKEY_UTC_OFFSET_HOURS)


class OmsError(Exception):
    """A request the real OMS refuses: ``status`` and the message it answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_oms_date(raw: str | None, name: str) -> datetime | None:
    """An OMS query date (Turkey local time) as UTC; ``None`` when absent.

    ISO values are refused the way the sandbox's callers need to see it: the real service
    silently matches nothing, which is a worse surprise than a 400 in a test.
    """
    if not raw:
        return None
    try:
        local = datetime.strptime(raw, api.OMS_DATE_FORMAT)
    except ValueError:
        raise OmsError(400, f"{name} must look like yyyy-MM-dd HH:mm, got {raw!r}") from None
    return (local - TURKEY).replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse_iso(raw: Any) -> datetime | None:
    return parse_instant(raw) if raw else None


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _money(value: Any) -> dict[str, Any]:
    return {"amount": round(float(value), 2), "currency": "TRY"}


class OmsBook(Fulfilment):
    """Orders and packages of one merchant (their life after packing: :class:`Fulfilment`)."""

    def __init__(self, merchant_id: Callable[[], str], now: Callable[[], datetime]) -> None:
        self._merchant_id = merchant_id
        self._now = now
        self.lines: dict[str, dict[str, Any]] = {}  # lineItemId → line (status Open)
        self.packages: dict[str, dict[str, Any]] = {}  # packageNumber → package row
        self.packaged_at: dict[str, datetime] = {}
        self._window: tuple[Any, list[dict[str, Any]]] | None = None
        self.cancelled: list[dict[str, Any]] = []  # the /cancelled feed, oldest first
        self._counter = 0
        self.revision = 0  # bumped when a package leaves the list (cached windows)
        self.init_fulfilment()

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    # -- orders ------------------------------------------------------------------------------
    def add_orders(self, docs: Any, sku_of: Callable[[str], str]) -> dict[str, Any]:
        """Add paid orders (control seed or the SIT stub); all checked before any is added.

        An order: ``orderNumber``, optional ``orderDate`` (ISO), ``customer`` {id, name,
        email}, ``shippingAddress`` and ``invoice`` (the line representation's shapes),
        ``lines`` [{merchantSku, quantity, price, hbSku?, name?}], and ``packaged`` (true
        packs every line into one package at once, ``cargoCompany`` names its carrier and
        ``packagedAt`` (ISO) backdates it, for tests on an injected clock).
        """
        if not isinstance(docs, list) or not docs:
            raise OmsError(400, "orders must be a non-empty list")
        problems: list[str] = []
        for n, doc in enumerate(docs):
            if not isinstance(doc, Mapping) or not str(doc.get("orderNumber") or "").strip():
                problems.append(f"orders[{n}]: orderNumber is required")
                continue
            lines = doc.get("lines")
            if not isinstance(lines, list) or not lines:
                problems.append(f"orders[{n}]: lines must be a non-empty list")
                continue
            try:
                _parse_iso(doc.get("packagedAt"))
                _parse_iso(doc.get("orderDate"))
            except ValueError:
                problems.append(f"orders[{n}]: orderDate and packagedAt must be ISO dates")
            for m, line in enumerate(lines):
                if not isinstance(line, Mapping) or not line.get("merchantSku"):
                    problems.append(f"orders[{n}].lines[{m}]: merchantSku is required")
                elif not isinstance(line.get("quantity", 1), int) or line.get("quantity", 1) < 1:
                    problems.append(f"orders[{n}].lines[{m}]: quantity must be a positive integer")
        if problems:
            raise OmsError(400, "; ".join(problems[:5]))
        added, packages = 0, []
        for doc in docs:
            ids = [self._add_line(doc, line, sku_of) for line in doc["lines"]]
            added += 1
            if doc.get("packaged"):
                packages.append(
                    self.create_package(
                        [{"id": i, "quantity": self.lines[i]["quantity"]} for i in ids],
                        cargo_company=doc.get("cargoCompany"),
                        at=_parse_iso(doc.get("packagedAt")),
                    )["packageNumber"]
                )
        return {"orders": added, "packages": packages}

    def _add_line(
        self, doc: Mapping[str, Any], line: Mapping[str, Any], sku_of: Callable[[str], str]
    ) -> str:
        n = self._next()
        line_id = f"{n:08x}-0e1d-4a7c-9b00-{n:012x}"
        quantity = int(line.get("quantity", 1))
        price = float(line.get("price", 100))
        merchant_sku = str(line["merchantSku"])
        customer = dict(doc.get("customer") or {})
        order_date = str(doc.get("orderDate") or _iso(self._now()))
        self.lines[line_id] = {
            "id": line_id,
            "orderId": f"o-{doc['orderNumber']}",
            "orderNumber": str(doc["orderNumber"]),
            "orderDate": order_date,
            "sku": str(line.get("hbSku") or sku_of(merchant_sku)),
            "merchantSKU": merchant_sku,
            "merchantId": self._merchant_id(),
            "name": str(line.get("name") or merchant_sku),
            "quantity": quantity,
            "status": "Open",
            "unitPrice": _money(price),
            "totalPrice": _money(price * quantity),
            "vat": round(price * quantity * 0.2 / 1.2, 2),
            "vatRate": 20,
            "commission": _money(price * quantity * 0.1),
            "commissionRate": 10,
            "cargoCompany": str(doc.get("cargoCompany") or "HepsiJet"),
            "shippingAddress": copy.deepcopy(dict(doc.get("shippingAddress") or {})),
            "invoice": copy.deepcopy(dict(doc.get("invoice") or {})),
            "customerName": str(customer.get("name") or ""),
            "customer": customer,
            "deliveryType": "StandardDelivery",
            "isCancellable": True,
            "canCreatePackage": True,
            "creationReason": "OrderCreated",
            "packageNumber": None,
            "properties": [],
        }
        return line_id

    def open_lines(self, begin: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        rows = []
        for line in self.lines.values():
            if line["status"] not in ("Open", "Unpacked"):
                continue
            placed = _minute(_parse_iso(line["orderDate"]) or self._now())
            if (begin and placed < begin) or (end and placed > end):
                continue
            rows.append(line)
        return rows  # the caller copies the page it answers with (``line_view``)

    def cancel(self, docs: Any) -> dict[str, int]:
        """Cancel lines (control): ``[{lineItemId, reason?, by?, cancelledAt?}]``, all or none.

        A cancelled line leaves ``/orders`` (its package stays as it was listed) and joins
        the ``/cancelled`` feed, as when a customer or the merchant cancels it.
        """
        if not isinstance(docs, list) or not docs:
            raise OmsError(400, "cancellations must be a non-empty list")
        for n, doc in enumerate(docs):
            line = self.lines.get(str(doc.get("lineItemId"))) if isinstance(doc, Mapping) else None
            if line is None:
                raise OmsError(404, f"cancellations[{n}]: no line item {doc!r}")
            if line["status"].startswith("Cancelled"):
                raise OmsError(409, f"cancellations[{n}]: line item {line['id']} is cancelled")
            if (doc.get("by") or "Customer") not in ("Customer", "Merchant"):
                raise OmsError(400, f"cancellations[{n}]: by must be Customer or Merchant")
            try:
                _parse_iso(doc.get("cancelledAt"))
            except ValueError:
                raise OmsError(
                    400, f"cancellations[{n}]: cancelledAt must be an ISO date"
                ) from None
        for doc in docs:
            line = self.lines[str(doc["lineItemId"])]
            by = str(doc.get("by") or "Customer")
            line["status"] = f"CancelledBy{by}"
            self.cancelled.append(
                {
                    "cancelDate": _iso(_parse_iso(doc.get("cancelledAt")) or self._now()),
                    "cancelReasonCode": str(doc.get("reason") or "CustomerCancelled"),
                    "cancelledBy": by,
                    "lineItemId": line["id"],
                    "merchantId": self._merchant_id(),
                    "merchantSku": line["merchantSKU"],
                    "orderNumber": line["orderNumber"],
                    "quantity": line["quantity"],
                    "sku": line["sku"],
                }
            )
        return {"cancelled": len(docs)}

    # -- packages ----------------------------------------------------------------------------
    def create_package(
        self, requests: Any, *, cargo_company: Any = None, at: datetime | None = None
    ) -> dict[str, str]:
        """Pack Open lines (``[{id, quantity}]``) into one package; all or nothing."""
        if not isinstance(requests, list) or not requests:
            raise OmsError(400, "lineItemRequests must be a non-empty list")
        picked = []
        for req in requests:
            line = self.lines.get(str(req.get("id") if isinstance(req, Mapping) else req))
            if line is None:
                raise OmsError(404, f"line item {req!r} not found")
            if line["status"] not in ("Open", "Unpacked"):
                raise OmsError(409, f"line item {line['id']} is {line['status']}, not Open")
            if int(req.get("quantity", line["quantity"])) != line["quantity"]:
                raise OmsError(400, f"line item {line['id']}: partial packaging is not supported")
            picked.append(line)
        n = self._next()
        number = f"{4_000_000_000 + n}"
        barcode = f"HBP{n:010d}"
        carrier = str(cargo_company or picked[0]["cargoCompany"])
        now = at or self._now()
        for line in picked:
            line["status"] = "Packaged"
            line["packageNumber"] = number
        first = picked[0]
        self.packages[number] = {
            "id": f"{n:08x}-9ac4-4f1e-8d00-{n:012x}",
            "packageNumber": number,
            "barcode": barcode,
            "status": "Packaged",
            "cargoCompany": carrier,
            "isCargoChangable": True,
            "orderDate": first["orderDate"],
            "dueDate": _iso(now + timedelta(days=2)),
            "customerName": first["customerName"],
            "recipientName": first["shippingAddress"].get("name") or first["customerName"],
            "shippingAddress": {
                "email": first["customer"].get("email"),
                **copy.deepcopy(first["shippingAddress"]),
            },
            "invoice": copy.deepcopy(first["invoice"]),
            "totalPrice": _money(sum(line["totalPrice"]["amount"] for line in picked)),
            "items": [
                {
                    "lineItemId": line["id"],
                    "listingId": f"l-{line['merchantSKU']}",
                    "hbSku": line["sku"],
                    "merchantSku": line["merchantSKU"],
                    "quantity": line["quantity"],
                    "price": line["unitPrice"],
                    "totalPrice": line["totalPrice"],
                    "commission": line["commission"],
                    "vat": line["vat"],
                    "productName": line["name"],
                    "orderNumber": line["orderNumber"],
                }
                for line in picked
            ],
        }
        self.packaged_at[number] = now
        return {"packageNumber": number, "barcode": barcode}

    def packages_between(
        self, begin: datetime | None, end: datetime | None, hours_back: int | None
    ) -> list[dict[str, Any]]:
        if begin and end and end - begin > timedelta(hours=api.PACKAGES_MAX_WINDOW_HOURS):
            raise OmsError(
                400,
                f"begindate and enddate may be at most {api.PACKAGES_MAX_WINDOW_HOURS} hours apart",
            )
        if hours_back is not None:
            end, begin = None, _minute(self._now() - timedelta(hours=hours_back))
        # A client reads one window page by page: filter once per window, not per page.
        key = (begin, end, len(self.packages), self.revision)
        if self._window is not None and self._window[0] == key:
            return self._window[1]
        rows = []
        for number, package in self.packages.items():
            if package["status"] in ("Unpacked", "Split"):
                continue  # broken up: no longer a package to ship
            at = _minute(self.packaged_at[number])
            if (begin and at < begin) or (end and at > end):
                continue
            rows.append(package)
        self._window = (key, rows)
        return rows  # the caller copies the page it answers with


def line_view(line: Mapping[str, Any]) -> dict[str, Any]:
    """A stored line as ``/orders`` answers it (without the sandbox's own customer record)."""
    return {k: copy.deepcopy(v) for k, v in line.items() if k != "customer"}


def sit_order(doc: Any) -> dict[str, Any]:
    """The SIT stub's PascalCase test order in the shape :meth:`OmsBook.add_orders` takes."""
    if not isinstance(doc, Mapping):
        raise OmsError(400, "the test order must be a JSON object")
    customer = doc.get("Customer") or {}
    address = doc.get("DeliveryAddress") or {}
    lines = []
    for item in doc.get("LineItems") or []:
        if not isinstance(item, Mapping):
            raise OmsError(400, "LineItems must hold objects")
        price = item.get("Price") or {}
        lines.append(
            {
                "hbSku": item.get("Sku"),
                "merchantSku": item.get("MerchantSku") or item.get("Sku"),
                "quantity": item.get("Quantity", 1),
                "price": price.get("Amount", 0) if isinstance(price, Mapping) else price,
            }
        )
    return {
        "orderNumber": doc.get("OrderNumber"),
        "orderDate": doc.get("OrderDate"),
        "customer": {"id": customer.get("CustomerId"), "name": customer.get("Name")},
        "shippingAddress": {
            "name": address.get("Name") or customer.get("Name"),
            "address": address.get("Address"),
            "city": address.get("City"),
            "town": address.get("Town"),
            "district": address.get("District"),
            "phoneNumber": address.get("PhoneNumber"),
            "email": address.get("Email"),
        },
        "lines": lines,
    }
