"""Selection benchmark: the next changed, eligible, not-in-flight stocks.

Data (built set-based, INSERT ... SELECT over a generated series):
  --products products (default 1,000,000) in the channel's catalog, each with a
  stock and a price, all integrated once (an integration action at their
  version, the stream cursor past them); then --penalties stocks (default
  100,000) change again and are penalised (half exhausted, half waiting), and
  --changed stocks (default 10,000) change after them (healthy), 10% of which
  are in flight in an open batch request.  The penalised changes come first in
  version order: the worst case for a queue that must not starve.

Measures, on SQLite (a temp file) and with ``--pg URL`` on PostgreSQL (in a
throwaway schema):
  - the first page (--page, default 500) of the change stream and of due retries,
    i.e. what a run's first batch reads (cold, then best of 5);
  - draining every eligible changed stock page by page;
and prints each query plan (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE).

    python bench/bench_selection.py [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Boolean, Integer, create_engine, literal, select, text, update  # noqa: E402

from pazar.commerce.synthetic import make_catalog, make_channel  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.models.state import BatchRequest, BatchRequestItem, FailedIntegration, IntegrationAction  # noqa: E402
from pazar.state.selection import (  # noqa: E402
    Scope,
    advance_cursor,
    commerce_table,
    explain,
    selection_query,
    wants_fence,
)

CT = "productstock"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def build(db: Database, n: int, n_pen: int, n_changed: int) -> Scope:
    t0 = time.perf_counter()
    pen_every = max(n // n_pen, 1)
    changed_every = max(n // n_changed, 1)
    with db.session() as session:
        channel = make_channel(session, "bench", {})
        conn = session.connection()
        catalog_id = make_catalog(conn, n=n, catalog_code="bench")
        stocks = commerce_table("stocks")
        products = commerce_table("products")
        ia = IntegrationAction.__table__
        conn.execute(
            ia.insert().from_select(
                [
                    "channel_id",
                    "content_type",
                    "object_id",
                    "object_key",
                    "version",
                    "payload_hash",
                    "status",
                    "updated_at",
                ],
                select(
                    literal(channel.id, Integer()),
                    literal(CT),
                    stocks.c.product_id,
                    products.c.sku,
                    stocks.c.version,
                    literal("0" * 64),
                    literal("success"),
                    literal(NOW, IntegrationAction.updated_at.type),
                ).select_from(stocks.join(products, products.c.id == stocks.c.product_id)),
            )
        )
        advance_cursor(
            session, channel_id=channel.id, content_type=CT, source="stocks", version=2 * n, now=NOW
        )
        # penalised stocks change first (versions 2n+1 ..), the healthy ones after them
        pid = stocks.c.product_id
        penalised = pid % pen_every == 0
        healthy = (pid % changed_every == 5 % changed_every) & ~penalised
        conn.execute(
            update(stocks).where(penalised).values(version=2 * n + pid / pen_every, quantity=0)
        )
        conn.execute(update(stocks).where(healthy).values(version=3 * n + pid, quantity=7))
        f = FailedIntegration.__table__
        exhausted = pid % (2 * pen_every) == 0
        conn.execute(
            f.insert().from_select(
                [
                    "channel_id",
                    "content_type",
                    "object_id",
                    "object_key",
                    "version",
                    "reason_type",
                    "message",
                    "retry_count",
                    "max_retry_count",
                    "retry_interval",
                    "expiration_seconds",
                    "first_failed_at",
                    "last_failed_at",
                    "expires_at",
                    "next_retry_at",
                ],
                select(
                    literal(channel.id, Integer()),
                    literal(CT),
                    pid,
                    products.c.sku,
                    stocks.c.version,
                    literal("remote"),
                    literal("Stock data not found"),
                    _case(exhausted, 3, 1),
                    literal(3, Integer()),
                    literal(28800, Integer()),
                    literal(57601, Integer()),
                    literal(NOW - timedelta(hours=1), f.c.first_failed_at.type),
                    literal(NOW - timedelta(hours=1), f.c.last_failed_at.type),
                    literal(NOW + timedelta(hours=15), f.c.expires_at.type),
                    _case(exhausted, None, NOW + timedelta(hours=7), f.c.next_retry_at.type),
                )
                .select_from(stocks.join(products, products.c.id == stocks.c.product_id))
                .where(penalised),
            )
        )
        batch = BatchRequest(
            local_batch_id=str(uuid.uuid4()),
            channel_id=channel.id,
            content_type=CT,
            flow="bench/stock",
            status="sent_to_remote",
            item_count=0,
            created_at=NOW,
            updated_at=NOW,
            sent_at=NOW,
        )
        session.add(batch)
        session.flush()
        bi = BatchRequestItem.__table__
        conn.execute(
            bi.insert().from_select(
                [
                    "batch_id",
                    "channel_id",
                    "content_type",
                    "object_id",
                    "object_key",
                    "version",
                    "in_flight",
                    "status",
                ],
                select(
                    literal(batch.id, Integer()),
                    literal(channel.id, Integer()),
                    literal(CT),
                    pid,
                    products.c.sku,
                    stocks.c.version,
                    literal(True, Boolean()),
                    literal("pending"),
                )
                .select_from(stocks.join(products, products.c.id == stocks.c.product_id))
                .where(healthy, pid % (10 * changed_every) == 5 % changed_every),
            )
        )
        scope = Scope(channel.id, CT, catalog_id)
    # what autovacuum / a periodic ANALYZE does on a live database
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(
        f"  built {n:,} products, {n_pen:,} penalties, {n_changed:,} changed stocks in {time.perf_counter() - t0:.1f} s"
    )
    return scope


def _case(cond, a, b, kind=None):  # type: ignore[no-untyped-def]
    from sqlalchemy import case

    if kind is not None:
        return case((cond, literal(a, kind)), else_=literal(b, kind))
    return case((cond, a), else_=b)


def timed(db: Database, stmt) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    with db.session() as session:
        t0 = time.perf_counter()
        rows = session.execute(stmt).all()
        return time.perf_counter() - t0, len(rows)


def measure(db: Database, scope: Scope, page: int) -> None:
    with db.session() as session:
        from pazar.state.selection import read_cursor

        cursor = read_cursor(session, scope.channel_id, CT, "stocks")
    fence = wants_fence(db.dialect)
    stream = selection_query("stocks", scope, now=NOW, after=cursor, limit=page, fence=fence)
    retries = selection_query("stocks", scope, now=NOW, after=0, limit=page, retries=True)
    for name, stmt in (("change stream, first page", stream), ("due retries, first page", retries)):
        cold, count = timed(db, stmt)
        best = min(timed(db, stmt)[0] for _ in range(5))
        print(f"  {name}: {count} rows, cold {cold * 1000:.1f} ms, best of 5 {best * 1000:.1f} ms")
    t0 = time.perf_counter()
    after, total, pages = cursor, 0, 0
    while True:
        with db.session() as session:
            rows = session.execute(
                selection_query("stocks", scope, now=NOW, after=after, limit=page)
            ).all()
        pages += 1
        total += len(rows)
        if len(rows) < page:
            break
        after = rows[-1].version
    print(
        f"  drain: {total:,} eligible changed stocks in {pages} pages, {time.perf_counter() - t0:.3f} s"
    )
    with db.session() as session:
        fresh = make_channel(session, "fresh", {})
        fresh_scope = Scope(fresh.id, CT, scope.catalog_id)
    first = selection_query("stocks", fresh_scope, now=NOW, after=0, limit=page, fence=fence)
    cold, count = timed(db, first)
    print(
        f"  new channel (every stock changed, no cursor), first page: {count} rows, {cold * 1000:.1f} ms"
    )
    with db.session() as session:
        print("  plan, change stream:")
        for line in explain(session, stream):
            print("    " + line)
        print("  plan, due retries:")
        for line in explain(session, retries):
            print("    " + line)


def run(url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    db.upgrade()
    scope = build(db, args.products, args.penalties, args.changed)
    measure(db, scope, args.page)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1_000_000)
    parser.add_argument("--penalties", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument(
        "--pg", default=None, help="PostgreSQL URL (a throwaway schema is created and dropped)"
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"SQLite ({tmp}/bench.db)")
            run(f"sqlite:///{tmp}/bench.db", args)
    if args.pg:
        schema = f"pazar_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in args.pg else "?"
            print(f"PostgreSQL (schema {schema})")
            run(f"{args.pg}{sep}options=-csearch_path%3D{schema}", args)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
