"""Stock pushes on PostgreSQL with autovacuum off: do plans survive stale statistics?

Usage: python bench/bench_stale_stats.py [--count 20000] [--database URL] [--no-analyze]

In a throwaway schema on the PostgreSQL server (default: the test server) with
autovacuum disabled for every pazar table, the bench imports N products, stocks
and catalog items, pushes the stocks to the Hepsiburada sandbox over HTTP (the
built-in ``hepsiburada/stock`` flow, then ``check_uploads``), changes every stock
(a second import) and pushes again.  Before each push it times the read of the
first page of changes (what the flow's first batch waits for), and it prints
both pushes' records/s.  With nothing analysing the tables, the state tables
still carry the statistics of an empty schema when the second push plans its
selection: the case that took 47 s for the first page before issue 19.

``--no-analyze`` leaves out pazar's own ANALYZE after bulk writes
(:mod:`pazar.db_stats`), to show what the query shapes alone do.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import hepsiburada_config  # noqa: E402
from sqlalchemy import text  # noqa: E402

from pazar.channels import ChannelService  # noqa: E402
from pazar.clock import SystemClock  # noqa: E402
from pazar.commerce.importers import import_file  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.flows.loader import load_flows  # noqa: E402
from pazar.models.base import Base  # noqa: E402
from pazar.plugins import load_plugins  # noqa: E402
from pazar.runner import run_flow  # noqa: E402
from pazar.sandbox_server import serve_in_thread  # noqa: E402
from pazar.state.selection import (  # noqa: E402
    Scope,
    _page_statement,
    catalog_id,
    iter_selection,
    read_cursor,
)
from pazar.testing import postgres_schema  # noqa: E402
from pazar_hepsiburada.sandbox import create_app  # noqa: E402

try:
    from pazar import db_stats
except ImportError:  # a pazar from before issue 19, for the "before" figures
    db_stats = None  # type: ignore[assignment]

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def write_files(root: Path, n: int, shift: int) -> None:
    (root / "products.csv").write_text(
        "sku,name,categories,images\n"
        + "".join(f"S{i:07d},P{i},A,https://img/{i}.jpg\n" for i in range(n))
    )
    (root / "stocks.csv").write_text(
        "sku,quantity\n" + "".join(f"S{i:07d},{(i + shift) % 40 + 3}\n" for i in range(n))
    )
    (root / "catalog_items.csv").write_text(
        "catalog,sku\n" + "".join(f"hb,S{i:07d}\n" for i in range(n))
    )


def first_page_seconds(db: Database, scope: Scope, clock: SystemClock) -> float:
    """Seconds to the first row of the stock flow's selection (cursor, retries, stream)."""
    started = time.perf_counter()
    rows = iter_selection(db, "stocks", scope, clock=clock, page_size=500)
    next(rows, None)
    seconds = time.perf_counter() - started
    rows.close()
    return seconds


def stream_plan(db: Database, scope: Scope, clock: SystemClock) -> list[str]:
    """EXPLAIN (no ANALYZE) of the change stream's page query, as the flow would run it."""
    stmt = _page_statement("stocks", False, False, True, True, True)
    with db.session() as session:
        params = {
            "sel_channel": scope.channel_id,
            "sel_content_type": scope.content_type,
            "sel_now": clock.now(),
            "sel_after": read_cursor(session, scope.channel_id, scope.content_type, "stocks"),
            "sel_limit": 500,
            "sel_catalog": scope.catalog_id,
            "sel_needs": scope.needs,
        }
        compiled = stmt.compile(dialect=session.get_bind().dialect)
        sql = "EXPLAIN " + str(compiled)
        rows = session.connection().exec_driver_sql(sql, compiled.construct_params(params))
        return [row[0] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--database", default=DEFAULT_URL, help="PostgreSQL server URL")
    parser.add_argument("--no-analyze", action="store_true", help="without pazar's ANALYZE")
    parser.add_argument("--plan", action="store_true", help="print the stream's plan per push")
    args = parser.parse_args()
    n = args.count
    app = create_app(pending_polls=0)
    sandbox = serve_in_thread(app)
    app.state.sandbox.seed({"settings": {"accept_unknown_skus": True}})
    registry = load_plugins().registry
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp, postgres_schema(args.database) as url:
        root = Path(tmp)
        db = Database(url)
        if args.no_analyze and db_stats is not None:
            db_stats.unwatch(db.engine)
        with db.engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                conn.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'))
        write_files(root, n, 0)
        with db.session() as session:
            for kind in ("products", "stocks", "catalog_items"):
                import_file(session, kind, root / f"{kind}.csv")
        config = hepsiburada_config(
            app.state.sandbox.channel_config(sandbox.url),
            feature_flags={"stock": True},
            buffer_stock=2,
        )
        with db.session() as session:
            ChannelService(session, registry, clock=clock).apply(
                {"channel": "hb", "plugin": "hepsiburada", "config": config, "status": "active"}
            )
        with db.session() as session:
            channel = ChannelService(session, registry, clock=clock).get("hb")
            session.expunge(channel)
        flows = load_flows(registry)
        with db.session() as session:
            scope = Scope(channel.id, "productstock", catalog_id(session, "hb"), "product")
        print(
            f"PostgreSQL, autovacuum off, {n:,} stocks, "
            "pazar ANALYZE after bulk writes: "
            + ("on" if db_stats is not None and db_stats.watching(db.engine) else "off"),
            flush=True,
        )
        for push in (1, 2):
            if push == 2:
                write_files(root, n, 1)
                with db.session() as session:
                    changed = import_file(session, "stocks", root / "stocks.csv").changed
                print(f"changed {changed:,} stocks", flush=True)
            if args.plan:
                print("\n".join(stream_plan(db, scope, clock)), flush=True)
            page = first_page_seconds(db, scope, clock)
            print(f"push {push}: first page of changes in {page * 1000:.1f} ms", flush=True)
            started = time.perf_counter()
            pushed = run_flow(db, registry, flows.get("hepsiburada/stock"), channel, clock=clock)
            checked = run_flow(
                db, registry, flows.get("hepsiburada/check_uploads"), channel, clock=clock
            )
            seconds = time.perf_counter() - started
            print(
                f"push {push}: {pushed.sent:,} sent, {checked.succeeded} uploads checked "
                f"in {seconds:.2f} s = {pushed.sent / seconds:,.0f} records/s",
                flush=True,
            )
        with db.engine.connect() as conn:
            counts = conn.execute(
                text(
                    "SELECT relname, analyze_count FROM pg_stat_user_tables "
                    "WHERE schemaname = current_schema() AND analyze_count > 0 ORDER BY relname"
                )
            ).all()
        print("ANALYZE runs: " + (", ".join(f"{t} {n}" for t, n in counts) or "none"))
        db.dispose()
    sandbox.stop()


if __name__ == "__main__":
    main()
