"""``pazar orders`` and ``pazar refunds``: what marketplaces sold and what came back."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import click
from sqlalchemy import select

from pazar.cli.context import app
from pazar.cli.output import emit, json_option, print_json, print_table
from pazar.errors import NotFoundError, ValidationError
from pazar.models.channels import Channel
from pazar.models.commerce import (
    CancellationReason,
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
ORDER_STATUSES = ("new", "preparing", "shipped", "delivered", "cancelled", "refunded")


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
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
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


@orders.command("show")
@click.argument("number")
@json_option
def orders_show(number: str, as_json: bool) -> None:
    """One order with its items."""
    with app().db.session() as session:
        order = session.scalar(select(Order).where(Order.number == number))
        if order is None:
            raise NotFoundError(f"no order {number!r}")
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
        data = {
            "number": order.number,
            "remote_number": order.remote_number,
            "package_id": order.package_id,
            "status": order.status,
            "amount": order.amount,
            "currency": order.currency,
            "tracking_number": order.tracking_number,
            "tracking_url": order.tracking_url,
            "invoice_url": order.invoice_url,
            "created_at": order.created_at,
            "items": items,
        }
    if as_json:
        emit(True, data)
        return
    print_table(
        ("field", "value"),
        [(k, v) for k, v in data.items() if k != "items"],
        title=f"order {number}",
    )
    print_table(
        ("item", "sku", "quantity", "price", "status"),
        [(i["remote_id"], i["sku"], i["quantity"], i["price"], i["status"]) for i in items],
        empty="no items",
    )


@click.group("refunds")
def refunds() -> None:
    """Refund requests (the seed's Reject Refund screen)."""


def _refund_rows(session: Any, stmt: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "channel": slug,
            "order": number,
            "sku": sku,
            "status": r.status,
            "reason": reason_name or r.remote_reason,
            "explanation": r.explanation,
            "photo_urls": r.photo_urls,
            "created_at": r.created_at,
        }
        for r, slug, number, sku, reason_name in session.execute(stmt)
    ]


def _refund_query() -> Any:
    return (
        select(
            CancellationRequest, Channel.slug, Order.number, OrderItem.sku, CancellationReason.name
        )
        .join(Channel, Channel.id == CancellationRequest.channel_id)
        .join(OrderItem, OrderItem.id == CancellationRequest.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
        .outerjoin(CancellationReason, CancellationReason.id == CancellationRequest.reason_id)
        .where(CancellationRequest.kind == "refund")
    )


@refunds.command("list")
@click.option("--channel", "slug", help="Only this channel.")
@click.option("--status", type=click.Choice(("open", "approved", "rejected")))
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
def refunds_list(slug: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Refund requests, newest first."""
    with app().db.session() as session:
        stmt = _refund_query()
        channel_id = _channel_id(session, slug)
        if channel_id is not None:
            stmt = stmt.where(CancellationRequest.channel_id == channel_id)
        if status:
            stmt = stmt.where(CancellationRequest.status == status)
        rows = _refund_rows(session, stmt.order_by(CancellationRequest.id.desc()).limit(limit))
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
@click.argument("request_id", type=int)
@json_option
def refunds_show(request_id: int, as_json: bool) -> None:
    """One refund request."""
    with app().db.session() as session:
        rows = _refund_rows(session, _refund_query().where(CancellationRequest.id == request_id))
    if not rows:
        raise NotFoundError(f"no refund request {request_id}")
    emit(as_json, rows[0], ("field", "value"), list(rows[0].items()))


@refunds.command("approve")
@click.argument("request_id", type=int)
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
@click.argument("request_id", type=int)
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
