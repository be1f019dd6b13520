"""``state.listings_snapshot``: what is on sale on a marketplace, per channel.

A marketplace source yields one item per listing (``data``: ``sku``, ``price``,
``stock``, ``status``, ``on_sale``, ``remote_id``); this sink writes each batch in
one statement under the id of the running read, and only when the source was
read to the end (``close``) does the read become the channel's snapshot and the
previous one go.  A read that fails half way stays ``reading`` and is thrown away
by the next one, so the dashboard never counts half a marketplace as the truth.
Nothing here holds more than one batch.

A marketplace whose listing API shows no prices or no stocks says so in its flow
(``unavailable: {price: why, stock: why}``): the read keeps that (``not available for
<Marketplace>: why``), its rows carry no such value whatever the source gave, the
dashboard shows the numbers that need it as not available rather than zero, and
reconciliation leaves that kind alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from pazar.models.ops import ListingRead, ListingSnapshot
from pazar.pipeline import Item, RunHandle, StepContext
from pazar.registry import StepType, batch_size_param, params_schema
from pazar.sqlbulk import dialect_insert, executemany

log = logging.getLogger("pazar.ops.snapshot")

MAX_PRICE = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_STOCK = 2**31 - 1
KINDS = ("price", "stock")


def current_read(session: Session, channel_id: int) -> ListingRead | None:
    """The channel's latest complete read (its rows are the snapshot), or None."""
    return session.scalar(
        select(ListingRead)
        .where(ListingRead.channel_id == channel_id, ListingRead.status == "complete")
        .order_by(ListingRead.id.desc())
        .limit(1)
    )


def _price(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"price {value!r} is not a number")
    try:
        price = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValueError(f"price {value!r} is not a number") from None
    if not price.is_finite() or abs(price) > MAX_PRICE:
        raise ValueError(f"price {value!r} is out of range")
    return price


def _stock(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"stock {value!r} is not a whole number")
    try:
        stock = int(value) if not isinstance(value, float) or value.is_integer() else None
    except ValueError:
        stock = None
    if stock is None:
        raise ValueError(f"stock {value!r} is not a whole number")
    if abs(stock) > MAX_STOCK:
        raise ValueError(f"stock {value!r} is out of range")
    return stock


