"""What the benchmarks share, so each states only what it measures.

A benchmark runs on a throwaway database (a SQLite file in its temporary folder, or a
migrated schema of its own on a PostgreSQL server, dropped afterwards) and, for the
Hepsiburada flows, on one channel whose config points at the sandbox with the fields a
stock or price push needs.  Scripts in ``bench/`` import this module by name: Python puts
a script's own folder first on ``sys.path``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pazar.db import Database  # noqa: E402
from pazar.testing import postgres_schema  # noqa: E402


@contextmanager
def database_url(given: str | None, tmp: str, name: str = "bench") -> Iterator[str]:
    """A migrated database to measure on: ``given`` a PostgreSQL URL, a schema of its own."""
    if not given:
        url = f"sqlite:///{tmp}/{name}.db"
        Database(url).upgrade()
        yield url
    elif given.startswith("postgresql"):
        with postgres_schema(given) as url:
            yield url
    else:
        yield given


def hepsiburada_config(sandbox: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A Hepsiburada channel on the sandbox ``sandbox`` (its channel_config) with catalog hb."""
    return {
        **sandbox,
        "category_ids": [60001001],
        "default_reason_id": 1,
        "cancellation_reason_id": 1,
        "cargo_company_mapping": {"default": 1},
        "catalog_code": "hb",
        **more,
    }
