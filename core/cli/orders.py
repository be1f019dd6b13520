"""``pazar orders`` and ``pazar refunds``: what marketplaces sold and what came back."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import click
from sqlalchemy import select

from pazar.cli.choice import Choice
from pazar.cli.context import app
from pazar.cli.numbers import Integer
from pazar.cli.output import emit, json_option, print_json, print_table
from pazar.commerce.requests import refund_query, refund_rows
from pazar.errors import NotFoundError, ValidationError
from pazar.models.channels import Channel
from pazar.models.commerce import (
    CancellationRequest,
    Order,
    OrderItem,
)
from pazar.suggest import did_you_mean


def _channel_id(session: Any, slug: str | None) -> int | None:
    if slug is None:
        return None
    found = session.scalar(select(Channel.id).where(Channel.slug == slug))
    if found is None:
        raise NotFoundError(f"no channel {slug!r}")
    return found


@click.group("orders")
def orders() -> None:
    """Orders imported from marketplaces."""


# The statuses of pazar's order life (imported new, cancelled here or on the marketplace,
# the seed's fulfilment statuses); a backend may store others, which count as known too.
from pazar.commerce.statuses import ORDER_STATUSES  # noqa: E402


def _check_status(session: Any, status: str) -> None:
    """A misspelled status would list nothing, which reads as "no such orders"."""
    known = list(ORDER_STATUSES) + [
        s for s in session.scalars(select(Order.status).distinct()) if s not in ORDER_STATUSES
    ]
    if status not in known:
        raise ValidationError(
            f"--status {status!r}: not an order status{did_you_mean(status, known)} "
            f"(one of {', '.join(known)})"
        )


@orders.command("list")
@click.option("--channel", "slug", help="Only this channel.")
@click.option("--status", help="Only orders with this status.")
@click.option("--limit", type=Integer(min=1), default=50, show_default=True)
@json_option
def orders_list(slug: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Orders, newest first."""
    with app().db.session() as session:
        stmt = select(Order, Channel.slug).join(Channel, Channel.id == Order.channel_id)
        channel_id = _channel_id(session, slug)
        if channel_id is not None:
            stmt = stmt.where(Order.channel_id == channel_id)
        if status:
            _check_status(session, status)
            stmt = stmt.where(Order.status == status)
        rows = [
            {
                "number": o.number,
                "channel": s,
                "remote_number": o.remote_number,
                "package_id": o.package_id,
                "status": o.status,
                "amount": o.amount,
                "currency": o.currency,
                "created_at": o.created_at,
            }
            for o, s in session.execute(
                stmt.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
            )
        ]
    emit(
        as_json,
        rows,
        ("number", "channel", "package", "status", "amount", "created"),
        [
            (
                r["number"],
                r["channel"],
                r["package_id"],
                r["status"],
                f"{r['amount']} {r['currency']}",
                r["created_at"],
            )
            for r in rows
        ],
        empty="no orders",
    )


def _one_order(session: Any, number: str, slug: str | None) -> Any:
    """The order named by its local number or its marketplace order number."""
    from pazar.commerce.order_updates import find_orders

    found = find_orders(session, number, _channel_id(session, slug))
    if not found:
        raise NotFoundError(f"no order {number!r} (give its number or the marketplace's)")
    if len(found) > 1:
        names = ", ".join(o.number for o in found)
        raise ValidationError(
            f"{number!r} names {len(found)} orders ({names}): give the local number"
            + ("" if slug else " or --channel")
        )
    return found[0]


def _address_view(session: Any, address: Any) -> dict[str, Any]:
    from pazar.models.commerce import City, District, Township

    def name(model: Any, ident: int | None) -> str | None:
        row = session.get(model, ident) if ident is not None else None
        return None if row is None else row.name

    extra = dict(address.extra or {})
    return {
        "name": f"{address.first_name} {address.last_name}".strip(),
        "phone": address.phone,
        "line": address.line,
        "city": name(City, address.city_id) or extra.get("city"),
        "township": name(Township, address.township_id) or extra.get("township"),
        "district": name(District, address.district_id)
        or extra.get("district")
        or extra.get("neighbourhood"),
        "postcode": address.postcode,
        "as_received": {
            k: extra[k] for k in ("city", "township", "district", "neighbourhood") if k in extra
        },
    }


