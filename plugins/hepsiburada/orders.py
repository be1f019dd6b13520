"""A Hepsiburada package as the commerce backend's orders, following the channel config.

Seed section 2 settings applied here: Order Number Format (``{orderNumber}-{id}`` when
empty), Cargo Company Mapping (with its ``default``), Use Hb Tracking Number, Use
Neighborhood, Billing Address Same As Shipping (micro-export orders only) and Erp Code.
Place names are kept as received; the backend resolves them (and refuses a place it cannot
resolve: the seed's "Address is not valid ...").  A package normally holds one order;
one holding lines of several orders becomes one order per order number, each keyed by
(order number, package number) so it is created once however often it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pazar.plugin import parse_instant
from pazar_hepsiburada import api

DEFAULT_ORDER_NUMBER_FORMAT = "{orderNumber}-{id}"


class PackageProblem(ValueError):
    """Why a package cannot become an order; ``reason`` is the penalty reason type."""

    def __init__(self, message: str, reason: str = "remote") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def feed_moment(raw: Any) -> datetime | None:
    """A date of a Hepsiburada claim or feed row, or of the channel config (ISO, ``Z`` or
    offset; no zone means UTC); None when missing or unreadable, so one odd row does not
    fail a page.  The order-side and the claim/feed sources read dates alike through it."""
    try:
        return parse_instant(raw)
    except ValueError:
        return None


def _amount(value: Any, where: str) -> Decimal:
    raw = value.get("amount") if isinstance(value, Mapping) else value
    try:
        return Decimal(str(raw if raw is not None else 0))
    except InvalidOperation:
        raise PackageProblem(f"{where} is not a number: {raw!r}") from None


def _names(full: Any) -> tuple[str, str]:
    first, _, last = str(full or "").strip().rpartition(" ")
    return (first, last) if first else (last, "")


def _address(raw: Any, *, neighbourhood: bool) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping) or not raw:
        return None
    first, last = _names(raw.get("name"))
    out: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "phone": raw.get("phoneNumber"),
        "line": str(raw.get("address") or ""),
        "city": str(raw.get("city") or ""),
        "township": str(raw.get("town") or ""),
        "district": raw.get("district") if neighbourhood else None,
        "postcode": raw.get("postalCode"),
    }
    if raw.get("district") and not neighbourhood:
        out["neighbourhood"] = raw["district"]  # kept as received, not resolved
    for key in ("email", "countryCode", "addressId"):
        if raw.get(key) is not None:
            out[key] = raw[key]
    return out


def is_micro_export(package: Mapping[str, Any]) -> bool:
    """A package shipped abroad (see ``api.DOMESTIC_COUNTRY``)."""
    if package.get("isMicroExport") is True:
        return True
    address = package.get("shippingAddress")
    country = str(address.get("countryCode") or "") if isinstance(address, Mapping) else ""
    return bool(country) and country.upper() != api.DOMESTIC_COUNTRY


def cargo_company_id(mapping: Mapping[str, Any], carrier: str) -> int:
    """The local cargo company id for Hepsiburada's carrier name (case-insensitive)."""
    folded = {str(k).casefold(): v for k, v in mapping.items()}
    value = folded.get(carrier.casefold(), folded.get("default"))
    if value in (None, ""):
        raise PackageProblem(
            f"no cargo_company_mapping entry for Hepsiburada cargo company {carrier!r} and no "
            "'default': add one with pazar channel set SLUG 'cargo_company_mapping.default=ID'",
            "mapping",
        )
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PackageProblem(
            f"cargo_company_mapping maps {carrier!r} to {value!r}, which is not a cargo company id",
            "mapping",
        ) from None


