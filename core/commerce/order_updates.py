"""Orders whose status, invoice or tracking changed since a marketplace was last told, and
statuses a marketplace reports back.

Outbound: every order change takes a new version (imports, cancellations, ``pazar orders
update``), and each outbound order flow keeps its own integration state (one content type
per flow): an order is selected when its version is newer than the one last sent, in one
indexed query a page.  The integration action also keeps the status last sent
(``state``), so a status is never sent backwards; an order with an open refund request is
left out until the refund is decided (seed section 8).

Inbound: a status a marketplace reports (shipped, delivered, undelivered) moves the
order and its live items forward, never back, and is remembered as ``remote_status`` so
the order update never echoes it to the marketplace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from pazar.commerce.statuses import FINAL, highest, is_ahead, rank
from pazar.commerce.unsent import unsent_changes
from pazar.commerce.versioning import reserve_versions
from pazar.errors import ValidationError
from pazar.models.commerce import CancellationRequest, CargoCompany, Order, OrderItem

ORDER_FIELDS = ("invoice_url", "tracking_number", "tracking_url")


def changed_orders_query(
    channel_id: int,
    content_type: str,
    *,
    now: datetime,
    after: int,
    limit: int,
    needs: Sequence[str] = (),
    skip_open_refunds: bool = True,
    numbers: Sequence[str] | None = None,
) -> Any:
    """One page (by version) of the channel's orders changed since ``content_type`` last
    sent them: not penalised (unless the retry is due), with every field of ``needs`` set,
    and without an open refund request when ``skip_open_refunds``."""
    o = Order.__table__
    unsent = unsent_changes(channel_id, content_type, o.c.id, o.c.version, now=now, after=after)
    a = unsent.sent
    r = CancellationRequest.__table__.alias("refund")
    i = OrderItem.__table__.alias("refund_item")
    c = CargoCompany.__table__
    conds: list[Any] = [o.c.channel_id == channel_id, *unsent.where]
    for name in needs:
        column = o.c[name]
        conds.append(and_(column.is_not(None), column != ""))
    if skip_open_refunds:
        conds.append(
            ~exists().where(
                i.c.order_id == o.c.id,
                r.c.order_item_id == i.c.id,
                r.c.kind == "refund",
                r.c.status == "open",
            )
        )
    if numbers is not None:
        conds.append(o.c.number.in_(list(numbers)))
    base = o.outerjoin(a, unsent.on).outerjoin(c, c.c.id == o.c.cargo_company_id)
    return (
        select(
            o.c.id,
            o.c.number,
            o.c.remote_number,
            o.c.package_id,
            o.c.status,
            o.c.remote_status,
            o.c.invoice_url,
            o.c.tracking_number,
            o.c.tracking_url,
            o.c.extra,
            o.c.version,
            o.c.updated_at,
            c.c.code.label("cargo_company"),
            c.c.tracking_url.label("cargo_tracking_url"),
            a.c.state.label("last_state"),
            a.c.payload_hash.label("last_payload_hash"),
            a.c.remote_id.label("remote_id"),
        )
        .select_from(base)
        .where(*conds)
        .order_by(o.c.version)
        .limit(limit)
    )


def order_items_of(session: Session, order_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The items of these orders, one query."""
    t = OrderItem.__table__
    out: dict[int, list[dict[str, Any]]] = {oid: [] for oid in order_ids}
    if not order_ids:
        return out
    rows = session.execute(
        select(t.c.order_id, t.c.remote_id, t.c.sku, t.c.quantity, t.c.price, t.c.status)
        .where(t.c.order_id.in_(list(order_ids)))
        .order_by(t.c.order_id, t.c.id)
    )
    for row in rows:
        out[row.order_id].append(
            {
                "remote_id": row.remote_id,
                "sku": row.sku,
                "quantity": row.quantity,
                "price": float(row.price),
                "status": row.status,
            }
        )
    return out


