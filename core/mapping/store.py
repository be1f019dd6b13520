"""The per-channel marketplace catalog store: bulk upserts and the reads mapping needs.

Marketplace flows (Category Node, Category Attributes, Default Attributes,
Compare Attributes) hand whole pages of rows to these functions; each page is
one ``INSERT … ON CONFLICT`` statement, so a 30,000-category tree is a handful
of statements, and a second identical pull changes nothing but ``seen_at``.
What disappeared from the marketplace is marked ``removed`` (never deleted), and
an attribute whose definition changed is marked ``changed`` with a note saying
how, so a mapping pointing at either gets a clear finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, select, update
from sqlalchemy.orm import Session

from pazar.models.marketplace import (
    DEFAULT_CATEGORY,
    MarketplaceAttribute,
    MarketplaceAttributeValue,
    MarketplaceCategory,
)
from pazar.sqlbulk import dialect_insert

PATH_SEPARATOR = " > "
CHUNK = 2000  # rows per statement: well under SQLite's bound-parameter limit per row set
_COMPARED = ("name", "group", "mandatory", "type", "multi_value")


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _upsert(
    session: Session, table: Any, keys: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert or update ``rows`` on their natural key, one statement per chunk."""
    if not rows:
        return
    stmt = dialect_insert(session, table)
    updated = [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in updated}
    )
    for chunk in _chunks(rows):
        session.execute(stmt, list(chunk))


# --- categories ------------------------------------------------------------------------------
def category_row(raw: Mapping[str, Any], channel_id: int, now: datetime) -> dict[str, Any]:
    """A store row from a plugin's category dict (remote_id, parent_remote_id, name, ...)."""
    parent = raw.get("parent_remote_id")
    return {
        "channel_id": channel_id,
        "remote_id": str(raw["remote_id"]),
        "parent_remote_id": None if parent in (None, "", 0) else str(parent),
        "name": str(raw.get("name") or ""),
        "path": "",  # computed from the whole tree by refresh_paths
        "leaf": bool(raw.get("leaf", True)),
        "available": bool(raw.get("available", True)),
        "status": "active",
        "seen_at": now,
        "updated_at": now,
    }


def upsert_categories(
    session: Session, channel_id: int, categories: Iterable[Mapping[str, Any]], now: datetime
) -> int:
    """Store a page of categories; paths are filled by :func:`refresh_paths` afterwards."""
    rows = [category_row(c, channel_id, now) for c in categories]
    t = MarketplaceCategory.__table__
    stmt = dialect_insert(session, t)
    set_ = {
        c: stmt.excluded[c]
        for c in ("parent_remote_id", "name", "leaf", "available", "status", "seen_at")
    }
    changed = (
        (t.c.parent_remote_id.is_distinct_from(stmt.excluded.parent_remote_id))
        | (t.c.name != stmt.excluded.name)
        | (t.c.leaf != stmt.excluded.leaf)
        | (t.c.available != stmt.excluded.available)
        | (t.c.status != "active")
    )
    set_["updated_at"] = case((changed, stmt.excluded.updated_at), else_=t.c.updated_at)
    stmt = stmt.on_conflict_do_update(index_elements=["channel_id", "remote_id"], set_=set_)
    for chunk in _chunks(rows):
        session.execute(stmt, list(chunk))
    return len(rows)


def refresh_paths(session: Session, channel_id: int) -> int:
    """Recompute every category's path from the parent chain; returns how many changed.

    The tree arrives page by page in any order, so paths can only be computed once
    all of it is stored.  The tree is small metadata (ids, parents, names), read
    once; only rows whose path changes are written, in one executemany.
    """
    t = MarketplaceCategory.__table__
    rows = session.execute(
        select(t.c.id, t.c.remote_id, t.c.parent_remote_id, t.c.name, t.c.path).where(
            t.c.channel_id == channel_id
        )
    ).all()
    by_remote = {r.remote_id: r for r in rows}
    paths: dict[str, str] = {}

    def path_of(remote_id: str) -> str:
        chain: list[Any] = []
        current: str | None = remote_id
        seen: set[str] = set()
        while current is not None and current not in paths and current in by_remote:
            if current in seen:  # a cycle in the marketplace's data: stop, keep what we have
                break
            seen.add(current)
            chain.append(by_remote[current])
            current = by_remote[current].parent_remote_id
        prefix = paths.get(current, "") if current is not None else ""
        for row in reversed(chain):
            prefix = f"{prefix}{PATH_SEPARATOR}{row.name}" if prefix else row.name
            paths[row.remote_id] = prefix
        return paths.get(remote_id, "")

    changes = []
    for r in rows:
        path = path_of(r.remote_id)
        if path != r.path:
            changes.append({"row_id": r.id, "new_path": path})
    if changes:
        stmt = update(t).where(t.c.id == bindparam("row_id")).values(path=bindparam("new_path"))
        for chunk in _chunks(changes):
            session.connection().execute(stmt, list(chunk))
    return len(changes)


def mark_unseen_categories(session: Session, channel_id: int, since: datetime) -> int:
    """Categories not seen by a complete pull started at ``since`` become ``removed``."""
    t = MarketplaceCategory.__table__
    result = session.execute(
        update(t)
        .where(t.c.channel_id == channel_id, t.c.seen_at < since, t.c.status != "removed")
        .values(status="removed", updated_at=since)
    )
    return int(result.rowcount or 0)


