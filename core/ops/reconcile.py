"""Price and stock reconciliation: differences between the commerce backend and the
listings snapshot, and their correction through the normal stock and price flows.

A difference is *correctable* when pazar believes it sent the current value and the
marketplace shows another: the record's integration action is at its current
version and older than the read, no batch has it in flight and no penalty holds
it.  Anything else is reported with its state and left alone — a local change not
sent yet goes out anyway, an upload in flight may still land, a penalty has its
own retry policy, and a record sent after the read began may already be right.

Queuing a correction is set-based: the integration actions of the chosen records
lose their version and payload hash (one UPDATE), so the change stream of the
stock or price flow selects them again and ``state.skip_unchanged`` cannot drop
them, and the stream's cursor moves back below them (one UPDATE).  Each correction
is kept in ``reconcile_corrections`` and logged on the listings run.  At most
``reconciliation.max_corrections`` of each kind per read.

A kind the read could not see (``ListingRead.unavailable``: a marketplace whose
listings show no prices or stocks) is never queued: pazar corrects no difference it
cannot see.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, and_, case, false, func, select, true, update
from sqlalchemy.orm import Session

from pazar.models.commerce import CatalogItem, Price, Product, Stock
from pazar.models.ops import ListingRead, ListingSnapshot, ReconcileCorrection
from pazar.models.state import (
    BatchRequest,
    BatchRequestItem,
    FailedIntegration,
    IntegrationAction,
    SyncCursor,
)
from pazar.ops.settings import (
    PRICE_CONTENT_TYPE,
    STOCK_CONTENT_TYPE,
    buffer_stock,
    reconciliation,
)
from pazar.ops.snapshot import unavailable_kinds
from pazar.sqlbulk import executemany

log = logging.getLogger("pazar.ops.reconcile")

Kind = Literal["price", "stock"]
KINDS: tuple[Kind, ...] = ("price", "stock")
CONTENT_TYPE: dict[str, str] = {"price": PRICE_CONTENT_TYPE, "stock": STOCK_CONTENT_TYPE}
STREAM: dict[str, str] = {"price": "prices", "stock": "stocks"}

# Difference states, most telling first (see the module docstring).
STATES = (
    "penalised",
    "in_flight",
    "no_local_stock",
    "correction_queued",
    "pending_change",
    "changed_after_read",
    "correctable",
)


@dataclass(frozen=True)
class Scope:
    """Which snapshot, catalog and settings a difference query reads."""

    channel_id: int
    catalog_id: int | None
    read_id: int
    read_started_at: datetime
    buffer: int


def scope_for(session: Session, channel: Any, read: ListingRead) -> Scope:
    from pazar.ops.dashboard import _catalog_id

    return Scope(
        channel_id=channel.id,
        catalog_id=_catalog_id(session, channel),
        read_id=read.id,
        read_started_at=read.started_at,
        buffer=buffer_stock(channel.config),
    )


def in_flight_batch(channel_id: int, content_type: str, object_id: Any) -> Any:
    """The local batch id of a batch that holds ``object_id`` in flight for this content
    type (a scalar subquery, NULL when none): the reconciliation's differences and the
    not-listed report both say a product is in flight this way, so they agree."""
    item = BatchRequestItem.__table__.alias("flight")
    batch = BatchRequest.__table__.alias("flight_batch")
    return (
        select(batch.c.local_batch_id)
        .select_from(item.join(batch, batch.c.id == item.c.batch_id))
        .where(item.c.channel_id == channel_id, item.c.content_type == content_type)
        .where(item.c.object_id == object_id, item.c.in_flight.is_(true()))
        .limit(1)
        .scalar_subquery()
    )


def difference_query(kind: Kind, scope: Scope) -> Select[Any]:
    """Every catalog product whose listing shows another ``kind`` than pazar's, by SKU,
    with the local and marketplace values and its state (one of ``STATES``)."""
    p, ci, s = Product.__table__, CatalogItem.__table__, ListingSnapshot.__table__
    ct = CONTENT_TYPE[kind]
    ia = IntegrationAction.__table__.alias("ia")
    pen = FailedIntegration.__table__.alias("pen")
    fix = ReconcileCorrection.__table__.alias("fix")
    if kind == "price":
        local_table = Price.__table__
        local: Any = local_table.c.price
        remote: Any = s.c.price
        base = s.join(p, p.c.sku == s.c.sku).join(local_table, local_table.c.product_id == p.c.id)
        differs = and_(remote.is_not(None), local != remote)
        expected: Any = local
    else:
        local_table = Stock.__table__
        local = func.coalesce(local_table.c.quantity, 0)
        remote = s.c.stock
        base = s.join(p, p.c.sku == s.c.sku).outerjoin(
            local_table, local_table.c.product_id == p.c.id
        )
        expected = case((local - scope.buffer > 0, local - scope.buffer), else_=0)
        differs = and_(remote.is_not(None), remote != expected)
    version = local_table.c.version
    base = base.join(
        ci,
        and_(
            ci.c.product_id == p.c.id,
            ci.c.catalog_id == (scope.catalog_id if scope.catalog_id is not None else -1),
            ci.c.deleted.is_(false()),
        ),
    ).outerjoin(
        ia,
        and_(
            ia.c.channel_id == scope.channel_id, ia.c.content_type == ct, ia.c.object_id == p.c.id
        ),
    )
    penalty = (
        select(pen.c.message)
        .where(pen.c.channel_id == scope.channel_id, pen.c.content_type == ct)
        .where(pen.c.object_id == p.c.id)
        .limit(1)
        .scalar_subquery()
    )
    in_flight = in_flight_batch(scope.channel_id, ct, p.c.id)
    queued = (
        select(fix.c.id)
        .where(fix.c.read_id == scope.read_id, fix.c.content_type == ct)
        .where(fix.c.object_id == p.c.id)
        .exists()
    )
    state = case(
        (penalty.is_not(None), "penalised"),
        (in_flight.is_not(None), "in_flight"),
        (version.is_(None), "no_local_stock"),
        (queued, "correction_queued"),
        (and_(ia.c.id.is_not(None), ia.c.version < version), "pending_change"),
        (
            and_(ia.c.id.is_not(None), ia.c.updated_at >= scope.read_started_at),
            "changed_after_read",
        ),
        else_="correctable",
    )
    return (
        select(
            p.c.id.label("object_id"),
            p.c.sku.label("sku"),
            p.c.name.label("name"),
            local.label("local"),
            expected.label("expected"),
            remote.label("marketplace"),
            s.c.status.label("listing_status"),
            version.label("version"),
            state.label("state"),
            penalty.label("penalty"),
            in_flight.label("local_batch_id"),
        )
        .select_from(base)
        .where(
            s.c.read_id == scope.read_id,
            p.c.product_type == "simple",
            p.c.active.is_(true()),
            differs,
        )
        .order_by(p.c.sku)
    )


def iter_differences(db: Any, kind: Kind, scope: Scope, *, page: int = 1000) -> Iterator[dict]:
    """The differences of ``kind`` row by row, streamed (server-side cursor on PostgreSQL)."""
    stmt = difference_query(kind, scope)
    with db.session() as session:
        result = session.execute(stmt.execution_options(stream_results=True, yield_per=page))
        for row in result.mappings():
            yield dict(row)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:64]


def queue_corrections(
    session: Session,
    kind: Kind,
    scope: Scope,
    *,
    limit: int,
    now: datetime,
    run_id: int | None = None,
) -> list[dict[str, Any]]:
    """Queue at most ``limit`` correctable differences of ``kind``; returns what was queued."""
    if limit <= 0:
        return []
    inner = difference_query(kind, scope).order_by(None).subquery()
    rows = [
        dict(r)
        for r in session.execute(
            select(inner).where(inner.c.state == "correctable").order_by(inner.c.sku).limit(limit)
        ).mappings()
    ]
    if not rows:
        return []
    ct = CONTENT_TYPE[kind]
    ids = [int(r["object_id"]) for r in rows]
    ia = IntegrationAction.__table__
    for start in range(0, len(ids), 5000):
        session.execute(
            update(ia)
            .where(
                ia.c.channel_id == scope.channel_id,
                ia.c.content_type == ct,
                ia.c.object_id.in_(ids[start : start + 5000]),
            )
            .values(version=0, payload_hash=None, updated_at=now)
        )
    floor = min(int(r["version"]) for r in rows) - 1
    cursors = SyncCursor.__table__
    session.execute(
        update(cursors)
        .where(
            cursors.c.channel_id == scope.channel_id,
            cursors.c.content_type == ct,
            cursors.c.source == STREAM[kind],
            cursors.c.version > floor,
        )
        .values(version=max(floor, 0), updated_at=now)
    )
    table = ReconcileCorrection.__table__
    executemany(
        session,
        table,
        table.insert(),
        [
            {
                "channel_id": scope.channel_id,
                "read_id": scope.read_id,
                "run_id": run_id,
                "content_type": ct,
                "object_id": int(r["object_id"]),
                "object_key": str(r["sku"]),
                "local_value": _text(r["expected"]),
                "remote_value": _text(r["marketplace"]),
                "created_at": now,
            }
            for r in rows
        ],
    )
    return rows


def after_snapshot(
    db: Any,
    channel: Any,
    read_id: int,
    *,
    config: Mapping[str, Any] | None,
    clock: Any,
    run: Any = None,
) -> dict[str, int]:
    """A read completed: queue corrections (unless report only) and record the numbers.

    One transaction: the corrections and the history row they are counted in.
    """
    from pazar.ops.dashboard import compute, record

    settings = reconciliation(config if config is not None else channel.config)
    now = clock.now()
    queued: dict[str, list[dict[str, Any]]] = {"price": [], "stock": []}
    with db.session() as session:
        read = session.get(ListingRead, read_id)
        if read is None:
            return {"price": 0, "stock": 0}
        scope = scope_for(session, channel, read)
        unseen = unavailable_kinds(read)
        if settings.auto_correct:
            for kind in KINDS:
                if kind in unseen:
                    continue
                queued[kind] = queue_corrections(
                    session,
                    kind,
                    scope,
                    limit=settings.max_corrections,
                    now=now,
                    run_id=getattr(run, "run_id", None),
                )
        counts = {kind: len(rows) for kind, rows in queued.items()}
        board = compute(session, channel, read=read)
        record(session, board, channel.id, now=now, corrections=counts)
    if run is not None:
        for kind in KINDS:
            for row in queued[kind]:
                run.log(
                    str(row["sku"]),
                    f"{kind} correction queued: pazar {row['expected']}, "
                    f"marketplace {row['marketplace']}",
                )
        differences = (
            f"{board.price_differences} price and {board.stock_differences} stock differences"
            if not unseen
            else ", ".join(
                f"{kind} differences {unseen[kind]}"
                if kind in unseen
                else f"{getattr(board, kind + '_differences')} {kind} differences"
                for kind in KINDS
            )
        )
        if not settings.auto_correct:
            fixes = "reconciliation.auto_correct is off: differences reported only"
        else:
            fixes = "corrections queued: " + ", ".join(
                f"{counts[kind]} {kind}" for kind in KINDS if kind not in unseen
            )
            if len(unseen) == len(KINDS):
                fixes = "nothing to correct: neither prices nor stocks are shown"
        run.log(
            None,
            f"dashboard: {board.skus_on_sale} of {board.total_skus} SKUs on sale, "
            f"{board.sku_difference} saleable not on sale, {differences}; {fixes}",
        )
    return counts


def correction_counts(session: Session, channel_id: int, since: datetime) -> dict[str, int]:
    """Corrections queued since ``since``, by kind (for metrics and reports)."""
    t = ReconcileCorrection.__table__
    rows = session.execute(
        select(t.c.content_type, func.count())
        .where(t.c.channel_id == channel_id, t.c.created_at >= since)
        .group_by(t.c.content_type)
    ).all()
    by_ct = {str(ct): int(n) for ct, n in rows}
    return {kind: by_ct.get(CONTENT_TYPE[kind], 0) for kind in KINDS}
