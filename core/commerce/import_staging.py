"""The PostgreSQL import path: COPY a chunk into a staging table, merge it in one statement.

Row-by-row parameter binding and a SKU → id query per few hundred rows kept
PostgreSQL imports at a quarter of SQLite's speed: every row paid a network
round trip's worth of protocol work.  Here a chunk travels once (``COPY ...
FROM STDIN`` into a temporary table that lives only for the import's
transaction) and one statement per table resolves SKUs to ids (refusing the
chunk's first unknown SKU), assigns versions in file order and touches only
rows whose values differ, the same rules
:func:`pazar.commerce.import_writer.upsert_changed` applies on SQLite.

The client's share of the work is kept small because it competes with the
server for the machine and with itself for the GIL (the merge of one chunk
runs on a worker thread while the next is parsed): each row becomes one line
of COPY text as it is read (:meth:`Stage.line`), with none of the per-value
adaptation a generic ``write_row`` does, and a chunk is sent as one string.
The statement text is built once per kind, not compiled per chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from pazar.commerce.versioning import reserve_versions
from pazar.db_stats import note_written
from pazar.errors import ValidationError
from pazar.pg_copy import copy_format, copy_statement, copy_text, quote_name

Chunk = list[tuple[int, dict[str, Any]]]


def uses_staging(session: Session) -> bool:
    """Whether imports on this session take the COPY path (PostgreSQL only; SQLite's
    in-process executemany is already as fast as its parsing)."""
    return session.get_bind().dialect.name == "postgresql"


class Stage:
    """How chunks of one kind reach ``table`` on PostgreSQL.

    ``fields`` are ``table``'s columns a row supplies (``values(row)`` gives them in
    order; ``sku`` among them is the row's own key, not a column to resolve).  With
    ``by_sku`` the row's ``sku`` is resolved to ``product_id`` and an unknown SKU is
    refused.  ``keys`` identify a row of ``table``; only rows where a ``compare``
    column differs are written, with versions from one reserved range in file order.
    ``extra`` names more text columns a row brings to the staging table only; when a
    chunk has a value in one of them, ``after`` runs once its rows are merged (it
    returns the rows it changed).
    """

    def __init__(
        self,
        table: Table,
        *,
        fields: Sequence[str],
        values: Callable[[dict[str, Any]], tuple[Any, ...]],
        keys: Sequence[str],
        compare: Sequence[str],
        by_sku: bool = True,
        extra: Sequence[str] = (),
        after: Callable[[Session, Stage, str], int] | None = None,
    ) -> None:
        self.table, self.values, self.by_sku = table, values, by_sku
        self.targets = [name for name in fields if name != "sku"]
        self.extra, self.after = list(extra), after
        self.name = f"pazar_import_{table.name}"
        self.formats = [copy_format(table.c[name].type) for name in self.targets]
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        columns = [
            ("ord", "integer"),
            ("line", "integer"),
            ("sku", "text"),
            *((name, table.c[name].type.compile(dialect=dialect)) for name in self.targets),
            *((name, "text") for name in self.extra),
        ]
        self.create = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote_name(self.name)} "
            f"({', '.join(f'{quote_name(n)} {t}' for n, t in columns)}) ON COMMIT DROP; "
            f"TRUNCATE {quote_name(self.name)}"
        )
        self.copy = copy_statement(self.name, [n for n, _ in columns])
        self.merge = self._merge_sql(list(keys), list(compare), upsert=False)
        self.upsert = self._merge_sql(list(keys), list(compare), upsert=True)

    def line(self, ord_: int, line: int, row: dict[str, Any]) -> str:
        """The COPY line of one parsed row, ``ord_`` its place in the chunk."""
        fields = [str(ord_), str(line), copy_text(row["sku"])]
        fields += [fmt(v) for fmt, v in zip(self.formats, self.values(row), strict=True)]
        if self.extra:
            fields += [copy_text(row.get(name) or None) for name in self.extra]
        return "\t".join(fields) + "\n"

    def lines(self) -> Lines:
        return Lines(self)

    def write(self, session: Session, lines: Lines, where: str, now: Any) -> int:
        """COPY a chunk's lines and merge them; how many rows were inserted or changed."""
        conn = session.connection()
        driver = conn.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(self.create)  # one round trip: CREATE ... IF NOT EXISTS; TRUNCATE
            with cursor.copy(self.copy) as copy:
                copy.write("".join(lines.lines))
        first = reserve_versions(session, len(lines))
        params = {"first": first, "now": now.astimezone(UTC)}
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            from psycopg.errors import UniqueViolation  # only PostgreSQL comes here

            cursor.execute("SAVEPOINT pazar_merge")
            try:
                cursor.execute(self.merge, params)
            except UniqueViolation:
                # Another writer inserted one of these rows since the merge's snapshot: the
                # upsert settles each row under ON CONFLICT, at the price the merge avoids.
                cursor.execute("ROLLBACK TO SAVEPOINT pazar_merge")
                cursor.execute(self.upsert, params)
            row = cursor.fetchone()
            cursor.execute("RELEASE SAVEPOINT pazar_merge")
        changed = _merged(row, where, "sku")
        note_written(conn, self.table.name, changed)
        if lines.extra and self.after is not None:
            changed += self.after(session, self, where)
        return int(changed)

    def write_chunk(self, session: Session, chunk: Chunk, where: str, now: Any) -> int:
        """:meth:`write` for parsed rows (kinds whose values need the database first)."""
        lines = self.lines()
        for line, row in chunk:
            lines.add(line, row)
        return self.write(session, lines, where, now)

    def _merge_sql(self, keys: list[str], compare: list[str], *, upsert: bool) -> str:
        """One statement: resolve SKUs (once per row, materialized), find the first unknown
        one, and write the rows that would change something, in file order.

        Rows that would change nothing are left out before any write: an unchanged row that
        reached ON CONFLICT would still be locked (a heap write) for nothing, and re-importing
        a whole file where little changed is the common case.  The ``LIMIT`` of each lookup
        keeps the planner from a hash join that reads the whole table per chunk (which it
        prefers on a large catalog when statistics are stale): every row costs one index
        probe, whatever the statistics say.

        The fast form (``upsert=False``) upserts only the rows the lookup found (ON CONFLICT
        meets them at once) and plainly inserts the others: for a row that is not there yet,
        ``ON CONFLICT`` pays a speculative insertion, a fifth of the row's cost.  It fails
        with a unique violation only when another transaction inserted one of the rows after
        this statement's snapshot; the caller then rolls back to a savepoint and runs the
        ``upsert=True`` form, which settles each row under ``ON CONFLICT``.  Both re-check
        "differs" against the row they lock, so a concurrent change is never overwritten by
        an equal value's new version.
        """
        table = quote_name(self.table.name)
        targets = [quote_name(n) for n in self.targets]
        if self.by_sku:
            resolved = (
                "SELECT s.ord, s.line, s.sku, p.id AS product_id"
                + "".join(f", s.{t}" for t in targets)
                + f" FROM {quote_name(self.name)} s LEFT JOIN LATERAL"
                " (SELECT id FROM products WHERE products.sku = s.sku LIMIT 1) p ON true"
            )
            into = ["product_id", *self.targets]
            unknown = "SELECT line, sku FROM src WHERE product_id IS NULL ORDER BY line LIMIT 1"
        else:
            resolved = f"SELECT * FROM {quote_name(self.name)}"  # read once: inlined, no copy
            into = ["sku", *self.targets]
            unknown = "SELECT NULL::integer AS line, NULL::text AS sku WHERE false"
        current = (
            "SELECT true AS present"
            + "".join(f", c.{quote_name(n)}" for n in compare)
            + f" FROM {table} c WHERE "
            + " AND ".join(f"c.{quote_name(k)} = src.{quote_name(k)}" for k in keys)
            + " LIMIT 1"
        )
        differs = " OR ".join(
            f"cur.{quote_name(n)} IS DISTINCT FROM src.{quote_name(n)}" for n in compare
        )
        version = "%(first)s::bigint + src.ord"
        now = "%(now)s::timestamptz"
        columns = ", ".join(quote_name(n) for n in into)
        values = ", ".join(f"src.{quote_name(n)}" for n in into)
        proceed = "NOT EXISTS (SELECT FROM unknown)"
        updates = ", ".join(
            f"{quote_name(n)} = excluded.{quote_name(n)}"
            for n in [*compare, "version", "updated_at"]
        )
        changed = " OR ".join(
            f"{table}.{quote_name(n)} IS DISTINCT FROM excluded.{quote_name(n)}" for n in compare
        )
        conflict = (
            f"ON CONFLICT ({', '.join(quote_name(k) for k in keys)}) "
            f"DO UPDATE SET {updates} WHERE {changed}"
        )
        insert = f"INSERT INTO {table} ({columns}, version, updated_at) SELECT {values}, {version}, {now}"
        if upsert:
            writes = f"""merged AS (
  {insert}
  FROM src LEFT JOIN LATERAL ({current}) cur ON true
  WHERE {proceed} AND (cur.present IS NULL OR {differs})
  ORDER BY src.ord
  {conflict}
  RETURNING 1
)"""
            count = "(SELECT count(*) FROM merged)"
        else:
            writes = f"""looked AS MATERIALIZED (
  SELECT src.*, cur.present IS NOT NULL AS present
  FROM src LEFT JOIN LATERAL ({current}) cur ON true
  WHERE {proceed} AND (cur.present IS NULL OR {differs})
),
updated AS (
  {insert} FROM looked src WHERE src.present ORDER BY src.ord {conflict} RETURNING 1
),
inserted AS (
  {insert} FROM looked src WHERE NOT src.present ORDER BY src.ord RETURNING 1
)"""
            count = "(SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted)"
        return f"""
WITH src AS {"MATERIALIZED" if self.by_sku else "NOT MATERIALIZED"} ({resolved}),
unknown AS ({unknown}),
{writes}
SELECT {count}, (SELECT line FROM unknown), (SELECT sku FROM unknown)
"""


