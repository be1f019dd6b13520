"""The integration state a push writes, without the push: upload tracking and confirmation.

Usage: python bench/bench_state_writes.py [--count 100000] [--pushes 4] [--database URL]

Every push opens batches of 1,000 items (``open_batch`` + ``mark_sent``, one transaction
each, as an upload sink tracks an upload) and then ends each one as entirely accepted
(``record_done``, one transaction each, as ``check_uploads`` records a marketplace's
answer), for ``--count`` objects whose version grows with each push.  The first push
inserts every integration action, the later ones update them: the shape of a catalog
pushed again and again.  It prints, per push, the seconds spent opening and ending
batches and the records/s of both together; on PostgreSQL also how many of the actions'
updates stayed in their page (HOT).  No marketplace, no selection, no mapping: only the
state's statements, so a change to the state tables' shape (indexes, fillfactor) shows
without the noise of the rest of a push.  The database is a fresh SQLite file or, with
``--database postgresql://...``, a throwaway schema.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from benchkit import database_url
from sqlalchemy import text

from pazar.clock import SystemClock
from pazar.commerce.synthetic import make_channel
from pazar.db import Database
from pazar.pipeline import Item
from pazar.state.batches import mark_sent, open_batch, record_done

BATCH = 1000
CONTENT_TYPE = "productstock"
FLOW = "bench/stock"

_UPDATES = (
    "SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables "
    "WHERE relname = 'integration_actions' AND schemaname = current_schema()"
)


def action_updates(db: Database) -> tuple[int, int] | None:
    """(HOT, all) updates of integration_actions so far, as the server counted them; None
    before PostgreSQL 15 (a backend's counts reach the view only when it flushes them,
    which ``pg_stat_force_next_flush`` asks for) or on SQLite."""
    if db.dialect != "postgresql":
        return None
    with db.engine.connect() as conn:  # the pool's one connection: the push's own backend
        if conn.connection.driver_connection.info.server_version < 150000:  # type: ignore[union-attr]
            return None
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        conn.commit()
        hot, updated = conn.execute(text(_UPDATES)).one()
        conn.rollback()
    return int(hot), int(updated)


def push(db: Database, channel_id: int, count: int, number: int) -> dict[str, float]:
    clock = SystemClock()
    opened = ended = 0.0
    for start in range(1, count + 1, BATCH):
        items = [
            Item(
                f"S{i:07d}",
                {"merchantSku": f"S{i:07d}", "availableStock": number},
                object_id=i,
                version=number * count + i,
                payload_hash=f"{number:032x}{i:032x}",
            )
            for i in range(start, min(start + BATCH, count + 1))
        ]
        began = time.perf_counter()
        with db.session() as session:
            batch = open_batch(session, channel_id, CONTENT_TYPE, FLOW, None, items, clock=clock)
            mark_sent(batch, f"R{number}-{start}", clock=clock)
            batch_id = batch.id
        middle = time.perf_counter()
        with db.session() as session:
            record_done(session, batch_id, {}, clock=clock, config={})
        opened += middle - began
        ended += time.perf_counter() - middle
    return {"open": opened, "end": ended}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="Objects per push.")
    parser.add_argument("--pushes", type=int, default=4, help="Pushes, one after another.")
    parser.add_argument("--database", help="Database URL (default: a temp SQLite file).")
    args = parser.parse_args()
    if args.count < 1 or args.pushes < 1:
        parser.error("--count and --pushes must be at least 1")
    with tempfile.TemporaryDirectory() as tmp, database_url(args.database, tmp) as url:
        db = Database(url)
        with db.session() as session:
            channel_id = make_channel(session, "bench").id
        print(f"{db.dialect}, {args.count:,} objects, batches of {BATCH:,}")
        before = action_updates(db)
        for number in range(1, args.pushes + 1):
            figures = push(db, channel_id, args.count, number)
            total = figures["open"] + figures["end"]
            line = (
                f"push {number}: open {figures['open']:.2f} s, end {figures['end']:.2f} s, "
                f"{args.count / total:,.0f} records/s"
            )
            after = action_updates(db)
            if before is not None and after is not None:
                hot, updated = after[0] - before[0], after[1] - before[1]
                line += f"; {hot:,} of {updated:,} action updates stayed in their page (HOT)"
            before = after
            print(line, flush=True)
        db.dispose()


if __name__ == "__main__":
    main()
