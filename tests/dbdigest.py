"""A digest of every table, to assert that a refused input changed nothing.

``assert digest(url) == before`` after a command that must fail is the check a
user means by "nothing was changed": no row added, removed or altered, in any
table, including ones the test author did not think of.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import inspect

from pazar.db import Database


def table_digests(url: str) -> dict[str, str]:
    """table name → SHA-256 of its rows (sorted, so row order does not matter).

    Rows are read as the driver gives them, without reflecting columns: a corpus test
    digests the database twice per example, and reflecting ~50 tables each time was most
    of the suite's time in those tests.
    """
    database = Database(url)
    try:
        engine = database.engine
        out: dict[str, str] = {}
        with engine.connect() as conn:
            for name in sorted(inspect(conn).get_table_names()):
                result = conn.exec_driver_sql(f'SELECT * FROM "{name}"')
                rows = [json.dumps(list(row), default=str, sort_keys=True) for row in result]
                out[name] = hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()
        return out
    finally:
        database.dispose()


def digest(url: str) -> str:
    """One digest of the whole database."""
    return hashlib.sha256(json.dumps(table_digests(url), sort_keys=True).encode()).hexdigest()


__all__ = ["digest", "table_digests"]
