"""Turning flow schedules into jobs, exactly once per tick, with no leader.

For every active channel and every scheduled flow of its plugin whose feature
flag is on, the latest tick at or before now is claimed by inserting a
(channel, flow, tick) row; the unique constraint decides which scheduler wins,
and the winner writes the job in the same transaction.  Only the latest tick is
claimed, so a daemon that was down runs a missed schedule once, not once per
missed tick.  A channel's config may override a flow's schedule
(``schedules: {stock: "*/2 * * * *"}``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, select, type_coerce
from sqlalchemy.orm import Session

from pazar.db_driver import session_connection
from pazar.flows.model import FlowDef
from pazar.flows.schedule import parse_schedule
from pazar.jobs.due import Due, due_ticks
from pazar.models.channels import Channel
from pazar.models.jobs import Job, ScheduleTick
from pazar.sqlbulk import dialect_insert
from pazar.status_reads import active_channels


def _active_channels(session: Session) -> list[Any]:
    """Active channels as light rows (id, slug, plugin, status, config): read every pass,
    with the query ``pazar status`` uses to tell which schedules are overdue."""
    return list(active_channels(session_connection(session)))


class PassCache:
    """What a daemon's scheduler learnt on earlier passes, so an idle pass is cheap.

    Every second a daemon asks "is anything due?".  The answer only changes when
    the active channels change (read as ``(id, updated_at)`` pairs, not whole
    configs) or when some schedule reaches a new tick, so a pass with neither
    reads two small columns and stops.  ``seen`` is the last tick handled per
    (channel, flow).
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[int, str], datetime] = {}
        self.stamp: tuple[Any, ...] | None = None
        self.channels: list[Any] = []
        self.texts: set[str] = set()
        self.ticks: dict[str, datetime] | None = None
        self.windows: dict[str, tuple[datetime, datetime]] = {}  # text -> (tick, next tick)

    def latest_tick(self, text: str, now: datetime) -> datetime:
        """A schedule's latest tick at or before ``now``; cron arithmetic only when
        ``now`` left the window between the tick it found last and the next one."""
        window = self.windows.get(text)
        if window is not None and window[0] <= now < window[1]:
            return window[0]
        schedule = parse_schedule(text)
        tick = schedule.previous_at_or_before(now)
        self.windows[text] = (tick, schedule.next_after(tick))
        return tick


# The stored value as the driver returns it: compared, never used as a time.
_STAMP = (
    select(Channel.__table__.c.id, type_coerce(Channel.__table__.c.updated_at, String))
    .where(Channel.__table__.c.status == "active")
    .order_by(Channel.__table__.c.id)
)


def _channel_stamp(session: Session) -> tuple[Any, ...]:
    return tuple(session.connection().execute(_STAMP))


def _schedule_texts(channels: list[Any], flows: list[FlowDef]) -> set[str]:
    texts = {flow.schedule for flow in flows if flow.schedule}
    for channel in channels:
        texts.update(v for v in ((channel.config or {}).get("schedules") or {}).values() if v)
    return texts


def enqueue_due_cached(
    session: Session, flows: list[FlowDef], now: datetime, cache: PassCache
) -> tuple[list[int], dict[str, datetime] | None]:
    """:func:`enqueue_due` that skips the pass when neither the channels nor any
    schedule's latest tick changed since ``cache`` was last confirmed.

    Returns the job ids and the ticks to confirm with ``cache.ticks = ...`` once
    the transaction committed (None when there is nothing new to confirm).
    """
    stamp = _channel_stamp(session)
    if stamp != cache.stamp:
        cache.channels = _active_channels(session)
        cache.texts = _schedule_texts(cache.channels, flows)
        cache.stamp, cache.ticks = stamp, None
    ticks = {text: cache.latest_tick(text, now) for text in cache.texts}
    if ticks == cache.ticks:
        return [], None
    return enqueue_due(session, flows, now, cache.seen, channels=cache.channels), ticks