# --- attributes ------------------------------------------------------------------------------
@dataclass
class AttributeChanges:
    """What one attribute pull changed, for the run log (Compare Attributes)."""

    added: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)


def attribute_row(raw: Mapping[str, Any], channel_id: int, now: datetime) -> dict[str, Any]:
    category = raw.get("category_remote_id")
    return {
        "channel_id": channel_id,
        "category_remote_id": DEFAULT_CATEGORY if category is None else str(category),
        "remote_id": str(raw["remote_id"]),
        "name": str(raw.get("name") or raw["remote_id"]),
        "group": str(raw.get("group") or "attribute"),
        "mandatory": bool(raw.get("mandatory", False)),
        "type": str(raw.get("type") or "string"),
        "multi_value": bool(raw.get("multi_value", False)),
        "seen_at": now,
        "updated_at": now,
    }


def _describe_change(old: Any, new: dict[str, Any]) -> str:
    parts = []
    for column in _COMPARED:
        before, after = getattr(old, column), new[column]
        if before != after:
            parts.append(f"{column}: {before!r} → {after!r}")
    return ", ".join(parts)


def upsert_attributes(
    session: Session,
    channel_id: int,
    attributes: Iterable[Mapping[str, Any]],
    now: datetime,
) -> AttributeChanges:
    """Store a page of attribute definitions and say which are new or changed.

    The stored definitions of the page's categories are read in one query and
    compared in memory: a changed definition is stored ``changed`` with a note
    ("mandatory: False → True"), an unchanged one ``active``.
    """
    rows = [attribute_row(a, channel_id, now) for a in attributes]
    changes = AttributeChanges()
    if not rows:
        return changes
    t = MarketplaceAttribute.__table__
    categories = sorted({r["category_remote_id"] for r in rows})
    existing: dict[tuple[str, str], Any] = {}
    for start in range(0, len(categories), 500):
        part = categories[start : start + 500]
        for old in session.execute(
            select(t).where(t.c.channel_id == channel_id, t.c.category_remote_id.in_(part))
        ):
            existing[(old.category_remote_id, old.remote_id)] = old
    for row in rows:
        old = existing.get((row["category_remote_id"], row["remote_id"]))
        if old is None:
            row.update(status="active", change_note=None)
            changes.added.append((row["category_remote_id"], row["name"]))
            continue
        note = _describe_change(old, row)
        if note:
            row.update(status="changed", change_note=note)
            changes.changed.append((row["category_remote_id"], row["name"], note))
        else:
            row.update(status="active", change_note=old.change_note, updated_at=old.updated_at)
    _upsert(session, t, ("channel_id", "category_remote_id", "remote_id"), rows)
    return changes


def mark_unseen_attributes(
    session: Session, channel_id: int, categories: Sequence[str], since: datetime
) -> list[tuple[str, str]]:
    """Attributes of ``categories`` not seen since ``since`` become ``removed``."""
    t = MarketplaceAttribute.__table__
    gone: list[tuple[str, str]] = []
    for start in range(0, len(categories), 500):
        part = list(categories[start : start + 500])
        where = and_(
            t.c.channel_id == channel_id,
            t.c.category_remote_id.in_(part),
            t.c.seen_at < since,
            t.c.status != "removed",
        )
        gone.extend(
            (r.category_remote_id, r.name)
            for r in session.execute(select(t.c.category_remote_id, t.c.name).where(where))
        )
        session.execute(
            update(t)
            .where(where)
            .values(status="removed", change_note="removed on the marketplace", updated_at=since)
        )
    return gone


def upsert_values(
    session: Session, channel_id: int, values: Iterable[Mapping[str, Any]], now: datetime
) -> int:
    """Store a page of allowed attribute values (category, attribute, remote id, value)."""
    rows = [
        {
            "channel_id": channel_id,
            "category_remote_id": str(v.get("category_remote_id") or DEFAULT_CATEGORY),
            "attribute_remote_id": str(v["attribute_remote_id"]),
            "remote_id": str(v.get("remote_id") or v["value"]),
            "value": str(v["value"]),
            "seen_at": now,
        }
        for v in values
    ]
    _upsert(
        session,
        MarketplaceAttributeValue.__table__,
        ("channel_id", "category_remote_id", "attribute_remote_id", "remote_id"),
        rows,
    )
    return len(rows)


def delete_unseen_values(
    session: Session, channel_id: int, categories: Sequence[str], since: datetime
) -> int:
    """Values of ``categories`` a complete pull no longer lists are no longer allowed."""
    t = MarketplaceAttributeValue.__table__
    count = 0
    for start in range(0, len(categories), 500):
        part = list(categories[start : start + 500])
        result = session.execute(
            t.delete().where(
                t.c.channel_id == channel_id,
                t.c.category_remote_id.in_(part),
                t.c.seen_at < since,
            )
        )
        count += int(result.rowcount or 0)
    return count


def leaf_categories(session: Session, channel_id: int) -> list[str]:
    """Remote ids of the stored categories that accept products (leaf, available, present)."""
    t = MarketplaceCategory.__table__
    return list(
        session.scalars(
            select(t.c.remote_id)
            .where(
                t.c.channel_id == channel_id,
                t.c.leaf.is_(True),
                t.c.available.is_(True),
                t.c.status != "removed",
            )
            .order_by(t.c.remote_id)
        )
    )
