"""The sandbox's packages after they are made: invoice, labels, the merchant's own shipping
steps, the carrier's (ship, deliver, fail to deliver), unpacking, splitting, warehouses
and cancelling lines by the merchant, with the feeds that report each.

``Packaged → InTransit → Delivered | Undelivered``; a ``Packaged`` package may be unpacked
(broken: its lines return to ``/orders`` as ``Unpacked``) or split (its lines go to new
packages).  Every state a real OMS refuses is refused here with its status code (404
unknown, 409 wrong state, 406 past the daily cancel limit, 400 bad body).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from pazar_hepsiburada import api


def _iso(moment: datetime) -> str:
    from pazar_hepsiburada.sandbox_oms import _iso as iso

    return iso(moment)


def _body_date(doc: Mapping[str, Any], key: str) -> str | None:
    """A date of a fulfilment body, refused (400) unless ISO 8601 with its zone, as the
    reference's example (``2020-05-10T11:30:30.230Z``).  CHOICE: the real API's exact
    rule is not published; a date without a zone is ambiguous (UTC? Turkey?), so the
    sandbox refuses it rather than guess."""
    value = doc.get(key)
    if value in (None, ""):
        return None
    try:
        zoned = datetime.fromisoformat(str(value)).tzinfo is not None
    except ValueError:
        zoned = False
    if not isinstance(value, str) or not zoned:
        raise _error(400, f"{key}: {value!r} is not an ISO 8601 date with a zone")
    return value


def _error(status: int, message: str) -> Exception:
    from pazar_hepsiburada.sandbox_oms import OmsError

    return OmsError(status, message)


class Fulfilment:
    """Package life after packing; mixed into :class:`~.sandbox_oms.OmsBook`."""

    lines: dict[str, dict[str, Any]]
    revision: int
    packages: dict[str, dict[str, Any]]
    packaged_at: dict[str, datetime]

    def _now(self) -> datetime:  # provided by OmsBook
        raise NotImplementedError

    def _merchant_id(self) -> str:  # provided by OmsBook
        raise NotImplementedError

    def init_fulfilment(self) -> None:
        self.feeds: dict[str, list[dict[str, Any]]] = {f: [] for f in api.PACKAGE_FEEDS}
        self.unpacked: list[dict[str, Any]] = []
        self.merchant_cancels: dict[str, int] = {}  # day → cancels by the merchant
        self.cancel_daily_limit = api.CANCEL_DAILY_LIMIT

    def package(self, number: str) -> dict[str, Any]:
        package = self.packages.get(str(number))
        if package is None:
            raise _error(404, f"cannot find package with package number {number}")
        return package

    def _expect(self, package: Mapping[str, Any], *states: str) -> None:
        if package["status"] not in states:
            raise _error(
                409,
                f"package {package['packageNumber']} is {package['status']}, "
                f"not {' or '.join(states)}",
            )

    def _lines_of(self, package: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [
            self.lines[i["lineItemId"]] for i in package["items"] if i["lineItemId"] in self.lines
        ]

    def _move(self, package: dict[str, Any], status: str) -> None:
        package["status"] = status
        for line in self._lines_of(package):
            if not line["status"].startswith("Cancelled"):
                line["status"] = status

    def _feed(self, name: str, package: Mapping[str, Any], **fields: Any) -> None:
        orders = sorted({i["orderNumber"] for i in package["items"]})
        self.feeds[name].append(
            {
                "Id": package["id"],
                "Barcode": package["barcode"],
                "MerchantId": self._merchant_id(),
                "OrderNumber": orders[0] if orders else None,
                "OrderNumbers": orders,
                "PackageNumber": package["packageNumber"],
                **fields,
            }
        )

    # -- the merchant ----------------------------------------------------------------------
    def info(self, number: str) -> dict[str, Any]:
        p = self.package(number)
        return {
            "packageNumber": p["packageNumber"],
            "barcode": p["barcode"],
            "status": p["status"],
            "cargoCompany": p["cargoCompany"],
            "deci": p.get("totalDeci", 1),
            "trackingInfoCode": p.get("trackingNumber"),
            "trackingInfoUrl": p.get("trackingUrl"),
        }

    def invoice(self, number: str, doc: Mapping[str, Any]) -> None:
        p = self.package(number)
        link = doc.get("invoiceLink")
        parsed = urlparse(str(link or ""))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise _error(400, "invoiceLink must be a link serving application/pdf or text/html")
        if p.get("invoiceLink"):
            raise _error(409, f"package {number} already has an invoice")
        p["invoiceLink"] = str(link)

    def labels(self, number: str, fmt: str | None) -> dict[str, Any]:
        p = self.package(number)
        chosen = (fmt or api.DEFAULT_LABEL_FORMAT).lower()
        if chosen not in api.LABEL_FORMATS:
            raise _error(400, f"format must be one of {', '.join(api.LABEL_FORMATS)}")
        if str(p["cargoCompany"]).casefold() not in api.MUTUAL_BARCODE_CARRIERS:
            raise _error(400, api.NO_MUTUAL_BARCODE)
        text = f"^XA^FD{p['barcode']} {p['cargoCompany']} {number}^FS^XZ"
        data = text if chosen == "zpl" else base64.b64encode(f"{chosen}:{text}".encode()).decode()
        return {"data": [data], "format": chosen, "hasMerchantMutualBarcode": True}

    def in_transit(self, number: str, doc: Mapping[str, Any], *, by_carrier: bool = False) -> None:
        p = self.package(number)
        self._expect(p, "Packaged")
        tracking = doc.get("trackingNumber")
        if not by_carrier and not isinstance(doc, Mapping):
            raise _error(400, "body must be an object")
        shipped = _body_date(doc, "shippedDate") or _iso(self._now())
        p["trackingNumber"] = str(tracking) if tracking else p["barcode"]
        p["trackingUrl"] = doc.get("trackingUrl")
        p["shippedBy"] = "carrier" if by_carrier else "merchant"
        self._move(p, "InTransit")
        self._feed("shipped", p, ShippedDate=shipped, Deci=p.get("totalDeci", 1), EtgbNo=None)

    def deliver(self, number: str, doc: Mapping[str, Any]) -> None:
        p = self.package(number)
        self._expect(p, "InTransit")
        received = _body_date(doc, "receivedDate") or _iso(self._now())
        p["receivedBy"] = doc.get("receivedBy")
        self._move(p, "Delivered")
        self._feed("delivered", p, DeliveredDate=received)

    def undeliver(self, number: str, doc: Mapping[str, Any]) -> None:
        p = self.package(number)
        self._expect(p, "InTransit")
        reason = str(doc.get("undeliveredReason") or "")
        if not reason:
            raise _error(400, "undeliveredReason is required")
        undelivered = _body_date(doc, "undeliveredDate") or _iso(self._now())
        self._move(p, "Undelivered")
        self._feed(
            "undelivered",
            p,
            UndeliveredDate=undelivered,
            UndeliveredReason=reason,
        )

    def unpack(self, number: str) -> None:
        """The package is broken up: its lines go back to ``/orders`` as ``Unpacked``."""
        p = self.package(number)
        self._expect(p, "Packaged")
        p["status"] = "Unpacked"
        self.revision += 1
        for line in self._lines_of(p):
            if not line["status"].startswith("Cancelled"):
                line["status"] = "Unpacked"
                line["packageNumber"] = None
        self.unpacked.append(
            {"packageNumber": number, "barcode": p["barcode"], "unpackedDate": _iso(self._now())}
        )

    def warehouse(self, number: str, doc: Mapping[str, Any]) -> None:
        p = self.package(number)
        label = str(doc.get("shippingAddressLabel") or "")
        if not label:
            raise _error(400, "shippingAddressLabel is required")
        self._expect(p, "Packaged")
        p["shippingAddressLabel"] = label

    def split(self, number: str, doc: Mapping[str, Any]) -> list[str]:
        """Split a package: each of ``packageDetails`` becomes a package of its lines, the
        lines left over one more; the original package ends ``Split``.  All or nothing."""
        p = self.package(number)
        self._expect(p, "Packaged")
        details = doc.get("packageDetails")
        if not isinstance(details, list) or not details:
            raise _error(400, "packageDetails must be a non-empty list")
        mine = {i["lineItemId"] for i in p["items"]}
        groups: list[list[str]] = []
        taken: set[str] = set()
        for n, detail in enumerate(details):
            lines = detail.get("lines") if isinstance(detail, Mapping) else None
            if not isinstance(lines, list) or not lines:
                raise _error(400, f"packageDetails[{n}].lines must be a non-empty list")
            group = []
            for line in lines:
                line_id = str(line.get("orderLineId") if isinstance(line, Mapping) else "")
                if line_id not in mine:
                    raise _error(400, f"line {line_id} is not in package {number}")
                if line_id in taken:
                    raise _error(400, f"line {line_id} is in two packages")
                if int(line.get("quantity", 0)) != self.lines[line_id]["quantity"]:
                    raise _error(400, f"line {line_id}: partial quantities are not supported")
                taken.add(line_id)
                group.append(line_id)
            groups.append(group)
        rest = [i for i in (x["lineItemId"] for x in p["items"]) if i not in taken]
        if rest:
            groups.append(rest)
        if len(groups) < 2:
            raise _error(400, "a split needs at least two packages")
        p["status"] = "Split"
        self.revision += 1
        made = []
        for group in groups:
            for line_id in group:
                self.lines[line_id]["status"] = "Open"
            made.append(
                self.create_package(  # type: ignore[attr-defined]
                    [{"id": i, "quantity": self.lines[i]["quantity"]} for i in group],
                    cargo_company=p["cargoCompany"],
                )["packageNumber"]
            )
        p["splitInto"] = made
        return made

    def cancel_by_merchant(self, line_id: str, doc: Mapping[str, Any]) -> None:
        line = self.lines.get(str(line_id))
        if line is None:
            raise _error(404, f"cannot find line item {line_id}")
        reason = doc.get("reasonId")
        if not isinstance(reason, int) or isinstance(reason, bool):
            raise _error(400, "reasonId must be an integer")
        if line["status"] not in api.CANCELLABLE_LINE_STATUSES:
            raise _error(409, f"line item {line_id} is {line['status']}: it cannot be cancelled")
        day = self._now().date().isoformat()
        if self.merchant_cancels.get(day, 0) >= self.cancel_daily_limit:
            raise _error(406, "daily cancel limit exceeded")
        self.merchant_cancels[day] = self.merchant_cancels.get(day, 0) + 1
        line["status"] = "CancelledByMerchant"
        line["cancelReasonId"] = reason
        self.cancelled.append(  # type: ignore[attr-defined]
            {
                "cancelDate": _iso(self._now()),
                "cancelReasonCode": api.CANCEL_REASONS.get(reason, str(reason)),
                "cancelledBy": "Merchant",
                "lineItemId": line["id"],
                "merchantId": self._merchant_id(),
                "merchantSku": line["merchantSKU"],
                "orderNumber": line["orderNumber"],
                "quantity": line["quantity"],
                "sku": line["sku"],
            }
        )

    # -- views -------------------------------------------------------------------------------
    def feed(self, name: str) -> list[dict[str, Any]]:
        return self.feeds[name]

    def snapshot(self) -> dict[str, Any]:
        return {
            "feeds": copy.deepcopy(self.feeds),
            "unpacked": copy.deepcopy(self.unpacked),
        }