def order_view(session: Any, order: Any) -> dict[str, Any]:
    """What `pazar orders show` prints: the order, customer, addresses, carrier, items."""
    from pazar.models.commerce import Address, CargoCompany, Customer

    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    cargo = session.get(CargoCompany, order.cargo_company_id) if order.cargo_company_id else None
    addresses = {
        a.kind: _address_view(session, a)
        for a in session.scalars(
            select(Address).where(Address.order_id == order.id).order_by(Address.id)
        )
    }
    items = [
        {
            "remote_id": i.remote_id,
            "sku": i.sku,
            "quantity": i.quantity,
            "price": i.price,
            "status": i.status,
        }
        for i in session.scalars(
            select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)
        )
    ]
    requests = [
        {
            "id": r.id,
            "kind": r.kind,
            "origin": r.origin,
            "status": r.status,
            "remote_id": r.remote_id,
        }
        for r in session.scalars(
            select(CancellationRequest)
            .join(OrderItem, OrderItem.id == CancellationRequest.order_item_id)
            .where(OrderItem.order_id == order.id)
            .order_by(CancellationRequest.id)
        )
    ]
    return {
        "number": order.number,
        "channel": session.scalar(select(Channel.slug).where(Channel.id == order.channel_id)),
        "remote_number": order.remote_number,
        "package_id": order.package_id,
        "status": order.status,
        "marketplace_status": order.remote_status,
        "amount": order.amount,
        "currency": order.currency,
        "customer": None
        if customer is None
        else {
            "name": f"{customer.first_name} {customer.last_name}".strip(),
            "email": customer.email,
            "phone": customer.phone,
        },
        "cargo_company": None if cargo is None else f"{cargo.name} ({cargo.code})",
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
        "invoice_url": order.invoice_url,
        "invoice_number": ((order.extra or {}).get("invoice") or {}).get("number"),
        "invoice_date": ((order.extra or {}).get("invoice") or {}).get("date"),
        "erp_code": (order.extra or {}).get("erp_code"),
        "cargo_label": ((order.extra or {}).get("cargo_label") or {}).get("format"),
        "created_at": order.created_at,
        "shipping_address": addresses.get("shipping"),
        "billing_address": addresses.get("billing"),
        "items": items,
        "requests": requests,
    }


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, "", {}))
    return value


@orders.command("show")
@click.argument("number")
@click.option("--channel", "slug", help="The channel, when the number is not unique.")
@json_option
def orders_show(number: str, slug: str | None, as_json: bool) -> None:
    """One order: customer, addresses, cargo company, tracking, items and requests.

    NUMBER is pazar's order number or the marketplace's order number.
    """
    with app().db.session() as session:
        data = order_view(session, _one_order(session, number, slug))
    if as_json:
        emit(True, data)
        return
    print_table(
        ("field", "value"),
        [(k, _flat(v)) for k, v in data.items() if k not in ("items", "requests")],
        title=f"order {data['number']}",
    )
    print_table(
        ("item", "sku", "quantity", "price", "status"),
        [(i["remote_id"], i["sku"], i["quantity"], i["price"], i["status"]) for i in data["items"]],
        empty="no items",
    )
    if data["requests"]:
        print_table(
            ("request", "kind", "origin", "status", "marketplace id"),
            [
                (r["id"], r["kind"], r["origin"], r["status"], r["remote_id"])
                for r in data["requests"]
            ],
        )


