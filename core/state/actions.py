"""Integration actions: the last successful integration of each object per channel.

Written in bulk (one upsert per batch) and compared by payload hash, so a
payload identical to the last one sent is recognised without re-sending it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pazar.models.state import IntegrationAction
from pazar.sqlbulk import dialect_insert, executemany


def _number(value: int | float | Decimal) -> str:
    """10, 10.0 and Decimal("10.00") are the same price, so they hash alike."""
    normal = Decimal(str(value)).normalize()
    return format(normal, "f")


def _prepare(obj: Any) -> Any:
    # Exact-type checks first: payloads are mostly dicts of str and int, hashed per record.
    kind = type(obj)
    if kind is str or kind is bool or obj is None:
        return obj
    if kind is int:
        return {"#": str(obj)}  # the same text _number gives an int
    if kind is dict:
        return _prepare_dict(obj)
    if isinstance(obj, Mapping):
        return {str(k): _prepare(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = [_prepare(v) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, set | frozenset) else items
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int | float | Decimal):
        return {"#": _number(obj)}
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    raise TypeError(f"cannot hash a {type(obj).__name__} in a payload")


def _prepare_dict(obj: dict[Any, Any]) -> dict[str, Any]:
    """``_prepare`` of a dict, with a payload's usual str/int/None fields done inline."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = k if type(k) is str else str(k)
        kind = type(v)
        if kind is str or v is None or kind is bool:
            out[key] = v
        elif kind is int:
            out[key] = {"#": str(v)}
        else:
            out[key] = _prepare(v)
    return out


def payload_hash(payload: Any) -> str:
    """A stable SHA-256 of a JSON-like payload.

    Key order does not matter and ``10``, ``10.0`` and ``Decimal("10.00")`` hash
    alike, so a re-read record that maps to the same payload is recognised.
    """
    text = _ENCODER.encode(_prepare(payload))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# What json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) builds per
# call, built once: the same text.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def upsert(
    session: Session,
    model: Any,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Mapping[str, Any],
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for SQLite and PostgreSQL, all rows in one statement.

    ``update`` maps column names to expressions built from ``excluded`` by the
    callable form: a value ``lambda excluded, table: ...``.
    """
    if not rows:
        return
    table = model.__table__
    stmt = dialect_insert(session, table)
    set_ = {col: (fn(stmt.excluded, table) if callable(fn) else fn) for col, fn in update.items()}
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)
    executemany(session, table, stmt, list(rows))


ACTION_KEYS = ("channel_id", "content_type", "object_id")
ACTION_COLUMNS = (
    "channel_id",
    "content_type",
    "object_id",
    "object_key",
    "remote_id",
    "version",
    "payload_hash",
    "status",
    "state",
    "run_id",
    "batch_id",
    "updated_at",
)


def success_upsert(insert: Any) -> Any:
    """``insert`` (of integration actions, from values or a SELECT) as the one statement that
    records successful integrations: a known object takes the new version, payload hash and
    status, and keeps its remote id when the new row has none."""
    table = IntegrationAction.__table__
    ex = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=list(ACTION_KEYS),
        set_={
            "object_key": ex.object_key,
            "remote_id": func.coalesce(ex.remote_id, table.c.remote_id),
            "version": ex.version,
            "payload_hash": ex.payload_hash,
            "status": ex.status,
            "state": func.coalesce(ex.state, table.c.state),
            "run_id": ex.run_id,
            "batch_id": ex.batch_id,
            "updated_at": ex.updated_at,
        },
    )


def upsert_actions(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Record successful integrations from rows (:data:`ACTION_COLUMNS`; missing optional
    columns are None, ``status`` defaults to success)."""
    if not rows:
        return
    defaults = {"remote_id": None, "payload_hash": None, "status": "success", "state": None}
    full = [{**defaults, "run_id": None, "batch_id": None, **row} for row in rows]
    table = IntegrationAction.__table__
    stmt = success_upsert(dialect_insert(session, table))
    executemany(session, table, stmt, _dedupe(full, ACTION_KEYS))


def _dedupe(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """The last row per key: one statement may not touch a row twice (PostgreSQL refuses)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        out[tuple(row[k] for k in keys)] = row
    return list(out.values())


def actions_for(
    session: Session, channel_id: int, content_type: str, object_ids: Iterable[int]
) -> dict[int, IntegrationAction]:
    """The integration actions of these objects, one query."""
    ids = list(set(object_ids))
    if not ids:
        return {}
    found: dict[int, IntegrationAction] = {}
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        stmt = select(IntegrationAction).where(
            IntegrationAction.channel_id == channel_id,
            IntegrationAction.content_type == content_type,
            IntegrationAction.object_id.in_(chunk),
        )
        found.update({a.object_id: a for a in session.scalars(stmt)})
    return found
