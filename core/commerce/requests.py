"""Refund and cancellation requests on order items, both ways.

Inbound: a marketplace's refund (a claim) becomes an ``open`` refund request once per
(channel, claim id); a package the marketplace broke cancels the order made of it.
Outbound: decisions taken here on marketplace refunds (``pazar refunds approve/reject``)
and cancellations made here (``pazar orders cancel-items``, ``origin = local``) are
selected for the marketplace in one indexed query a page, each change once (an
integration action per request and flow), never a request that came from the
marketplace itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from pazar.commerce.statuses import UNREPORTED_MESSAGE, UNREPORTED_STATUSES
from pazar.commerce.unsent import unsent_changes
from pazar.commerce.versioning import reserve_versions
from pazar.errors import NotFoundError, ValidationError
from pazar.models.channels import Channel
from pazar.models.commerce import CancellationReason, CancellationRequest, Order, OrderItem
from pazar.sqlbulk import dialect_insert


def known_requests(
    session: Session, channel_id: int, kind: str, remote_ids: Sequence[str]
) -> set[str]:
    """Which of the marketplace's request ids (claim numbers, ...) are stored already."""
    r = CancellationRequest.__table__
    found: set[str] = set()
    unique = sorted(set(remote_ids))
    for start in range(0, len(unique), 900):
        found.update(
            session.scalars(
                select(r.c.remote_id).where(
                    r.c.channel_id == channel_id,
                    r.c.kind == kind,
                    r.c.remote_id.in_(unique[start : start + 900]),
                )
            )
        )
    return found


def package_statuses(
    session: Session, channel_id: int, package_ids: Sequence[str]
) -> dict[str, str]:
    """Per package imported here: ``cancelled`` when none of its items is live, else the
    status of its order."""
    o = Order.__table__
    t = OrderItem.__table__
    live = func.count(case((t.c.status != "cancelled", 1)))
    out: dict[str, str] = {}
    unique = sorted(set(package_ids))
    for start in range(0, len(unique), 900):
        rows = session.execute(
            select(o.c.package_id, func.max(o.c.status), live.label("live"))
            .select_from(o.outerjoin(t, t.c.order_id == o.c.id))
            .where(o.c.channel_id == channel_id, o.c.package_id.in_(unique[start : start + 900]))
            .group_by(o.c.package_id)
        )
        for package, status, alive in rows:
            out[package] = "cancelled" if not alive else str(status)
    return out


def _items_by_line(
    session: Session, channel_id: int, numbers: Sequence[str]
) -> dict[tuple[str, str], tuple[int, int, str]]:
    """(order number, line id) → (item id, order id, item status), one query a page."""
    o = Order.__table__
    t = OrderItem.__table__
    found: dict[tuple[str, str], tuple[int, int, str]] = {}
    unique = sorted(set(numbers))
    for start in range(0, len(unique), 900):
        rows = session.execute(
            select(o.c.remote_number, t.c.remote_id, t.c.id, o.c.id, t.c.status)
            .join(o, o.c.id == t.c.order_id)
            .where(o.c.channel_id == channel_id, o.c.remote_number.in_(unique[start : start + 900]))
        )
        found.update({(n, r): (i, oid, st) for n, r, i, oid, st in rows})
    return found


def _known_reasons(session: Session, ids: set[Any]) -> set[int]:
    if not ids:
        return set()
    return set(session.scalars(select(CancellationReason.id).where(CancellationReason.id.in_(ids))))


