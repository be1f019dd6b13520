"""The embedded commerce backend: the seller's data in pazar's own database.

Single-object writes (``pazar stock set``, an imported order) go through the
same versioned upsert as bulk imports, so a value set twice is one change and a
marketplace sees it once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pazar.clock import Clock, SystemClock
from pazar.commerce.addresses import AddressBook
from pazar.commerce.import_values import RowError, decimal
from pazar.commerce.import_values import currency as currency_code
from pazar.commerce.import_writer import product_ids, upsert_changed
from pazar.commerce.order_splits import split_orders
from pazar.commerce.order_updates import apply_remote_statuses
from pazar.commerce.orders import cancel_items, create_orders
from pazar.commerce.requests import cancel_packages, create_refund_requests
from pazar.commerce.saleability import reasons_not_saleable
from pazar.commerce.versioning import next_version
from pazar.errors import NotFoundError, ValidationError
from pazar.jobs.wake import mark_changes
from pazar.models.commerce import (
    CancellationReason,
    CancellationRequest,
    CargoCompany,
    Order,
    OrderItem,
    Price,
    Stock,
)
from pazar.number_input import INT32_MAX


def _product_id(session: Session, sku: str) -> int:
    ids = product_ids(session, [sku])
    if sku not in ids:
        raise NotFoundError(
            f"The relevant SKU not exists: {sku!r} (import the product first: "
            "pazar catalog import products FILE)"
        )
    return ids[sku]


def set_stock(
    session: Session,
    sku: str,
    quantity: int,
    extra: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
) -> None:
    """Set one product's stock; unchanged values keep their version."""
    if quantity < 0:
        raise ValidationError(f"stock for {sku!r} must be 0 or more, got {quantity}")
    if quantity > INT32_MAX:
        raise ValidationError(f"stock for {sku!r} must be at most {INT32_MAX}, got {quantity}")
    row: dict[str, Any] = {"product_id": _product_id(session, sku), "quantity": int(quantity)}
    compare = ["quantity"]
    if extra is not None:
        row["extra"] = dict(extra)
        compare.append("extra")
    else:
        row["extra"] = (
            session.scalar(select(Stock.extra).where(Stock.product_id == row["product_id"])) or {}
        )
    now = (clock or SystemClock()).now()
    if upsert_changed(session, Stock.__table__, [row], ["product_id"], compare, now=now):
        mark_changes(session, ("stocks",), now)


def set_price(
    session: Session,
    sku: str,
    price: Any,
    *,
    retail_price: Any = None,
    currency: str | None = None,
    clock: Clock | None = None,
) -> tuple[Decimal, str]:
    """Set one product's price; unchanged values keep their version.  Returns the price
    and currency as stored (``10,50`` is ``10.50``), for the caller to show."""
    try:
        amount = decimal(price)
    except RowError as exc:
        raise ValidationError(f"price for {sku!r}: {exc}") from None
    try:
        retail = None if retail_price is None else decimal(retail_price)
    except RowError as exc:
        raise ValidationError(f"retail price for {sku!r}: {exc}") from None
    try:
        code = None if currency is None else currency_code(currency, default=None)
    except RowError as exc:
        raise ValidationError(f"currency for {sku!r}: {exc}") from None
    product_id = _product_id(session, sku)
    current = session.execute(
        select(Price.retail_price, Price.currency, Price.tax_rate).where(
            Price.product_id == product_id
        )
    ).first()
    row = {
        "product_id": product_id,
        "price": amount,
        "retail_price": retail
        if retail is not None
        else (current.retail_price if current else None),
        "currency": code or (current.currency if current else "TRY"),
        "tax_rate": current.tax_rate if current else None,
    }
    now = (clock or SystemClock()).now()
    compare = ("price", "retail_price", "currency", "tax_rate")
    if upsert_changed(session, Price.__table__, [row], ["product_id"], compare, now=now):
        mark_changes(session, ("prices",), now)
    return amount, row["currency"]