def _url(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError(f"{option} {value!r} is not an http(s) URL")
    return value


@orders.command("update")
@click.argument("number")
@click.option("--channel", "slug", help="The channel, when the number is not unique.")
@click.option("--status", help="New status (preparing, shipped, delivered, undelivered, ...).")
@click.option("--tracking-number", help="The carrier's tracking number.")
@click.option("--tracking-url", help="The tracking URL (else made from shipping_provider).")
@click.option("--invoice-url", help="A link to the invoice (PDF or HTML; Fashfed: e-archive URL).")
@click.option("--invoice-number", help="The invoice's number.")
@click.option(
    "--invoice-date",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]),
    help="The invoice's date (2025-07-01 or 2025-07-01T10:00:00Z).",
)
@json_option
def orders_update(
    number: str,
    slug: str | None,
    status: str | None,
    tracking_number: str | None,
    tracking_url: str | None,
    invoice_url: str | None,
    invoice_number: str | None,
    invoice_date: datetime | None,
    as_json: bool,
) -> None:
    """Move an order on in the commerce backend (status, tracking, invoice).

    The marketplace hears of it through its order update flows (Hepsiburada:
    send_update_orders, send_invoice_link; Fashfed: send_update_orders). A status
    never steps back (new, preparing, shipped, delivered | undelivered), and a
    cancelled or refunded order keeps its status.
    """
    from pazar.commerce.order_updates import update_order
    from pazar.commerce.statuses import ORDER_STATUSES

    if status is not None and status not in ORDER_STATUSES:
        raise ValidationError(
            f"--status {status!r}: not an order status{did_you_mean(status, ORDER_STATUSES)} "
            f"(one of {', '.join(ORDER_STATUSES)})"
        )
    if not any((status, tracking_number, tracking_url, invoice_url, invoice_number, invoice_date)):
        raise ValidationError(
            "nothing to change: give --status, --tracking-number, --tracking-url, "
            "--invoice-url, --invoice-number or --invoice-date"
        )
    ctx = app()
    if invoice_date is not None:
        _check_invoice_date(invoice_date, ctx.clock.now())
    with ctx.db.session() as session:
        order = _one_order(session, number, slug)
        changed = update_order(
            session,
            order,
            now=ctx.clock.now(),
            status=status,
            tracking_number=tracking_number,
            tracking_url=_url(tracking_url, "--tracking-url"),
            invoice_url=_url(invoice_url, "--invoice-url"),
            invoice_number=invoice_number,
            invoice_date=invoice_date.strftime("%Y-%m-%dT%H:%M:%SZ") if invoice_date else None,
        )
        data = {"number": order.number, "status": order.status, "changed": changed}
    if as_json:
        print_json(data)
        return
    click.echo(
        f"order {data['number']}: {'updated' if changed else 'unchanged'} ({data['status']})"
    )


def _check_invoice_date(value: datetime, now: datetime) -> None:
    """An invoice dated before 2000 or more than a year ahead is a typing slip (a year 1 was
    stored as ``1-01-01`` and sent on to the marketplace as its invoice date)."""
    latest = (now + timedelta(days=365)).date()
    if not (date(2000, 1, 1) <= value.date() <= latest):
        raise ValidationError(
            f"--invoice-date {value.date().isoformat()}: an invoice date is between "
            f"2000-01-01 and {latest.isoformat()} (a year from today)"
        )


@orders.command("cancel-items")
@click.argument("number")
@click.option("--channel", "slug", help="The channel, when the number is not unique.")
@click.option(
    "--item",
    "items",
    multiple=True,
    required=True,
    help="The item's marketplace line id (repeatable).",
)
@click.option(
    "--reason", "reason_id", type=Integer(), required=True, help="Local cancellation reason id."
)
@json_option
def orders_cancel_items(
    number: str, slug: str | None, items: tuple[str, ...], reason_id: int, as_json: bool
) -> None:
    """Cancel items of an order in the commerce backend (a partial cancellation by the seller).

    The marketplace hears of it through its cancellation flow (Hepsiburada:
    send_cancel_order_items). An order the backend has not reported to its ERP yet
    (still new) cannot be cancelled: "Unreported order of ERP can not be canceled".
    """
    from pazar.commerce.requests import cancel_locally

    ctx = app()
    with ctx.db.session() as session:
        order = _one_order(session, number, slug)
        lines = cancel_locally(
            session, order.channel_id, order.number, items, reason_id, now=ctx.clock.now()
        )
        data = {"number": order.number, "cancelled": lines}
    if as_json:
        print_json(data)
        return
    click.echo(f"order {data['number']}: cancelled item {', '.join(lines)}")


