"""The reads behind ``pazar status`` and the web's daemons screen, in plain SQL.

Both show the same: running daemons with their heartbeats, queue depth per flow, running
jobs, each (channel, flow)'s last run and last check, scheduled flows whose tick no
daemon has claimed (overdue), and the records that wait for their product.  The queries
are written once, here, against a DB-API connection (:class:`~pazar.db_driver.
PlainConnection`): ``pazar status`` opens one with the driver alone, because importing
SQLAlchemy and the models took three quarters of its time; the daemons screen and the
scheduler pass the connection of their SQLAlchemy session (:func:`~pazar.db_driver.
session_connection`).  Values come back as the models give them: times timezone-aware in
UTC, JSON columns parsed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pazar.db_driver import PlainConnection
from pazar.jobs.due import ScheduledFlow, due_ticks


class ChannelRow(NamedTuple):
    """An active channel as the scheduler reads it on every pass."""

    id: int
    slug: str
    plugin: str
    status: str
    config: Any


def _time(value: Any) -> datetime | None:
    """A stored time as ``UTCDateTime`` reads it: SQLite keeps naive UTC text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _bind_time(value: datetime, dialect: str) -> Any:
    """A time as ``UTCDateTime`` stores it: naive UTC text on SQLite, aware elsewhere."""
    value = value.astimezone(UTC)
    if dialect == "sqlite":
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _json(value: Any, dialect: str) -> Any:
    """A JSON column's value: SQLite returns its text, psycopg parses it already."""
    if dialect == "sqlite" and isinstance(value, str | bytes):
        return json.loads(value)
    return value


ACTIVE_CHANNELS = (
    "SELECT channels.id, channels.slug, channels.plugin, channels.status, channels.config "
    "FROM channels WHERE channels.status = ?"
)
DAEMONS = (
    "SELECT daemons.id, daemons.host, daemons.pid, daemons.workers, daemons.heartbeat_at "
    "FROM daemons WHERE daemons.stopped_at IS NULL ORDER BY daemons.started_at"
)
QUEUE = (
    "SELECT jobs.flow, count(*) AS count_1 FROM jobs WHERE jobs.status = ? "
    "GROUP BY jobs.flow ORDER BY jobs.flow"
)
RUNNING = (
    "SELECT jobs.id, jobs.flow, channels.slug, jobs.lease_owner, jobs.started_at "
    "FROM jobs JOIN channels ON channels.id = jobs.channel_id WHERE jobs.status = ?"
)
LAST_RUNS = (
    "SELECT runs.plugin, runs.flow, runs.status, runs.started_at, channels.slug "
    "FROM runs JOIN (SELECT runs.channel_id AS channel_id, runs.plugin AS plugin, "
    "runs.flow AS flow, max(runs.id) AS id FROM runs "
    "GROUP BY runs.channel_id, runs.plugin, runs.flow) AS anon_1 ON runs.id = anon_1.id "
    "JOIN channels ON channels.id = runs.channel_id"
)
# Scheduled checks that found nothing leave no run, only their finished job.
LAST_CHECKS = (
    "SELECT channels.slug, jobs.flow, max(jobs.finished_at) AS max_1 "
    "FROM jobs JOIN channels ON channels.id = jobs.channel_id WHERE jobs.status = ? "
    "GROUP BY channels.slug, jobs.flow"
)
WAITING = (
    "SELECT channels.slug, integration_waits.content_type, integration_waits.needs, "
    "count(*) AS count_1 FROM integration_waits "
    "JOIN channels ON channels.id = integration_waits.channel_id "
    "GROUP BY channels.slug, integration_waits.content_type, integration_waits.needs "
    "ORDER BY channels.slug, integration_waits.content_type"
)
CLAIMED_TICKS = (
    "SELECT schedule_ticks.channel_id, schedule_ticks.flow, schedule_ticks.tick "
    "FROM schedule_ticks WHERE schedule_ticks.tick IN ({marks})"
)


def _channel_rows(rows: list[tuple[Any, ...]], dialect: str) -> list[ChannelRow]:
    return [
        ChannelRow(id, slug, plugin, status, _json(config, dialect))
        for id, slug, plugin, status, config in rows
    ]