def orders_from_package(
    package: Any,
    config: Mapping[str, Any],
    number_format: Callable[[Mapping[str, Any]], Any],
) -> list[dict[str, Any]]:
    """The package's orders in the backend's shape; raises :class:`PackageProblem`.

    ``number_format(values)`` renders the channel's order number format with
    ``orderNumber``, ``id`` (the package id), ``packageNumber`` and ``barcode``.
    """
    if not isinstance(package, Mapping):
        raise PackageProblem("package is not an object")
    number = str(package.get("packageNumber") or "").strip()
    if not number:
        raise PackageProblem("package has no packageNumber")
    items = package.get("items")
    if not isinstance(items, list) or not items:
        raise PackageProblem(f"package {number} has no items")
    by_order: dict[str, list[Mapping[str, Any]]] = {}
    for n, item in enumerate(items):
        where = f"package {number} items[{n}]"
        if not isinstance(item, Mapping):
            raise PackageProblem(f"{where} is not an object")
        for key in ("lineItemId", "merchantSku", "orderNumber"):
            if not str(item.get(key) or "").strip():
                raise PackageProblem(f"{where} has no {key}")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise PackageProblem(f"{where} quantity must be a positive integer, got {quantity!r}")
        by_order.setdefault(str(item["orderNumber"]), []).append(item)
    carrier = str(package.get("cargoCompany") or "")
    cargo_id = cargo_company_id(config.get("cargo_company_mapping") or {}, carrier)
    neighbourhood = bool(config.get("use_neighborhood"))
    shipping = _address(package.get("shippingAddress"), neighbourhood=neighbourhood)
    invoice = package.get("invoice") if isinstance(package.get("invoice"), Mapping) else {}
    billing = _address(invoice.get("address"), neighbourhood=neighbourhood)
    extra: dict[str, Any] = {
        "hepsiburada": {
            "package_id": package.get("id"),
            "package_number": number,
            "barcode": package.get("barcode"),
            "cargo_company": carrier,
            "status": package.get("status"),
            "order_date": package.get("orderDate"),
            "due_date": package.get("dueDate"),
        }
    }
    tax = {k: invoice.get(k) for k in ("turkishIdentityNumber", "taxNumber", "taxOffice")}
    if any(tax.values()):
        extra["invoice"] = {k: v for k, v in tax.items() if v}
    if config.get("erp_code"):
        extra["erp_code"] = str(config["erp_code"])
    if (
        config.get("billing_address_same_as_shipping")
        and shipping is not None
        and is_micro_export(package)
    ):
        if billing is not None:
            extra["invoice_address"] = billing
        billing = dict(shipping)
    first, last = _names(package.get("customerName"))
    # A package row names its customer only (reference: Package row); the email that
    # identifies them travels in the shipping address, as on the order's lines.
    email = package.get("email") or (shipping or {}).get("email")
    customer = {
        "remote_id": str(package.get("customerId") or email or ""),
        "email": email,
        "first_name": first,
        "last_name": last,
        "phone": (shipping or {}).get("phone"),
    }
    tracking = str(package.get("barcode") or "") or None
    orders = []
    for order_number, lines in by_order.items():
        currency = "TRY"
        total = Decimal(0)
        rows = []
        for line in lines:
            where = f"package {number} line {line['lineItemId']}"
            line_total = _amount(line.get("totalPrice"), f"{where} totalPrice")
            unit = line.get("price")
            if isinstance(unit, Mapping) and unit.get("currency"):
                currency = str(unit["currency"])
            rows.append(
                {
                    "remote_id": str(line["lineItemId"]),
                    "sku": str(line["merchantSku"]),
                    "quantity": int(line["quantity"]),
                    "price": str(_amount(unit, f"{where} price")),
                }
            )
            total += line_total
        values = {
            "orderNumber": order_number,
            "id": package.get("id") or number,
            "packageNumber": number,
            "barcode": package.get("barcode") or "",
        }
        orders.append(
            {
                "remote_number": order_number,
                "package_id": number,
                "number": str(number_format(values)),
                "status": "new",
                "currency": currency,
                "amount": str(total),
                "cargo_company_id": cargo_id,
                "tracking_number": tracking if config.get("use_hb_tracking_number") else None,
                "customer": customer if customer["remote_id"] else None,
                "shipping_address": shipping,
                "billing_address": billing or shipping,
                "items": rows,
                "extra": extra,
            }
        )
    return orders