def create_refund_requests(
    session: Session,
    channel_id: int,
    refunds: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
) -> list[tuple[int | None, bool, str | None]]:
    """Store a marketplace's refunds as ``open`` refund requests, each once.

    A refund: ``remote_id`` (the marketplace's id, e.g. a claim number),
    ``remote_number`` and ``item_remote_id`` (its order and line), ``reason_id`` (local
    refund reason), ``remote_reason``, ``explanation``, ``photo_urls``.  Per refund
    ``(request id, created, problem)``: a line not imported yet or a reason id that does
    not exist is a problem (nothing stored; a later run tries again).
    """
    r = CancellationRequest.__table__
    stored = dict(
        session.execute(
            select(r.c.remote_id, r.c.id).where(
                r.c.channel_id == channel_id,
                r.c.kind == "refund",
                r.c.remote_id.in_(sorted({str(x["remote_id"]) for x in refunds})),
            )
        ).all()
    )
    found = _items_by_line(session, channel_id, [str(x["remote_number"]) for x in refunds])
    reasons = _known_reasons(session, {x.get("reason_id") for x in refunds} - {None})
    results: list[tuple[int | None, bool, str | None]] = []
    new: dict[str, dict[str, Any]] = {}
    for refund in refunds:
        remote_id = str(refund["remote_id"])
        line = (str(refund["remote_number"]), str(refund["item_remote_id"]))
        reason = refund.get("reason_id")
        if remote_id in stored:
            results.append((stored[remote_id], False, None))
        elif reason is not None and reason not in reasons:
            results.append((None, False, f"refund reason id {reason} does not exist locally"))
        elif line not in found:
            results.append((None, False, f"order {line[0]} line {line[1]} is not imported yet"))
        else:
            results.append((None, remote_id not in new, None))
            new.setdefault(remote_id, {"refund": refund, "item": found[line][0]})
    if not new:
        return results
    first = reserve_versions(session, len(new))
    rows = [
        {
            "channel_id": channel_id,
            "order_item_id": v["item"],
            "kind": "refund",
            "origin": "marketplace",
            "remote_id": remote_id,
            "status": "open",
            "reason_id": v["refund"].get("reason_id"),
            "remote_reason": v["refund"].get("remote_reason"),
            "explanation": v["refund"].get("explanation"),
            "photo_urls": list(v["refund"].get("photo_urls") or []),
            "version": first + n,
            "created_at": now,
            "updated_at": now,
        }
        for n, (remote_id, v) in enumerate(new.items())
    ]
    session.execute(
        dialect_insert(session, r).on_conflict_do_nothing(
            index_elements=["channel_id", "kind", "remote_id"]
        ),
        rows,
    )
    ids = dict(
        session.execute(
            select(r.c.remote_id, r.c.id).where(
                r.c.channel_id == channel_id, r.c.kind == "refund", r.c.remote_id.in_(list(new))
            )
        ).all()
    )
    return [
        (ids.get(str(x["remote_id"])), created, None)
        if i is None and problem is None
        else (i, created, problem)
        for x, (i, created, problem) in zip(refunds, results, strict=True)
    ]