def snapshot_row(
    read_id: int, data: Mapping[str, Any], unavailable: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One listing as the snapshot stores it; ValueError names what is wrong.

    A kind in ``unavailable`` (``price``, ``stock``) is stored as unknown (None)."""
    unseen = unavailable or {}
    sku = data.get("sku")
    if not isinstance(sku, str) or not sku.strip():
        raise ValueError("listing has no SKU")
    if len(sku) > 255:
        raise ValueError("SKU is longer than 255 characters")
    on_sale = data.get("on_sale", True)
    if not isinstance(on_sale, bool):
        raise ValueError(f"on_sale {on_sale!r} is not true or false")
    status = str(data.get("status") or ("on_sale" if on_sale else "not_on_sale"))[:64]
    remote = data.get("remote_id")
    return {
        "read_id": read_id,
        "sku": sku.strip(),
        "remote_id": None if remote in (None, "") else str(remote)[:255],
        "price": None if "price" in unseen else _price(data.get("price")),
        "stock": None if "stock" in unseen else _stock(data.get("stock")),
        "status": status,
        "on_sale": on_sale,
    }


def _forget_unfinished(session: Session, channel_id: int, keep: int | None, now: Any) -> None:
    """Drop the rows of every read of the channel but ``keep`` and mark open reads abandoned.

    Set-based: one DELETE over the reads' ids, one UPDATE.
    """
    reads = select(ListingRead.id).where(ListingRead.channel_id == channel_id)
    if keep is not None:
        reads = reads.where(ListingRead.id != keep)
    snap = ListingSnapshot.__table__
    session.execute(delete(snap).where(snap.c.read_id.in_(reads.scalar_subquery())))
    session.execute(
        update(ListingRead)
        .where(ListingRead.channel_id == channel_id, ListingRead.status == "reading")
        .where(ListingRead.id != (keep or 0))
        .values(status="abandoned", finished_at=now)
    )


def unavailable_kinds(read: ListingRead | None) -> dict[str, str]:
    """The kinds (price, stock) ``read`` could not see, with why (empty: it saw both)."""
    found = (read.unavailable if read is not None else None) or {}
    return {kind: str(found[kind]) for kind in KINDS if kind in found}


def unavailable_reasons(ctx: StepContext) -> dict[str, str]:
    """The flow's ``unavailable`` param as the read keeps it: each kind the marketplace does
    not show, with ``not available for <its title>: <why>``."""
    given = ctx.params.get("unavailable") or {}
    if not given:
        return {}
    market = getattr(ctx.registry, "marketplaces", {}).get(ctx.channel.plugin)
    title = getattr(market, "title", None) or ctx.channel.plugin
    return {
        kind: f"not available for {title}: {str(given[kind]).strip()}"
        for kind in KINDS
        if kind in given
    }


class ListingsSnapshotSink:
    """Writes a channel's listings as a new snapshot, replacing the previous one at the end."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.read_id: int | None = None
        self.count = 0
        self.reconcile = bool(ctx.params.get("reconcile", True))
        self.unavailable = unavailable_reasons(ctx)

    def render(self, items: list[Item]) -> list[Any]:
        return [dict(item.data) for item in items]

    def _begin(self, run: RunHandle) -> int:
        ctx = self.ctx
        now = ctx.clock.now()
        with ctx.db.session() as session:
            current = current_read(session, ctx.channel.id)
            _forget_unfinished(session, ctx.channel.id, current.id if current else None, now)
            read = ListingRead(
                channel_id=ctx.channel.id,
                run_id=run.run_id,
                status="reading",
                listings=0,
                started_at=now,
                unavailable=self.unavailable or None,
            )
            session.add(read)
            session.flush()
            self.read_id = read.id
        return self.read_id

    def send(self, items: list[Item], run: RunHandle) -> None:
        read_id = self.read_id if self.read_id is not None else self._begin(run)
        rows: dict[str, dict[str, Any]] = {}
        for item in items:
            try:
                row = snapshot_row(read_id, item.data, self.unavailable)
            except ValueError as exc:
                run.fail(item, f"listing {item.key}: {exc}", "remote")
                continue
            rows[row["sku"]] = row  # a listing seen twice (pages shifting): the last wins
        if not rows:
            return
        table = ListingSnapshot.__table__
        with self.ctx.db.session() as session:
            stmt = dialect_insert(session, table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["read_id", "sku"],
                set_={
                    c: stmt.excluded[c]
                    for c in ("remote_id", "price", "stock", "status", "on_sale")
                },
            )
            executemany(session, table, stmt, list(rows.values()))
        self.count += len(rows)

    def _abandon(self, run: RunHandle) -> None:
        """A run limited to some listings read part of the marketplace: never a snapshot."""
        if self.read_id is not None:
            with self.ctx.db.session() as session:
                snap = ListingSnapshot.__table__
                session.execute(delete(snap).where(snap.c.read_id == self.read_id))
                session.execute(
                    update(ListingRead)
                    .where(ListingRead.id == self.read_id)
                    .values(status="abandoned", finished_at=self.ctx.clock.now())
                )
        run.log(
            None,
            "a run limited to some listings (--limit, --sku) leaves the listings snapshot "
            "as it was",
            "warning",
        )

    def close(self, run: RunHandle) -> None:
        """The source was read to the end: this read becomes the channel's snapshot."""
        if self.ctx.dry_run or getattr(run, "dry_run", False):
            return
        if self.ctx.limit is not None or self.ctx.keys is not None:
            self._abandon(run)
            return
        read_id = self.read_id if self.read_id is not None else self._begin(run)
        ctx = self.ctx
        now = ctx.clock.now()
        with ctx.db.session() as session:
            snap = ListingSnapshot.__table__
            # Counted, not summed from batches: a SKU repeated across pages is one listing.
            count = session.scalar(
                select(func.count()).select_from(snap).where(snap.c.read_id == read_id)
            )
            session.execute(
                update(ListingRead)
                .where(ListingRead.id == read_id)
                .values(status="complete", finished_at=now, listings=int(count or 0))
            )
            session.execute(
                update(ListingRead)
                .where(
                    ListingRead.channel_id == ctx.channel.id,
                    ListingRead.status == "complete",
                    ListingRead.id != read_id,
                )
                .values(status="replaced")
            )
        with ctx.db.session() as session:
            _forget_unfinished(session, ctx.channel.id, read_id, now)
            if ctx.db.dialect == "postgresql":
                # The table was rewritten wholesale: statistics from before would have the
                # planner expect a handful of rows and hash the whole snapshot in batches.
                session.execute(text("ANALYZE listing_snapshots"))
        run.log(None, f"listings snapshot: {int(count or 0)} listings read")
        if self.reconcile:
            from pazar.ops.reconcile import after_snapshot

            after_snapshot(
                ctx.db, ctx.channel, read_id, config=ctx.config, clock=ctx.clock, run=run
            )


STEP_TYPES = [
    StepType(
        name="state.listings_snapshot",
        kind="sink",
        factory=ListingsSnapshotSink,
        params_schema=params_schema(
            batch_size=batch_size_param(
                "Listings written per statement.", default=1000, maximum=10000
            ),
            reconcile={
                "type": "boolean",
                "default": True,
                "description": "After a complete read: record the dashboard numbers and queue "
                "price/stock corrections (per the channel's reconciliation config).",
            },
            unavailable={
                "type": "object",
                "properties": {
                    kind: {"type": "string", "minLength": 1, "maxLength": 200} for kind in KINDS
                },
                "additionalProperties": False,
                "default": {},
                "description": "What the marketplace's listings do not show, with why "
                "(price, stock): stored as unknown, the dashboard numbers that need it show "
                "'not available for <marketplace>: <why>' and reconciliation leaves that "
                "kind alone.",
            },
        ),
        description="Store the listings read (data: sku, price, stock, status, on_sale, "
        "remote_id) as the channel's snapshot once the whole marketplace was read; then "
        "record the dashboard numbers and reconcile prices and stocks (those it shows: "
        "unavailable).",
    )
]