def changed_order_record(row: Mapping[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """What an order update flow sees as ``record``: the order, what the marketplace knows
    of its status (``known_status``: the higher of the status last sent and the one it
    reported) and whether the local status is ahead of it (``status_ahead``)."""
    known = highest([row["last_state"], row["remote_status"]])
    extra = dict(row["extra"] or {})
    invoice = extra.get("invoice") if isinstance(extra.get("invoice"), Mapping) else {}
    status = row["status"]
    return {
        "order_id": row["id"],
        "number": row["number"],
        "remote_number": row["remote_number"],
        "package_id": row["package_id"],
        "status": status,
        "known_status": known,
        "status_ahead": status not in FINAL and is_ahead(status, known),
        "invoice_url": row["invoice_url"],
        "tracking_number": row["tracking_number"],
        "tracking_url": row["tracking_url"],
        "cargo_company": row["cargo_company"],
        "cargo_tracking_url": row["cargo_tracking_url"],
        "updated_at": row["updated_at"].isoformat() if row["updated_at"] else None,
        "invoice_number": invoice.get("number"),
        "invoice_date": invoice.get("date"),
        "shipped_at": extra.get("shipped_at"),
        "extra": extra,
        "items": items,
    }


def apply_remote_statuses(
    session: Session,
    channel_id: int,
    updates: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
) -> list[tuple[int | None, bool, str | None]]:
    """Statuses a marketplace reports, per package; per update ``(order id, changed, problem)``.

    An update: ``package_id`` (and optionally ``remote_number``), ``status`` (shipped,
    delivered, undelivered), optional ``tracking_number``, ``tracking_url``,
    ``cargo_company_id``.  The order and its live (not cancelled) items move to the
    status only when it is further on; tracking fills in when given.  A package not
    imported here is ``(None, False, None)``: nothing to update.  Set-based: one read of
    the orders, one update of orders and one of items per batch.
    """
    o = Order.__table__
    t = OrderItem.__table__
    packages = sorted({str(u.get("package_id") or "") for u in updates} - {""})
    found: dict[str, list[Any]] = {}
    for start in range(0, len(packages), 900):
        rows = session.execute(
            select(
                o.c.id,
                o.c.package_id,
                o.c.remote_number,
                o.c.status,
                o.c.remote_status,
                o.c.tracking_number,
                o.c.tracking_url,
                o.c.cargo_company_id,
            ).where(o.c.channel_id == channel_id, o.c.package_id.in_(packages[start : start + 900]))
        )
        for row in rows:
            found.setdefault(row.package_id, []).append(row)
    results: list[tuple[int | None, bool, str | None]] = []
    changes: dict[int, dict[str, Any]] = {}
    was: dict[int, str] = {}
    for update in updates:
        status = str(update.get("status") or "")
        if rank(status) < 0:
            results.append((None, False, f"status {status!r} is not one pazar tracks"))
            continue
        rows = [
            r
            for r in found.get(str(update.get("package_id") or ""), [])
            if not update.get("remote_number") or r.remote_number == str(update["remote_number"])
        ]
        if not rows:
            results.append((None, False, None))
            continue
        changed_any = False
        for row in rows:
            pending = changes.get(row.id)
            current = dict(
                status=row.status,
                remote_status=row.remote_status,
                tracking_number=row.tracking_number,
                tracking_url=row.tracking_url,
                cargo_company_id=row.cargo_company_id,
            )
            if pending is not None:
                current.update(pending)
            new = dict(current)
            if current["status"] not in FINAL and is_ahead(status, current["status"]):
                new["status"] = status
            if is_ahead(status, current["remote_status"]):
                new["remote_status"] = status
            for key in ("tracking_number", "tracking_url", "cargo_company_id"):
                if update.get(key) not in (None, ""):
                    new[key] = update[key]
            if new != current:
                was.setdefault(row.id, row.status)
                changes[row.id] = new
                changed_any = True
        results.append((rows[0].id, changed_any, None))
    if not changes:
        return results
    first = reserve_versions(session, len(changes))
    session.execute(
        o.update()
        .where(o.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            remote_status=bindparam("b_remote_status"),
            tracking_number=bindparam("b_tracking_number"),
            tracking_url=bindparam("b_tracking_url"),
            cargo_company_id=bindparam("b_cargo"),
            version=bindparam("b_version"),
            updated_at=now,
        ),
        [
            {
                "b_id": oid,
                "b_status": v["status"],
                "b_remote_status": v["remote_status"],
                "b_tracking_number": v["tracking_number"],
                "b_tracking_url": v["tracking_url"],
                "b_cargo": v["cargo_company_id"],
                "b_version": first + n,
            }
            for n, (oid, v) in enumerate(sorted(changes.items()))
        ],
    )
    moved = [
        {"b_order": oid, "b_status": v["status"]}
        for oid, v in changes.items()
        if v["status"] != was[oid]
    ]
    if moved:
        session.execute(
            t.update()
            .where(
                t.c.order_id == bindparam("b_order"),
                *(t.c.status != final for final in FINAL),
            )
            .values(status=bindparam("b_status")),
            moved,
        )
    return results


def orders_named(session: Session, channel_id: int, numbers: Sequence[str]) -> list[dict[str, Any]]:
    """The channel's orders whose local or marketplace number is one of ``numbers``, with
    their items (two queries)."""
    o = Order.__table__
    wanted = sorted(set(numbers))
    rows = session.execute(
        select(o.c.id, o.c.number, o.c.remote_number, o.c.package_id, o.c.status)
        .where(
            o.c.channel_id == channel_id, or_(o.c.number.in_(wanted), o.c.remote_number.in_(wanted))
        )
        .order_by(o.c.id)
    ).mappings()
    orders = [dict(r) for r in rows]
    lines = order_items_of(session, [r["id"] for r in orders])
    for order in orders:
        order["items"] = lines[order["id"]]
    return orders


def find_orders(session: Session, number: str, channel_id: int | None = None) -> list[Order]:
    """Orders whose local number, or marketplace order number, is ``number``."""
    stmt = select(Order).where(or_(Order.number == number, Order.remote_number == number))
    if channel_id is not None:
        stmt = stmt.where(Order.channel_id == channel_id)
    return list(session.scalars(stmt.order_by(Order.id)))


def backwards_status(order: Order, status: str | None) -> str | None:
    """Why ``status`` may not replace the order's own, or None.

    The local order is what the order flows tell the marketplace, which never takes a
    status behind one it holds (seed section 8); an order moved back here would stay
    behind the marketplace's for good, and a cancelled or refunded order has ended."""
    current = order.status
    if status is None or status == current:
        return None
    if current in FINAL:
        return f"order {order.number} is {current}: its status cannot change any more"
    if status not in FINAL and rank(status) < rank(current):
        return (
            f"order {order.number} is {current}: its status cannot go back to {status} "
            "(the status of an order cannot be updated retrospectively)"
        )
    return None


def update_order(
    session: Session,
    order: Order,
    *,
    now: datetime,
    status: str | None = None,
    tracking_number: str | None = None,
    tracking_url: str | None = None,
    invoice_url: str | None = None,
    invoice_number: str | None = None,
    invoice_date: str | None = None,
) -> bool:
    """Change an order in the commerce backend (the seller's side moved it on); its live
    items follow the status.  Returns whether anything changed (a change takes a new
    version, which the order flows pick up).

    The invoice's number and date (Fashfed's Order Update sends them) live in the order's
    ``extra.invoice``; the moment an order first became ``shipped`` here is kept as
    ``extra.shipped_at``, so a shipped date sent later (with an invoice that came after)
    stays the day it shipped."""
    from pazar.commerce.versioning import next_version

    refused = backwards_status(order, status)
    if refused:
        raise ValidationError(refused)
    too_long = [
        f"{key.replace('_', ' ')}: at most {limit} characters, not {len(value)}"
        for key, value, limit in (
            ("tracking_number", tracking_number, Order.tracking_number.type.length),
            ("tracking_url", tracking_url, Order.tracking_url.type.length),
            ("invoice_url", invoice_url, Order.invoice_url.type.length),
            ("invoice_number", invoice_number, 255),
        )
        if value is not None and len(value) > limit
    ]
    if too_long:  # PostgreSQL refuses them with a DataError; SQLite kept them whole
        raise ValidationError(f"order {order.number}: not changed", details=too_long)
    changes = {
        k: v
        for k, v in {
            "status": status,
            "tracking_number": tracking_number,
            "tracking_url": tracking_url,
            "invoice_url": invoice_url,
        }.items()
        if v is not None and getattr(order, k) != v
    }
    extra = dict(order.extra or {})
    invoice = dict(extra.get("invoice") or {})
    for key, value in (("number", invoice_number), ("date", invoice_date)):
        if value is not None and invoice.get(key) != value:
            invoice[key] = value
    if invoice != dict(extra.get("invoice") or {}):
        extra["invoice"] = invoice
    if changes.get("status") == "shipped" and not extra.get("shipped_at"):
        extra["shipped_at"] = now.isoformat()
    if extra != dict(order.extra or {}):
        changes["extra"] = extra
    if not changes:
        return False
    for key, value in changes.items():
        setattr(order, key, value)
    if "status" in changes and status not in FINAL:
        t = OrderItem.__table__
        session.execute(
            t.update()
            .where(t.c.order_id == order.id, t.c.status.not_in(FINAL))
            .values(status=status)
        )
    order.version = next_version(session)
    order.updated_at = now
    return True