def cancel_packages(
    session: Session,
    channel_id: int,
    cancellations: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
) -> list[tuple[int | None, bool, str | None]]:
    """Cancel the orders made of packages the marketplace broke (unpacked, lost, ...).

    A cancellation: ``package_id``, ``reason_id`` (local cancel reason), ``remote_reason``,
    ``remote_id`` (the marketplace's id of the event; the package id when it has none).
    Every live item of the package's orders becomes ``cancelled`` with the reason and an
    approved ``cancel`` request (``{remote_id}/{line id}``); the orders become
    ``cancelled``.  Per cancellation ``(order id, cancelled now, problem)``; a package not
    imported here is ``(None, False, None)``.
    """
    o = Order.__table__
    t = OrderItem.__table__
    packages = sorted({str(c["package_id"]) for c in cancellations})
    items: dict[str, list[Any]] = {}
    for start in range(0, len(packages), 900):
        rows = session.execute(
            select(o.c.package_id, o.c.id.label("order_id"), t.c.id, t.c.remote_id, t.c.status)
            .join(t, t.c.order_id == o.c.id)
            .where(o.c.channel_id == channel_id, o.c.package_id.in_(packages[start : start + 900]))
        )
        for row in rows:
            items.setdefault(row.package_id, []).append(row)
    reasons = _known_reasons(session, {c.get("reason_id") for c in cancellations} - {None})
    results: list[tuple[int | None, bool, str | None]] = []
    cancel: dict[int, tuple[Mapping[str, Any], Any]] = {}
    orders: set[int] = set()
    for c in cancellations:
        rows = items.get(str(c["package_id"]), [])
        reason = c.get("reason_id")
        if reason is not None and reason not in reasons:
            results.append((None, False, f"cancellation reason id {reason} does not exist locally"))
            continue
        if not rows:
            results.append((None, False, None))
            continue
        live = [row for row in rows if row.status != "cancelled" and row.id not in cancel]
        for row in live:
            cancel[row.id] = (c, row)
            orders.add(row.order_id)
        results.append((rows[0].order_id, bool(live), None))
    if not cancel:
        return results
    session.execute(
        t.update()
        .where(t.c.id == bindparam("b_id"))
        .values(status="cancelled", cancellation_reason_id=bindparam("b_reason")),
        [{"b_id": i, "b_reason": c.get("reason_id")} for i, (c, _) in cancel.items()],
    )
    first = reserve_versions(session, len(orders) + len(cancel))
    session.execute(
        o.update()
        .where(o.c.id == bindparam("b_id"))
        .values(status="cancelled", version=bindparam("b_version"), updated_at=now),
        [{"b_id": oid, "b_version": first + n} for n, oid in enumerate(sorted(orders))],
    )
    first += len(orders)
    session.execute(
        dialect_insert(session, CancellationRequest.__table__).on_conflict_do_nothing(
            index_elements=["channel_id", "kind", "remote_id"]
        ),
        [
            {
                "channel_id": channel_id,
                "order_item_id": item_id,
                "kind": "cancel",
                "origin": "marketplace",
                "remote_id": f"{c.get('remote_id') or c['package_id']}/{row.remote_id}",
                "status": "approved",
                "reason_id": c.get("reason_id"),
                "remote_reason": c.get("remote_reason"),
                "explanation": None,
                "photo_urls": [],
                "version": first + n,
                "created_at": now,
                "updated_at": now,
            }
            for n, (item_id, (c, row)) in enumerate(cancel.items())
        ],
    )
    return results


def cancel_locally(
    session: Session,
    channel_id: int,
    order_number: str,
    item_remote_ids: Sequence[str],
    reason_id: int,
    *,
    now: datetime,
) -> list[str]:
    """Cancel order items in the commerce backend (a partial cancellation made here).

    Each item becomes ``cancelled`` with an approved ``cancel`` request of origin
    ``local`` (its line id as the request's remote id, so the marketplace's echo of the
    cancellation is recognised as the same one); the marketplace hears of it through the
    ``send_cancel_order_items`` flow.  Refused, changing nothing: an unknown order, line
    or reason, an item cancelled already, an order not reported to the ERP yet (the
    seed's message).  Returns the cancelled line ids.
    """
    o = Order.__table__
    t = OrderItem.__table__
    order = session.execute(
        select(o.c.id, o.c.number, o.c.status).where(
            o.c.channel_id == channel_id,
            or_(o.c.number == order_number, o.c.remote_number == order_number),
        )
    ).all()
    if not order:
        raise NotFoundError(f"no order {order_number!r} on this channel")
    if len(order) > 1:
        raise ValidationError(
            f"order {order_number!r} is {len(order)} packages: name one by its local number "
            f"({', '.join(sorted(r.number for r in order))})"
        )
    order_id, number, status = order[0]
    if status in UNREPORTED_STATUSES:
        raise ValidationError(
            f"{UNREPORTED_MESSAGE} (order {number} is {status}; the backend reports it to "
            "the ERP by moving it on: pazar orders update NUMBER --status preparing)"
        )
    if not _known_reasons(session, {reason_id}):
        raise ValidationError(f"cancellation reason id {reason_id} does not exist locally")
    rows = {
        r.remote_id: r
        for r in session.execute(
            select(t.c.id, t.c.remote_id, t.c.status).where(t.c.order_id == order_id)
        )
    }
    wanted = list(dict.fromkeys(str(i) for i in item_remote_ids))
    unknown = [i for i in wanted if i not in rows]
    if unknown:
        raise ValidationError(
            f"order {number} has no item {', '.join(unknown)} (items: {', '.join(sorted(rows))})"
        )
    done = [i for i in wanted if rows[i].status == "cancelled"]
    if done:
        raise ValidationError(f"order {number}: item {', '.join(done)} is cancelled already")
    first = reserve_versions(session, len(wanted) + 1)
    session.execute(
        t.update()
        .where(t.c.id.in_([rows[i].id for i in wanted]))
        .values(status="cancelled", cancellation_reason_id=reason_id)
    )
    session.execute(o.update().where(o.c.id == order_id).values(version=first, updated_at=now))
    session.execute(
        CancellationRequest.__table__.insert(),
        [
            {
                "channel_id": channel_id,
                "order_item_id": rows[line].id,
                "kind": "cancel",
                "origin": "local",
                "remote_id": line,
                "status": "approved",
                "reason_id": reason_id,
                "remote_reason": None,
                "explanation": None,
                "photo_urls": [],
                "version": first + 1 + n,
                "created_at": now,
                "updated_at": now,
            }
            for n, line in enumerate(wanted)
        ],
    )
    return wanted


