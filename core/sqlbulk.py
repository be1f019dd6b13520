"""Fast executemany for bulk writes: one compiled statement, column-wise bind processing.

SQLAlchemy's per-row parameter handling dominates bulk writes of thousands of
rows (imports, integration state per batch); compiling once and applying each
column's bind processor (the same one SQLAlchemy would: JSON, UTC timestamps)
column by column keeps the cost in the driver, where it belongs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_insert(session: Session, table: Table) -> Any:
    """The INSERT of the session's dialect, for ``ON CONFLICT`` (both dialects spell it alike)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def per_run(processor: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """Apply ``processor``, once per run of the same object: a bulk write's columns often
    repeat one value (a batch's id, a run's ``updated_at``) thousands of times."""
    out: list[Any] = []
    last: Any = out  # a sentinel no value is
    done: Any = None
    for value in values:
        if value is not last:
            last, done = value, processor(value)
        out.append(done)
    return out


def executemany(session: Session, table: Table, stmt: Any, rows: list[dict[str, Any]]) -> int:
    """Run ``stmt`` for every row through the driver's executemany.

    Bulk imports spend most of their time in per-row parameter handling, so the
    statement is compiled once and each column's bind processor (the same one
    SQLAlchemy would apply: JSON, UTC timestamps) is applied column by column.
    Returns the rows the statement affected (the driver's sum over the batch).
    """
    return executemany_columns(session, table, stmt, _RowColumns(rows), len(rows))


class _RowColumns(Mapping[str, list[Any]]):
    """Dict rows seen column by column: the statement's keys are the first row's, and a
    column is every row's value of it (None where a row lacks it)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __getitem__(self, name: str) -> list[Any]:
        return [row.get(name) for row in self.rows]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows[0])

    def __len__(self) -> int:
        return len(self.rows[0])


def insert_columns(
    session: Session, table: Table, columns: Mapping[str, list[Any]], count: int
) -> None:
    """INSERT ``count`` rows given column by column: one COPY on PostgreSQL (an
    executemany there is a round of protocol work per row), the driver's executemany
    elsewhere (SQLite's is in process and as fast)."""
    if session.get_bind().dialect.name == "postgresql":
        from pazar.pg_copy import copy_columns

        copy_columns(session, table, columns, count)
        return
    executemany_columns(session, table, table.insert(), columns, count)


def executemany_columns(
    session: Session, table: Table, stmt: Any, columns: Mapping[str, list[Any]], count: int
) -> int:
    """:func:`executemany` for values held column by column (``count`` values in each
    list): a caller that builds its rows from objects skips a dict per row."""
    conn = session.connection()
    dialect = conn.dialect
    compiled = stmt.inline().compile(dialect=dialect, column_keys=list(columns))
    names = list(compiled.positiontup or compiled.binds)
    missing = [None] * count
    processors = {}
    for name in names:
        column = table.c.get(name)
        processor = (
            column.type.dialect_impl(dialect).bind_processor(dialect)
            if column is not None
            else None
        )
        if processor is not None:
            processors[name] = processor
    columns = {
        name: per_run(processors[name], columns.get(name, missing))
        if name in processors
        else columns.get(name, missing)
        for name in names
    }
    if compiled.positiontup:
        params: list[Any] = list(zip(*(columns[name] for name in names), strict=True))
    else:
        params = [
            dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]
    return int(conn.exec_driver_sql(str(compiled), params).rowcount or 0)
