"""Keeping PostgreSQL's planner statistics current after bulk writes.

The planner plans from statistics that autovacuum refreshes only after about a
tenth of a table changed and only when a worker gets round to it.  With
autovacuum off or lagging after a bulk load (an import, the state writes of a
large push) the planner still believes the tables are as small as before the
load, and may choose a plan that reads a whole table per row: the second push
of 20,000 stocks read its first page of changes in 47 s before ``ANALYZE`` and
in 8 ms after.

So every PostgreSQL engine pazar makes counts the rows each transaction writes
per table, and just before the transaction commits analyzes the tables where
those writes are substantial: together with the changes the server counted
since the table's last analyze, at least :data:`SHARE` of the rows the planner
believes it holds (autovacuum's own rule, without waiting for a worker).
Transactions that wrote fewer than :data:`BULK_ROWS` rows to every table pay
nothing but the counting: their rows are carried on the connection to the next
commit, so many small transactions (a push writes its state page by page) add
up to a check as one large one does.  ``ANALYZE`` inside the transaction sees
its own rows, and runs in a savepoint so that it can never fail the commit, with a
smaller sample than the server's default (:data:`SAMPLE_TARGET`).  SQLite plans
without such statistics (``ANALYZE`` there is optional) and is left alone.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

BULK_ROWS = 1000
"""Rows written to a table (in one transaction, or in several committed on one connection
since its last check) before a commit checks whether its statistics are stale."""

SHARE = 0.1
"""Changed rows (as a share of the table's believed size) that make statistics stale."""

SAMPLE_TARGET = 10
"""The statistics target of these analyzes: a sample of 3,000 rows (the server default, 100,
samples 30,000).  They run on the commit path of a push or an import, up to forty times per
table as a large push grows it; they need the table's size and the rough shape of its values,
which a tenth of the sample gives (a second push of 100,000 stocks spent 5.1 s in them at the
default, 2.2 s with this).  A column with a target of its own
keeps it, and autovacuum's own analyzes still use the server's default."""

_WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_KEY = "pazar_rows_written"  # this transaction's rows, per table
_CARRIED = "pazar_rows_committed"  # committed on this connection, not checked yet

_STALE = """
SELECT w.name
FROM unnest(%(names)s::text[], %(rows)s::bigint[]) AS w(name, rows)
JOIN pg_class c ON c.oid = to_regclass(quote_ident(w.name))
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE coalesce(s.n_mod_since_analyze, 0) + w.rows >= %(share)s * greatest(c.reltuples, 0)
"""


def watch(engine: Engine) -> None:
    """Count written rows and analyze stale tables at commit (PostgreSQL engines only)."""
    if engine.dialect.name != "postgresql" or event.contains(
        engine, "after_cursor_execute", _count
    ):
        return
    event.listen(engine, "after_cursor_execute", _count)
    event.listen(engine, "commit", _analyze_stale)
    event.listen(engine, "rollback", _forget)


def watching(engine: Engine) -> bool:
    return event.contains(engine, "commit", _analyze_stale)


def unwatch(engine: Engine) -> None:
    """Stop analyzing after bulk writes on ``engine`` (benchmarks compare with and without)."""
    for name, fn in (
        ("after_cursor_execute", _count),
        ("commit", _analyze_stale),
        ("rollback", _forget),
    ):
        if event.contains(engine, name, fn):
            event.remove(engine, name, fn)


def _count(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    rows = cursor.rowcount
    if rows is None or rows <= 0:
        return
    match = _WRITE.match(statement)
    if match is not None:
        note_written(conn, match[1], rows)


def note_written(conn: Connection, table: str, rows: int) -> None:
    """Count ``rows`` written to ``table`` in ``conn``'s transaction.  Statements run through
    SQLAlchemy are counted already; a writer that goes round it (a ``COPY`` on the driver's
    cursor straight into a pazar table) says what it wrote here."""
    written = conn.info.setdefault(_KEY, {})
    written[table] = written.get(table, 0) + rows


def _forget(conn: Connection) -> None:
    conn.info.pop(_KEY, None)


def _analyze_stale(conn: Connection) -> None:
    carried = conn.info.setdefault(_CARRIED, {})
    for table, rows in conn.info.pop(_KEY, {}).items():
        carried[table] = carried.get(table, 0) + rows
    written = {t: n for t, n in carried.items() if n >= BULK_ROWS}
    if not written:
        return
    for table in written:
        del carried[table]
    driver = conn.connection.driver_connection
    try:
        with driver.transaction():  # type: ignore[union-attr]  # a savepoint: never fails the commit
            analyze_stale(driver, written)
    except Exception as exc:  # noqa: BLE001 - statistics are an optimisation
        log.warning("could not analyze %s after a bulk write: %s", ", ".join(written), exc)


def analyze_stale(driver: Any, written: dict[str, int]) -> list[str]:
    """ANALYZE those of the ``written`` tables (name: rows written) whose statistics the
    writes made stale; returns their names.  ``driver`` is a psycopg connection."""
    params = {"names": list(written), "rows": list(written.values()), "share": SHARE}
    stale = [row[0] for row in driver.execute(_STALE, params)]
    if stale:
        # Until the transaction ends (it commits next): a smaller sample for these analyzes.
        driver.execute(f"SET LOCAL default_statistics_target = {SAMPLE_TARGET}")
    for name in stale:
        driver.execute(f'ANALYZE "{name}"')
    return stale