class Lines:
    """The COPY lines of one chunk, made in the thread that parses while the previous
    chunk is merged; knows whether any row filled one of the stage's ``extra`` columns."""

    def __init__(self, stage: Stage) -> None:
        self.stage, self.lines, self.extra = stage, list[str](), False

    def add(self, line: int, row: dict[str, Any]) -> None:
        stage = self.stage
        self.lines.append(stage.line(len(self.lines), line, row))
        if stage.extra and not self.extra:
            self.extra = any(row.get(name) for name in stage.extra)

    def __len__(self) -> int:
        return len(self.lines)


def link_parents(session: Session, stage: Stage, where: str) -> int:
    """Set ``parent_id`` from the staged chunk's ``parent_sku`` column (after the chunk's
    products are merged, so a parent earlier in the file or in the same chunk is
    found); refuses the first unknown parent SKU.  How many links changed."""
    conn = session.connection()
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(_LINK_PARENTS.format(stage=quote_name(stage.name)))
        changed = _merged(cursor.fetchone(), where, "parent_sku")
    note_written(conn, "products", changed)
    return changed


def _merged(row: Any, where: str, column: str) -> int:
    """A merge statement's answer (rows changed, first unknown SKU's line, that SKU): the
    count, or the refusal located at that line of the file."""
    assert row is not None
    changed, unknown_line, unknown_sku = row
    if unknown_line is not None:
        raise ValidationError(
            f"{where}:{unknown_line}: column '{column}': unknown SKU {unknown_sku!r} "
            "(import the products first)"
        )
    return int(changed)


_LINK_PARENTS = """
WITH src AS MATERIALIZED (
  SELECT s.line, s.sku, s.parent_sku, p.id AS parent_id
  FROM {stage} s LEFT JOIN LATERAL
    (SELECT id FROM products WHERE products.sku = s.parent_sku LIMIT 1) p ON true
  WHERE s.parent_sku IS NOT NULL
),
unknown AS (SELECT line, parent_sku FROM src WHERE parent_id IS NULL ORDER BY line LIMIT 1),
linked AS (
  UPDATE products SET parent_id = src.parent_id FROM src
  WHERE products.sku = src.sku AND NOT EXISTS (SELECT FROM unknown)
    AND products.parent_id IS DISTINCT FROM src.parent_id
  RETURNING 1
)
SELECT (SELECT count(*) FROM linked), (SELECT line FROM unknown),
       (SELECT parent_sku FROM unknown)
"""
