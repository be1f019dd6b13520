"""A Fashfed package as the commerce backend's order, following the channel config.

On Fashfed a package is the seller's order (Seller Center has no other order object for a
seller), so its ``number`` is the order's remote number and its package id alike, and its
items' ids (``"<package number>-<n>"``, the format claims use) are the order lines' remote
ids.  Seed section 2 settings applied here: Order Number Format (``{orderNumber}-{id}`` when
empty, ``orderNumber`` = ``order_number``, ``id`` = ``number``), Cargo Company Mapping (the
slug Fashfed ships with when it manages shipping, else ``default``), Send Shipping Info (who
ships: Fashfed's tracking number is kept only when Fashfed does) and Use Neighborhood.
Use Channel Id In Address Mapping is the backend's: it resolves the address names.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pazar.plugin import mapped
from pazar_fashfed import api

DEFAULT_ORDER_NUMBER_FORMAT = "{orderNumber}-{id}"
# What the backend keeps as an address's own columns; Fashfed's other address fields
# (email, country, tax and identity details, notes) go to the address's extra.
ADDRESS_COLUMNS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "phone_number": "phone",
    "line": "line",
    "city": "city",
    "township": "township",
    "district": "district",
    "postcode": "postcode",
}
ADDRESS_EXTRAS = tuple(f for f in api.ADDRESS_FIELDS if f not in ADDRESS_COLUMNS)


class NotAnOrder(ValueError):
    """Why a package cannot become an order; ``reason`` is the penalty reason type."""

    def __init__(self, message: str, reason: str = "remote") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def fashfed_ships(config: Mapping[str, Any]) -> bool:
    """Send Shipping Info off (the default) means Fashfed manages shipping."""
    return not config.get("send_shipping_info")


def cargo_company_id(config: Mapping[str, Any], slug: str) -> int:
    """The local cargo company: the mapped one for Fashfed's slug when Fashfed ships, else
    (and for an unmapped slug) the mapping's ``default``."""
    table = config.get("cargo_company_mapping") or {}
    default = mapped(table, "default")
    value = mapped(table, slug, default) if fashfed_ships(config) else default
    if value is None:
        raise NotAnOrder(
            f"no cargo_company_mapping entry for Fashfed shipping company {slug!r} and no "
            "'default': pazar channel set SLUG cargo_company_mapping.default=ID",
            "mapping",
        )
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotAnOrder(
            f"cargo_company_mapping gives {value!r} for {slug or 'default'!r}, "
            "which is not a cargo company id",
            "mapping",
        ) from None


