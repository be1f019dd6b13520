"""Fast executemany for bulk writes: one compiled statement, column-wise bind processing.

SQLAlchemy's per-row parameter handling dominates bulk writes of thousands of
rows (imports, integration state per batch); compiling once and applying each
column's bind processor (the same one SQLAlchemy would: JSON, UTC timestamps)
column by column keeps the cost in the driver, where it belongs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_insert(session: Session, table: Table) -> Any:
    """The INSERT of the session's dialect, for ``ON CONFLICT`` (both dialects spell it alike)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _processed(processor: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """Apply ``processor``, once per run of the same object (e.g. one ``updated_at``)."""
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
    conn = session.connection()
    dialect = conn.dialect
    compiled = stmt.inline().compile(dialect=dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup or compiled.binds)
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
        name: _processed(processors[name], [row.get(name) for row in rows])
        if name in processors
        else [row.get(name) for row in rows]
        for name in names
    }
    if compiled.positiontup:
        params: list[Any] = list(zip(*(columns[name] for name in names), strict=True))
    else:
        params = [
            dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)
        ]
    return int(conn.exec_driver_sql(str(compiled), params).rowcount or 0)
