"""What the daemons are doing and what waits: the seed-less "Daemons and queue" view.

``pazar status`` and the web's daemons screen show the same: running daemons with their
heartbeats, queue depth per flow, running jobs, each (channel, flow)'s last run and last
check, scheduled flows whose tick no daemon has claimed (overdue), and the records that wait
for their product.  The queries are :mod:`pazar.status_reads`'s; ``pazar status`` runs them
on a plain driver connection, this on a SQLAlchemy session's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pazar.db_driver import session_connection
from pazar.jobs.due import ScheduledFlow
from pazar.status_reads import read_status


def daemon_status(session: Any, flows: Sequence[ScheduledFlow], now: datetime) -> dict[str, Any]:
    """``daemons``, ``queue``, ``running``, ``last_runs``, ``overdue`` and ``waiting`` (records
    waiting for another content type or for price/stock data, per channel), as JSON-able
    dicts, read in ``session``'s transaction."""
    return read_status(session_connection(session), flows, now)