def enqueue_due(
    session: Session,
    flows: list[FlowDef],
    now: datetime,
    seen: dict[tuple[int, str], datetime] | None = None,
    *,
    channels: list[Any] | None = None,
) -> list[int]:
    """Claim and enqueue every due tick not claimed yet; returns their job ids.

    ``seen`` (kept by a daemon between passes) remembers the last tick handled per
    (channel, flow), so an idle pass touches the database only to read channels.
    A pass is set-based whatever the number of channels: one INSERT claims the
    ticks (the unique index drops those another daemon claimed), one reads the
    jobs already queued, one inserts the new jobs, one links ticks to jobs.
    """
    if channels is None:
        channels = _active_channels(session)
    due = due_ticks(channels, flows, now)
    if seen is not None:
        due = [d for d in due if seen.get((d.channel_id, d.flow)) != d.tick]
    if not due:
        return []
    claimed = claim_ticks(session, due, now)
    if seen is not None:
        seen.update({(d.channel_id, d.flow): d.tick for d in due})
    if not claimed:
        return []
    return enqueue_claimed(session, claimed, now)


def claim_ticks(session: Session, due: list[Due], now: datetime) -> dict[tuple[int, str], int]:
    """Insert the tick rows nobody has yet: (channel id, flow) → tick row id.

    Cron ticks and change wake-ups (:mod:`pazar.jobs.wake`) alike: the unique
    (channel, flow, tick) row is what makes each happen once across daemons.
    """
    ticks = ScheduleTick.__table__
    insert = dialect_insert(session, ticks)
    claimed: dict[tuple[int, str], int] = {}
    for start in range(0, len(due), 1000):
        rows = [
            {
                "channel_id": d.channel_id,
                "flow": d.flow,
                "tick": d.tick,
                "trigger": d.trigger,
                "created_at": now,
            }
            for d in due[start : start + 1000]
        ]
        stmt = (
            insert.values(rows)
            .on_conflict_do_nothing(index_elements=["channel_id", "flow", "tick"])
            .returning(ticks.c.id, ticks.c.channel_id, ticks.c.flow)
        )
        claimed.update({(r.channel_id, r.flow): r.id for r in session.execute(stmt)})
    return claimed


def enqueue_claimed(
    session: Session,
    claimed: dict[tuple[int, str], int],
    now: datetime,
    *,
    trigger: str = "schedule",
    not_before: dict[tuple[int, str], datetime] | None = None,
) -> list[int]:
    """A job per claimed tick, reusing one already queued for the same (channel, flow);
    returns the jobs the ticks now point to.  ``not_before``: when each new job may run
    (default: now)."""
    jobs = Job.__table__
    channel_ids = sorted({channel_id for channel_id, _ in claimed})
    waiting: dict[tuple[int, str], int] = {}
    for start in range(0, len(channel_ids), 1000):
        rows = session.execute(
            select(jobs.c.id, jobs.c.channel_id, jobs.c.flow, jobs.c.payload)
            .where(
                jobs.c.channel_id.in_(channel_ids[start : start + 1000]),
                jobs.c.status == "queued",
                jobs.c.after_job_id.is_(None),
            )
            .order_by(jobs.c.id)
        )
        for row in rows:
            if not row.payload:
                waiting.setdefault((row.channel_id, row.flow), row.id)
    new = [key for key in claimed if key not in waiting]
    created: dict[tuple[int, str], int] = {}
    if new:
        stmt = (
            jobs.insert()
            .values(
                [
                    {
                        "channel_id": channel_id,
                        "flow": flow,
                        "trigger": trigger,
                        "status": "queued",
                        "payload": {},
                        "not_before": (not_before or {}).get((channel_id, flow), now),
                        "attempts": 0,
                        "created_at": now,
                    }
                    for channel_id, flow in new
                ]
            )
            .returning(jobs.c.id, jobs.c.channel_id, jobs.c.flow)
        )
        created = {(r.channel_id, r.flow): r.id for r in session.execute(stmt)}
    linked = {key: created.get(key) or waiting[key] for key in claimed}
    ticks = ScheduleTick.__table__
    session.execute(
        ticks.update().where(ticks.c.id == bindparam("tick_id")).values(job_id=bindparam("job")),
        [{"tick_id": tick_id, "job": linked[key]} for key, tick_id in claimed.items()],
    )
    return sorted(set(linked.values()))