def active_channels(conn: PlainConnection) -> list[ChannelRow]:
    """Active channels as light rows (id, slug, plugin, status, config): what the
    scheduler reads every pass and what decides which schedules are overdue."""
    return _channel_rows(conn.rows(ACTIVE_CHANNELS, ("active",)), conn.dialect)


def overdue(
    conn: PlainConnection,
    flows: Sequence[ScheduledFlow],
    now: datetime,
    channels: list[ChannelRow] | None = None,
) -> list[dict[str, Any]]:
    """Scheduled (channel, flow) pairs whose latest tick has no tick row yet; ``channels``
    are the :func:`active_channels` when the caller read them already."""
    if channels is None:
        channels = active_channels(conn)
    due = due_ticks(channels, flows, now)
    claimed: set[tuple[int, str, datetime | None]] = set()
    ticks = sorted({d.tick for d in due})
    if ticks:
        sql = CLAIMED_TICKS.format(marks=", ".join("?" for _ in ticks))
        params = tuple(_bind_time(t, conn.dialect) for t in ticks)
        claimed = {(c, f, _time(t)) for c, f, t in conn.rows(sql, params)}
    slugs = {c.id: c.slug for c in channels}
    return [
        {"channel": slugs[d.channel_id], "flow": d.flow, "tick": d.tick}
        for d in due
        if (d.channel_id, d.flow, d.tick) not in claimed
    ]


# What :func:`read_status` reads at once, in this order: nothing here depends on another.
STATUS_STATEMENTS: list[tuple[str, tuple[Any, ...]]] = [
    (DAEMONS, ()),
    (QUEUE, ("queued",)),
    (RUNNING, ("running",)),
    (LAST_RUNS, ()),
    (LAST_CHECKS, ("done",)),
    (WAITING, ()),
    (ACTIVE_CHANNELS, ("active",)),
]


def read_status(
    conn: PlainConnection, flows: Sequence[ScheduledFlow], now: datetime
) -> dict[str, Any]:
    """``daemons``, ``queue``, ``running``, ``last_runs``, ``overdue`` and ``waiting`` (records
    waiting for another content type or for price/stock data, per channel), as JSON-able
    dicts.

    :data:`STATUS_STATEMENTS` go out as one :meth:`~pazar.db_driver.PlainConnection.batch`
    (one round trip on PostgreSQL); only the claimed ticks, which depend on the active
    channels, follow in a second."""
    return status_from_rows(conn, conn.batch(STATUS_STATEMENTS), flows, now)


def status_from_rows(
    conn: PlainConnection,
    rows: Sequence[list[tuple[Any, ...]]],
    flows: Sequence[ScheduledFlow],
    now: datetime,
) -> dict[str, Any]:
    """:func:`read_status` from the rows of :data:`STATUS_STATEMENTS`, read by a caller that
    batched them with statements of its own (``pazar status`` adds its revision check)."""
    daemon_rows, queue_rows, running_rows, run_rows, check_rows, wait_rows, channel_rows = rows
    daemons = [
        {"id": id, "host": host, "pid": pid, "workers": workers, "heartbeat_at": _time(beat)}
        for id, host, pid, workers, beat in daemon_rows
    ]
    queue = [{"flow": flow, "queued": count} for flow, count in queue_rows]
    running = [
        {"job": id, "flow": flow, "channel": slug, "owner": owner, "started_at": _time(started)}
        for id, flow, slug, owner, started in running_rows
    ]
    by_pair: dict[tuple[str, str], dict] = {}
    for plugin, flow, status, started, slug in run_rows:
        by_pair[(slug, f"{plugin}/{flow}")] = {
            "channel": slug,
            "flow": f"{plugin}/{flow}",
            "status": status,
            "started_at": _time(started),
            "checked_at": None,
        }
    for slug, flow, checked in check_rows:
        row = by_pair.setdefault(
            (slug, flow),
            {"channel": slug, "flow": flow, "status": None, "started_at": None},
        )
        row["checked_at"] = _time(checked)
    last_runs = [by_pair[key] for key in sorted(by_pair)]
    late = overdue(conn, flows, now, _channel_rows(channel_rows, conn.dialect))
    waiting = [
        {"channel": slug, "content_type": ct, "needs": needs, "records": count}
        for slug, ct, needs, count in wait_rows
    ]
    return {
        "daemons": daemons,
        "queue": queue,
        "running": running,
        "last_runs": last_runs,
        "overdue": late,
        "waiting": waiting,
    }
