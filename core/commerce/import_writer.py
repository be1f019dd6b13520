"""Writing imported rows: set-based upserts that touch only what changed.

Rows whose values did not change keep their version, so re-importing a file
changes nothing and nothing is re-sent to marketplaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, or_, select
from sqlalchemy.orm import Session

from pazar.commerce.versioning import reserve_versions
from pazar.errors import ValidationError
from pazar.models.commerce import Product
from pazar.sqlbulk import dialect_insert, executemany


def upsert_changed(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    compare: Sequence[str],
    *,
    versioned: bool = True,
    now: Any = None,
) -> int:
    """Insert new rows; update existing ones only where a compared value differs.

    Versions are assigned in file order from one reserved range; an unchanged row
    keeps its old version (the WHERE clause skips it entirely).  Returns how many
    rows were inserted or changed, for the import's "changed / unchanged" counts.
    """
    if not rows:
        return 0
    if versioned:
        first = reserve_versions(session, len(rows))
        for offset, row in enumerate(rows):
            row["version"] = first + offset
            row["updated_at"] = now
    stmt = dialect_insert(session, table)
    excluded = stmt.excluded
    updates = {name: excluded[name] for name in compare}
    if versioned:
        updates.update(version=excluded.version, updated_at=excluded.updated_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_=updates,
        where=or_(*[table.c[name].is_distinct_from(excluded[name]) for name in compare]),
    )
    return executemany(session, table, stmt, rows)


def dedupe(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Last row wins when a file names the same object twice in one chunk."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        seen[tuple(row[k] for k in keys)] = row
    return list(seen.values())


def product_ids(session: Session, skus: Sequence[str]) -> dict[str, int]:
    table = Product.__table__
    out: dict[str, int] = {}
    unique = list(dict.fromkeys(skus))
    for start in range(0, len(unique), 900):
        part = unique[start : start + 900]
        out.update(
            session.execute(select(table.c.sku, table.c.id).where(table.c.sku.in_(part))).all()
        )
    return out


def resolve_skus(
    session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, column: str = "sku"
) -> dict[str, int]:
    ids = product_ids(session, [row[column] for _, row in chunk if row.get(column)])
    for line, row in chunk:
        value = row.get(column)
        if value and value not in ids:
            raise ValidationError(
                f"{where}:{line}: column '{column}': unknown SKU {value!r} (import the products first)"
            )
    return ids