@click.group("refunds")
def refunds() -> None:
    """Refund requests (the seed's Reject Refund screen)."""


@refunds.command("list")
@click.option("--channel", "slug", help="Only this channel.")
@click.option("--status", type=Choice(("open", "approved", "rejected")))
@click.option("--limit", type=Integer(min=1), default=50, show_default=True)
@json_option
def refunds_list(slug: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Refund requests, newest first."""
    with app().db.session() as session:
        stmt = refund_query()
        channel_id = _channel_id(session, slug)
        if channel_id is not None:
            stmt = stmt.where(CancellationRequest.channel_id == channel_id)
        if status:
            stmt = stmt.where(CancellationRequest.status == status)
        rows = refund_rows(session, stmt.order_by(CancellationRequest.id.desc()).limit(limit))
    emit(
        as_json,
        rows,
        ("id", "channel", "order", "sku", "status", "reason", "created"),
        [
            (r["id"], r["channel"], r["order"], r["sku"], r["status"], r["reason"], r["created_at"])
            for r in rows
        ],
        empty="no refund requests",
    )


@refunds.command("show")
@click.argument("request_id", type=Integer())
@json_option
def refunds_show(request_id: int, as_json: bool) -> None:
    """One refund request."""
    with app().db.session() as session:
        rows = refund_rows(session, refund_query().where(CancellationRequest.id == request_id))
    if not rows:
        raise NotFoundError(f"no refund request {request_id}")
    emit(as_json, rows[0], ("field", "value"), list(rows[0].items()))


@refunds.command("approve")
@click.argument("request_id", type=Integer())
@json_option
def refunds_approve(request_id: int, as_json: bool) -> None:
    """Approve an open refund request (the approve_refund flow tells the marketplace)."""
    from pazar.commerce.local import decide_refund

    ctx = app()
    with ctx.db.session() as session:
        decide_refund(session, request_id, "approved", clock=ctx.clock)
    if as_json:
        print_json({"id": request_id, "status": "approved"})
        return
    click.echo(f"refund request {request_id} approved")


def _urls(values: tuple[str, ...]) -> list[str]:
    for value in values:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValidationError(f"--photo-url {value!r} is not an http(s) URL")
    return list(values)


@refunds.command("reject")
@click.argument("request_id", type=Integer())
@click.option("--reason", required=True, help="Rejection reason (as the marketplace lists them).")
@click.option("--explanation", required=True, help="Why the refund is rejected.")
@click.option("--photo-url", "photo_urls", multiple=True, help="Evidence photo URL (repeatable).")
@json_option
def refunds_reject(
    request_id: int, reason: str, explanation: str, photo_urls: tuple[str, ...], as_json: bool
) -> None:
    """Reject an open refund request with reason, explanation and photos."""
    from pazar.commerce.local import decide_refund

    ctx = app()
    urls = _urls(photo_urls)
    with ctx.db.session() as session:
        decide_refund(
            session,
            request_id,
            "rejected",
            reason=reason,
            explanation=explanation,
            photo_urls=urls,
            clock=ctx.clock,
        )
    if as_json:
        print_json({"id": request_id, "status": "rejected", "reason": reason})
        return
    click.echo(f"refund request {request_id} rejected: {reason}")


COMMANDS = [orders, refunds]