class LocalCommerce:
    """:class:`pazar.commerce.interface.CommerceBackend` over pazar's tables, for one channel."""

    def __init__(self, session: Session, channel: Any, *, clock: Clock | None = None) -> None:
        self.session = session
        self.channel = channel
        self.clock = clock or SystemClock()
        self._addresses: AddressBook | None = None

    def saleability(self, sku: str) -> list[str]:
        return reasons_not_saleable(self.session, self.channel, sku)

    def set_stock(self, sku: str, quantity: int, extra: Mapping[str, Any] | None = None) -> None:
        set_stock(self.session, sku, quantity, extra, clock=self.clock)

    def set_price(self, sku: str, price: Decimal, **fields: Any) -> None:
        set_price(self.session, sku, price, clock=self.clock, **fields)

    def create_order(self, order: Mapping[str, Any]) -> tuple[int, bool]:
        """Create the order once per (channel, marketplace number, package id).

        ``order``: remote_number, package_id, number (formatted), status, currency,
        amount, cargo_company_id, tracking_number, tracking_url, customer
        {remote_id, email, first_name, last_name, phone}, shipping_address /
        billing_address {first_name, last_name, phone, line, city, township,
        district, postcode, ...extra}, items [{remote_id, sku, quantity, price}],
        extra.  Returns (order id, created).
        """
        order_id, created, problem = self.create_orders([order])[0]
        if problem:
            raise ValidationError(problem)
        assert order_id is not None
        return order_id, created

    def create_orders(
        self, orders: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Many orders in a few statements; per order (id, created, problem)."""
        return create_orders(
            self.session, self.channel.id, orders, now=self.clock.now(), address=self.address
        )

    def cancel_items(
        self, cancellations: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Items the marketplace cancelled, in a few statements (see ``orders.cancel_items``)."""
        return cancel_items(self.session, self.channel.id, cancellations, now=self.clock.now())

    def create_refund_requests(
        self, refunds: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """A marketplace's refunds as open requests, once each (see ``requests``)."""
        return create_refund_requests(self.session, self.channel.id, refunds, now=self.clock.now())

    def update_order_statuses(
        self, updates: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Statuses the marketplace reports, forward only (see ``order_updates``)."""
        return apply_remote_statuses(self.session, self.channel.id, updates, now=self.clock.now())

    def cancel_packages(
        self, cancellations: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Orders of packages the marketplace broke, cancelled (see ``requests``)."""
        return cancel_packages(self.session, self.channel.id, cancellations, now=self.clock.now())

    def split_orders(
        self, splits: Sequence[Mapping[str, Any]]
    ) -> list[tuple[int | None, bool, str | None]]:
        """Orders follow their package's split on the marketplace (see ``order_splits``)."""
        return split_orders(self.session, self.channel.id, splits, now=self.clock.now())

    def cancel_order_items(
        self, order_number: str, item_remote_ids: Sequence[str], reason_id: int | None
    ) -> int:
        """Mark items cancelled with a reason; returns how many changed."""
        order_id = self.session.scalar(
            select(Order.id).where(
                Order.channel_id == self.channel.id, Order.number == order_number
            )
        )
        if order_id is None:
            raise NotFoundError(f"no order {order_number!r} on channel {self.channel.slug!r}")
        result = self.session.execute(
            update(OrderItem)
            .where(
                OrderItem.order_id == order_id,
                OrderItem.remote_id.in_(list(item_remote_ids)),
                OrderItem.status != "cancelled",
            )
            .values(status="cancelled", cancellation_reason_id=reason_id)
        )
        if result.rowcount:
            self.session.execute(
                update(Order)
                .where(Order.id == order_id)
                .values(version=next_version(self.session), updated_at=self.clock.now())
            )
        return int(result.rowcount or 0)

    def create_cancellation_request(self, request: Mapping[str, Any]) -> tuple[int, bool]:
        """A refund/cancel request for an order item, once per (channel, kind, remote id)."""
        s, now = self.session, self.clock.now()
        kind = str(request.get("kind") or "refund")
        remote_id = request.get("remote_id")
        if remote_id is not None:
            found = s.scalar(
                select(CancellationRequest.id).where(
                    CancellationRequest.channel_id == self.channel.id,
                    CancellationRequest.kind == kind,
                    CancellationRequest.remote_id == str(remote_id),
                )
            )
            if found is not None:
                return found, False
        row = CancellationRequest(
            channel_id=self.channel.id,
            order_item_id=int(request["order_item_id"]),
            kind=kind,
            remote_id=None if remote_id is None else str(remote_id),
            status="open",
            reason_id=request.get("reason_id"),
            remote_reason=request.get("remote_reason"),
            explanation=request.get("explanation"),
            photo_urls=list(request.get("photo_urls") or []),
            version=next_version(s),
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        return row.id, True

    def orders_changed_since(self, version: int) -> Iterator[Mapping[str, Any]]:
        stmt = (
            select(Order.__table__)
            .where(Order.channel_id == self.channel.id, Order.version > version)
            .order_by(Order.version)
        )
        for row in self.session.execute(stmt).mappings().yield_per(500):
            yield dict(row)

    def refund_requests(self, status: str) -> Iterator[Mapping[str, Any]]:
        stmt = (
            select(CancellationRequest.__table__)
            .where(
                CancellationRequest.channel_id == self.channel.id,
                CancellationRequest.kind == "refund",
                CancellationRequest.status == status,
            )
            .order_by(CancellationRequest.version)
        )
        for row in self.session.execute(stmt).mappings().yield_per(500):
            yield dict(row)

    def cargo_company(self, code_or_name: str) -> Mapping[str, Any] | None:
        row = (
            self.session.execute(
                select(CargoCompany.__table__).where(
                    (CargoCompany.code == code_or_name) | (CargoCompany.name == code_or_name)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def cancellation_reason(self, kind: str, code: str) -> Mapping[str, Any] | None:
        row = (
            self.session.execute(
                select(CancellationReason.__table__).where(
                    CancellationReason.kind == kind, CancellationReason.code == str(code)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else dict(row)

    def address(self, city: str, township: str, district: str | None) -> Mapping[str, Any]:
        """Local ids for a marketplace's place names or codes, or ``{problem}`` when a named
        place matches nothing (see :class:`pazar.commerce.addresses.AddressBook`)."""
        if self._addresses is None:
            self._addresses = AddressBook(self.session, self.channel)
        return self._addresses.resolve(city, township, district)


def decide_refund(
    session: Session,
    request_id: int,
    status: str,
    *,
    reason: str | None = None,
    explanation: str | None = None,
    photo_urls: Sequence[str] = (),
    clock: Clock | None = None,
) -> CancellationRequest:
    """Approve or reject an open refund request (the seed's Reject Refund screen)."""
    request = session.get(CancellationRequest, request_id)
    if request is None or request.kind != "refund":
        raise NotFoundError(f"no refund request {request_id}")
    if request.status != "open":
        raise ValidationError(f"refund request {request_id} is already {request.status}")
    if status == "rejected" and not (reason and explanation):
        raise ValidationError("rejecting a refund needs --reason and --explanation")
    request.status = status
    if reason:
        request.remote_reason = reason
    if explanation:
        request.explanation = explanation
    if photo_urls:
        request.photo_urls = list(photo_urls)
    request.version = next_version(session)
    request.updated_at = (clock or SystemClock()).now()
    return request