def _request_page(
    channel_id: int,
    content_type: str,
    *,
    now: datetime,
    after: int,
    limit: int,
    conds: Sequence[Any],
) -> Any:
    """A page (by version) of requests not sent for ``content_type`` since their last
    change, not held back by a penalty, with their order and line."""
    r = CancellationRequest.__table__
    t = OrderItem.__table__
    o = Order.__table__
    unsent = unsent_changes(channel_id, content_type, r.c.id, r.c.version, now=now, after=after)
    a = unsent.sent
    base = (
        r.join(t, t.c.id == r.c.order_item_id)
        .join(o, o.c.id == t.c.order_id)
        .outerjoin(a, unsent.on)
    )
    return (
        select(
            r.c.id,
            r.c.version,
            r.c.remote_id,
            r.c.status,
            r.c.reason_id,
            r.c.remote_reason,
            r.c.explanation,
            r.c.photo_urls,
            t.c.remote_id.label("item_remote_id"),
            t.c.sku,
            t.c.quantity,
            o.c.number,
            o.c.remote_number,
            o.c.package_id,
            o.c.status.label("order_status"),
            a.c.payload_hash.label("last_payload_hash"),
        )
        .select_from(base)
        .where(r.c.channel_id == channel_id, *unsent.where, *conds)
        .order_by(r.c.version)
        .limit(limit)
    )


def decisions_query(
    channel_id: int, content_type: str, status: str, *, now: datetime, after: int, limit: int
) -> Any:
    """Refund requests from the marketplace decided here (``status``) and not sent yet."""
    r = CancellationRequest.__table__
    return _request_page(
        channel_id,
        content_type,
        now=now,
        after=after,
        limit=limit,
        conds=[
            r.c.kind == "refund",
            r.c.origin == "marketplace",
            r.c.status == status,
            r.c.remote_id.is_not(None),
        ],
    )


def local_cancellations_query(
    channel_id: int,
    content_type: str,
    *,
    now: datetime,
    after: int,
    limit: int,
    marketplace_reasons: Sequence[int] = (),
) -> Any:
    """Cancellations made here (origin ``local``) not sent yet; a cancellation carrying a
    reason the channel uses for the marketplace's own cancellations is never sent."""
    r = CancellationRequest.__table__
    conds = [r.c.kind == "cancel", r.c.origin == "local"]
    if marketplace_reasons:
        conds.append(or_(r.c.reason_id.is_(None), r.c.reason_id.not_in(list(marketplace_reasons))))
    return _request_page(channel_id, content_type, now=now, after=after, limit=limit, conds=conds)


# -- listing refund requests (pazar refunds, the web's Reject Refund screen) ----------------
def refund_rows(session: Session, stmt: Any) -> list[dict[str, Any]]:
    """Rows of :func:`refund_query` as ``pazar refunds`` and the web's Reject Refund show them."""
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


def refund_query() -> Any:
    """Refund requests with their channel, order number, SKU and reason name."""
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
