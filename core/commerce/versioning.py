"""One global, monotonically increasing version for every commerce change.

A single counter (rather than per-table sequences or timestamps) makes
"changed since the last integration" a plain ``version > integrated_version``
comparison across products, prices and stocks, and works the same on SQLite
and PostgreSQL.  Bulk writers reserve a whole range in one statement; versions
reserved for rows that turn out unchanged are simply skipped (gaps are fine).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


def reserve_versions(conn: Connection | Session, count: int) -> int:
    """Reserve ``count`` versions; return the first (the range is first..first+count-1)."""
    if count < 1:
        raise ValueError("count must be positive")
    last = conn.execute(
        text(
            "INSERT INTO commerce_versions (id, value) VALUES (1, :n) "
            "ON CONFLICT (id) DO UPDATE SET value = commerce_versions.value + :n RETURNING value"
        ),
        {"n": count},
    ).scalar_one()
    return int(last) - count + 1


def next_version(conn: Connection | Session) -> int:
    return reserve_versions(conn, 1)