def _money(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise NotAnOrder(f"{where} is not an amount: {value!r}") from None


def address(raw: Any, *, neighbourhood: bool) -> dict[str, Any] | None:
    """A package address in the backend's shape (the neighbourhood only when asked for)."""
    if not isinstance(raw, Mapping) or not raw:
        return None
    out: dict[str, Any] = {column: raw.get(field) for field, column in ADDRESS_COLUMNS.items()}
    for column in ("first_name", "last_name", "line", "city", "township"):
        out[column] = str(out[column] or "")
    out["district"] = (str(out["district"] or "") or None) if neighbourhood else None
    out.update({k: raw[k] for k in ADDRESS_EXTRAS if raw.get(k) not in (None, "")})
    return out


def _items(package: Mapping[str, Any], number: str) -> tuple[list[dict[str, Any]], Decimal]:
    raw_items = package.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise NotAnOrder(f"package {number} has no items")
    rows, total = [], Decimal(0)
    for n, item in enumerate(raw_items):
        where = f"package {number} items[{n}]"
        if not isinstance(item, Mapping):
            raise NotAnOrder(f"{where} is not an object")
        for key in ("id", "sku"):
            if not str(item.get(key) or "").strip():
                raise NotAnOrder(f"{where} has no {key}")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise NotAnOrder(f"{where} quantity must be a positive integer, got {quantity!r}")
        price = _money(item.get("price"), f"{where} price")
        total += price * quantity
        rows.append(
            {
                "remote_id": str(item["id"]),
                "sku": str(item["sku"]),
                "quantity": quantity,
                "price": str(price),
            }
        )
    return rows, total


def order_from_package(
    package: Any,
    config: Mapping[str, Any],
    number_format: Callable[[Mapping[str, Any]], Any],
    label: bytes | None = None,
) -> dict[str, Any]:
    """The package as one order in the backend's shape; raises :class:`NotAnOrder`."""
    if not isinstance(package, Mapping):
        raise NotAnOrder("package is not an object")
    number = str(package.get("number") or "").strip()
    if not number:
        raise NotAnOrder("package has no number")
    order_number = str(package.get("order_number") or "").strip()
    if not order_number:
        raise NotAnOrder(f"package {number} has no order_number")
    items, total = _items(package, number)
    company = package.get("shipping_company")
    slug = str(company.get("slug") or "") if isinstance(company, Mapping) else str(company or "")
    neighbourhood = bool(config.get("use_neighborhood"))
    shipping = address(package.get("shipping_address"), neighbourhood=neighbourhood)
    billing = address(package.get("billing_address"), neighbourhood=neighbourhood) or shipping
    contact = package.get("billing_address") or package.get("shipping_address") or {}
    email = str(contact.get("email") or "") if isinstance(contact, Mapping) else ""
    customer = (
        {
            "remote_id": email,
            "email": email,
            "first_name": (billing or {}).get("first_name", ""),
            "last_name": (billing or {}).get("last_name", ""),
            "phone": (billing or {}).get("phone"),
        }
        if email
        else None
    )
    extra: dict[str, Any] = {
        "fashfed": {
            "order_number": order_number,
            "package_number": number,
            "status": package.get("status"),
            "shipping_company": slug or None,
            "shipped_by": "fashfed" if fashfed_ships(config) else "seller",
            "created_at": package.get("created_at"),
        }
    }
    if label is not None:
        extra["cargo_label"] = {
            "format": "pdf",
            "bytes": len(label),
            "base64": base64.b64encode(label).decode("ascii"),
        }
    amount = package.get("total_amount")
    return {
        "remote_number": number,
        "package_id": number,
        "number": str(number_format({"orderNumber": order_number, "id": number})),
        "status": "new",
        "currency": str(package.get("currency") or api.DEFAULT_CURRENCY).upper(),
        "amount": str(
            _money(amount, f"package {number} total_amount") if amount is not None else total
        ),
        "cargo_company_id": cargo_company_id(config, slug),
        "tracking_number": (str(package.get("tracking_number") or "") or None)
        if fashfed_ships(config)
        else None,
        "customer": customer,
        "shipping_address": shipping,
        "billing_address": billing,
        "items": items,
        "extra": extra,
    }


def claim_line(claim: Any) -> tuple[str, str, str]:
    """A claim's package item, its package number and its reason's Fashfed id; raises
    :class:`NotAnOrder` for a claim that names no line."""
    if not isinstance(claim, Mapping):
        raise NotAnOrder("claim is not an object")
    line = str(claim.get("package_item") or "")
    package = api.package_of(line)
    if not claim.get("id") or not package:
        raise NotAnOrder(f"claim {claim.get('id')!r} has no id or package_item {line!r}")
    reason = claim.get("reason") if isinstance(claim.get("reason"), Mapping) else {}
    return line, package, str(reason.get("id") or "")


def local_reason(config: Mapping[str, Any], mapping: str, fallback: str, code: str) -> int:
    """The local reason id for a Fashfed reason: ``config[mapping][code]`` (any case), else
    ``config[fallback]`` (seed section 2); raises :class:`NotAnOrder` (``mapping``)."""
    local = mapped(config.get(mapping), code, config.get(fallback))
    if local in (None, ""):
        raise NotAnOrder(
            f"no {mapping} entry for Fashfed reason {code!r} and no {fallback}: "
            f"pazar channel set SLUG {fallback}=ID",
            "mapping",
        )
    try:
        return int(local)
    except (TypeError, ValueError):
        raise NotAnOrder(
            f"{mapping} gives {local!r} for {code!r}, which is not a reason id", "mapping"
        ) from None


def cancellation_from_claim(claim: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """A completed cancel claim as the backend's cancellation of one order line.

    The local reason is ``cancel_reason_mapping[reason.id]``, else ``cancellation_reason_id``
    (seed section 2)."""
    line, package, code = claim_line(claim)
    return {
        "remote_number": package,
        "item_remote_id": line,
        "remote_id": str(claim["id"]),
        "reason_id": local_reason(config, "cancel_reason_mapping", "cancellation_reason_id", code),
        "remote_reason": code or None,
        "cancelled_by": claim.get("cancelled_by"),
    }


def refund_from_claim(claim: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """A refund claim as the backend's refund request: the reason is
    ``refund_reason_mapping[reason.id]``, else ``default_reason_id`` (seed section 2)."""
    line, package, code = claim_line(claim)
    reason = claim.get("reason") if isinstance(claim.get("reason"), Mapping) else {}
    return {
        "remote_id": str(claim["id"]),
        "remote_number": package,
        "item_remote_id": line,
        "reason_id": local_reason(config, "refund_reason_mapping", "default_reason_id", code),
        "remote_reason": str(reason.get("subject") or code or "") or None,
        "explanation": str(claim.get("detail") or "") or None,
        "photo_urls": [],
    }
