"""Synthetic catalogs for benchmarks and tests: a million products in a few statements.

Data is built set-based (INSERT ... SELECT over a recursive series), so 10,000
penalties cost one statement, not 10,000.  Columns of the commerce tables that
a caller does not care about are filled from their type, so the builders follow
the local backend's schema as it grows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    Numeric,
    String,
    Text,
    cast,
    literal,
    select,
)
from sqlalchemy.engine import Connection

from pazar.models.base import UTCDateTime
from pazar.models.channels import Channel
from pazar.state.selection import commerce_table

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def series(n: int, start: int = 1) -> Any:
    """A CTE with one column ``i`` running start .. start+n-1 (SQLite and PostgreSQL)."""
    base = select(literal(start, BigInteger).label("i")).cte("series", recursive=True)
    return base.union_all(select(base.c.i + 1).where(base.c.i < start + n - 1))


def _filler(column: Any, now: datetime) -> Any:
    kind = column.type
    if isinstance(kind, UTCDateTime | DateTime):
        return literal(now, UTCDateTime())
    if isinstance(kind, Boolean):
        return literal(False, Boolean())
    if isinstance(kind, Integer | BigInteger | Numeric):
        return literal(0, kind)
    if isinstance(kind, JSON) or "JSON" in type(kind).__name__.upper():
        return literal({}, column.type)
    if isinstance(kind, String | Text):
        return literal("", kind)
    return literal(None, kind)


def insert_series(
    conn: Connection,
    table_name: str,
    n: int,
    columns: Mapping[str, Callable[[Any], Any]],
    *,
    start: int = 1,
    now: datetime = T0,
) -> None:
    """One INSERT ... SELECT of ``n`` rows; ``columns`` maps a column to f(i) -> SQL expression."""
    table = commerce_table(table_name)
    s = series(n, start)
    cols: list[str] = []
    exprs: list[Any] = []
    for column in table.columns:
        if column.name in columns:
            expr = columns[column.name](s.c.i)
        elif column.primary_key or column.nullable or column.server_default is not None:
            continue
        else:
            default = column.default
            if default is not None and getattr(default, "is_scalar", False):
                expr = literal(default.arg, column.type)
            else:
                expr = _filler(column, now)
        cols.append(column.name)
        exprs.append(expr.label(column.name) if hasattr(expr, "label") else expr)
    conn.execute(table.insert().from_select(cols, select(*exprs).select_from(s)))


def sku(i: Any, prefix: str = "SKU-") -> Any:
    return literal(prefix).concat(cast(i, String))


def make_catalog(
    conn: Connection,
    *,
    n: int,
    catalog_code: str,
    stock_version: Callable[[Any], Any] | None = None,
    price_version: Callable[[Any], Any] | None = None,
    with_prices: bool = True,
    start: int = 1,
) -> int:
    """Products 1..n (sku SKU-i) in catalog ``catalog_code``, with stocks (quantity i) and prices.

    Versions: product i has version i, its catalog item i, its stock
    ``stock_version(i)`` (default n+i) and price ``price_version(i)`` (default 2n+i).
    Returns the catalog id.
    """
    catalogs = commerce_table("catalogs")
    found = conn.execute(
        select(catalogs.c.id).where(catalogs.c.code == catalog_code)
    ).scalar_one_or_none()
    if found is None:
        insert_series(
            conn,
            "catalogs",
            1,
            {"code": lambda i: literal(catalog_code), "name": lambda i: literal(catalog_code)},
        )
        found = conn.execute(
            select(catalogs.c.id).where(catalogs.c.code == catalog_code)
        ).scalar_one()
    catalog_id = int(found)
    insert_series(
        conn,
        "products",
        n,
        {
            "id": lambda i: i,
            "sku": sku,
            "name": lambda i: literal("Product ").concat(cast(i, String)),
            "product_type": lambda i: literal("simple"),
            "active": lambda i: literal(True, Boolean()),
            "version": lambda i: i,
        },
        start=start,
    )
    insert_series(
        conn,
        "catalog_items",
        n,
        {
            "catalog_id": lambda i: literal(catalog_id, Integer()),
            "product_id": lambda i: i,
            "version": lambda i: i,
            "deleted": lambda i: literal(False, Boolean()),
        },
        start=start,
    )
    insert_series(
        conn,
        "stocks",
        n,
        {
            "product_id": lambda i: i,
            "quantity": lambda i: cast(i, Integer),
            "version": stock_version or (lambda i: i + n),
        },
        start=start,
    )
    if with_prices:
        insert_series(
            conn,
            "prices",
            n,
            {
                "product_id": lambda i: i,
                "price": lambda i: literal(100, Numeric(14, 2)),
                "currency": lambda i: literal("TRY"),
                "version": price_version or (lambda i: i + 2 * n),
            },
            start=start,
        )
    return catalog_id


def make_channel(
    session: Any,
    slug: str = "shop",
    config: dict[str, Any] | None = None,
    *,
    plugin: str = "testmarket",
) -> Channel:
    """An active channel row with exactly ``config`` (no schema defaults, no validation)."""
    channel = Channel(
        slug=slug,
        name=slug,
        plugin=plugin,
        status="active",
        config=dict(config or {}),
        created_at=T0,
        updated_at=T0,
    )
    session.add(channel)
    session.flush()
    return channel
