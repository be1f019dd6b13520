"""The PostgreSQL import path: COPY a chunk into a staging table, merge it in one statement.

Row-by-row parameter binding and a SKU → id query per few hundred rows kept
PostgreSQL imports at a quarter of SQLite's speed: every row paid a network
round trip's worth of protocol work.  Here a chunk travels once (``COPY ...
FROM STDIN`` into a temporary table that lives only for the import's
transaction), unknown SKUs are found by one outer join, and one ``INSERT ...
SELECT ... JOIN ... ON CONFLICT DO UPDATE`` per table resolves SKUs to ids,
assigns versions in file order and touches only rows whose values differ, the
same rules :func:`pazar.commerce.import_writer.upsert_changed` applies on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, literal, or_, select, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable
from sqlalchemy.types import JSON

from pazar.commerce.versioning import reserve_versions
from pazar.errors import ValidationError
from pazar.models.base import UTCDateTime
from pazar.models.commerce import Product

Chunk = list[tuple[int, dict[str, Any]]]


def uses_staging(session: Session) -> bool:
    """Whether imports on this session take the COPY path (PostgreSQL only; SQLite's
    in-process executemany is already as fast as its parsing)."""
    return session.get_bind().dialect.name == "postgresql"


def stage(
    session: Session,
    name: str,
    columns: Sequence[Column[Any]],
    rows: list[tuple[Any, ...]],
) -> Table:
    """COPY ``rows`` (values in ``columns`` order) into the temporary table ``name``.

    The table is created on first use in the transaction (``ON COMMIT DROP``: a
    rollback or commit leaves nothing behind) and emptied before each chunk.  JSON
    values are sent as JSON text; everything else through psycopg's own dumpers.
    """
    table = Table(
        name,
        MetaData(),
        *(Column(c.name, c.type) for c in columns),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    conn = session.connection()
    conn.execute(CreateTable(table, if_not_exists=True))
    conn.exec_driver_sql(f'TRUNCATE "{name}"')
    as_json = [isinstance(c.type, JSON) for c in table.columns]
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    driver = conn.connection.driver_connection
    with (
        driver.cursor() as cursor,  # type: ignore[union-attr]
        cursor.copy(f'COPY "{name}" ({names}) FROM STDIN') as copy,
    ):
        if any(as_json):
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(v) if j and v is not None else v
                        for v, j in zip(row, as_json, strict=True)
                    ]
                )
        else:
            for row in rows:
                copy.write_row(row)
    return table


def product_id(sku: Any) -> Any:
    """The id of the product named ``sku``, as a LATERAL lookup per staged row.

    The ``LIMIT`` keeps the planner from turning the lookup into a hash join that
    reads every product for each chunk (which it prefers on a large catalog, and
    more so when the statistics are stale after a bulk load): each row costs one
    probe of the unique index on ``sku``, whatever the statistics say.
    """
    products = Product.__table__
    return select(products.c.id).where(products.c.sku == sku).limit(1).lateral()


def refuse_unknown(session: Session, staged: Table, where: str) -> None:
    """The same error :func:`pazar.commerce.import_writer.resolve_skus` gives, for the
    chunk's first line (in file order) whose SKU names no product."""
    found = product_id(staged.c.sku)
    first = session.execute(
        select(staged.c.line, staged.c.sku)
        .select_from(staged.outerjoin(found, true()))
        .where(found.c.id.is_(None))
        .order_by(staged.c.line)
        .limit(1)
    ).first()
    if first is not None:
        raise ValidationError(
            f"{where}:{first[0]}: column 'sku': unknown SKU {first[1]!r} "
            "(import the products first)"
        )


def merge(
    session: Session,
    table: Table,
    chunk: Chunk,
    where: str,
    *,
    fields: Sequence[str],
    values: Callable[[dict[str, Any]], tuple[Any, ...]],
    keys: Sequence[str],
    compare: Sequence[str],
    now: Any,
    by_sku: bool = True,
) -> int:
    """Upsert a chunk into ``table``: insert new rows, update existing ones only where a
    ``compare`` column differs, versions from one reserved range in file order.

    ``fields`` are ``table``'s columns a row supplies (``values(row)`` gives them in
    order).  With ``by_sku`` the row's ``sku`` is resolved to ``product_id`` (an
    unknown SKU is refused first).  Returns how many rows were inserted or changed.
    """
    targets = [name for name in fields if name != "sku"]
    columns = [
        Column("ord", Integer()),
        Column("line", Integer()),
        Column("sku", String()),
        *(Column(name, table.c[name].type) for name in targets),
    ]
    rows = [(ord_, line, row["sku"], *values(row)) for ord_, (line, row) in enumerate(chunk)]
    staged = stage(session, f"pazar_import_{table.name}", columns, rows)
    if by_sku:
        refuse_unknown(session, staged, where)
    first = reserve_versions(session, len(rows))
    source: dict[str, Any] = {name: staged.c[name] for name in targets}
    joined: Any = staged
    if by_sku:
        found = product_id(staged.c.sku)
        joined = joined.join(found, true())
        source = {"product_id": found.c.id, **source}
    else:
        source = {"sku": staged.c.sku, **source}
    # Rows that would change nothing are left out before the upsert: an unchanged
    # row that reached ON CONFLICT would still be locked (a heap write) for nothing,
    # and re-importing a whole file where little changed is the common case.
    current = (
        select(literal(True).label("present"), *[table.c[name] for name in compare])
        .where(*[table.c[name] == source[name] for name in keys])
        .limit(1)
        .lateral()
    )
    joined = joined.outerjoin(current, true())
    unseen = current.c.present.is_(None)
    select_rows = (
        select(
            *source.values(),
            (literal(first) + staged.c.ord).label("version"),
            literal(now, UTCDateTime()).label("updated_at"),
        )
        .select_from(joined)
        .where(or_(unseen, *[current.c[name].is_distinct_from(source[name]) for name in compare]))
        .order_by(staged.c.ord)
    )
    stmt = postgresql.insert(table).from_select([*source, "version", "updated_at"], select_rows)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            **{name: excluded[name] for name in compare},
            "version": excluded.version,
            "updated_at": excluded.updated_at,
        },
        where=or_(*[table.c[name].is_distinct_from(excluded[name]) for name in compare]),
    )
    # SQLAlchemy keeps an INSERT's row count only when asked to.
    result = session.execute(stmt.execution_options(preserve_rowcount=True))
    return int(result.rowcount or 0)
