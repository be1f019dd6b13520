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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.channels import feature_enabled
from core.flows.model import FlowDef
from core.flows.schedule import Schedule, parse_schedule
from core.jobs.queue import enqueue
from core.models.channels import Channel
from core.models.jobs import ScheduleTick


@dataclass(frozen=True)
class Due:
    channel_id: int
    flow: str
    tick: datetime


def schedule_for(flow: FlowDef, channel: Any) -> Schedule | None:
    override = ((channel.config or {}).get("schedules") or {}).get(flow.flow)
    text = override or flow.schedule
    return parse_schedule(text) if text else None


def due_ticks(channels: list[Any], flows: list[FlowDef], now: datetime) -> list[Due]:
    """The latest tick of every enabled, scheduled flow of every active channel."""
    by_plugin: dict[str, list[FlowDef]] = {}
    for flow in flows:
        by_plugin.setdefault(flow.plugin, []).append(flow)
    due: list[Due] = []
    for channel in channels:
        if channel.status != "active":
            continue
        for flow in by_plugin.get(channel.plugin, []):
            if not feature_enabled(channel, flow.feature_flag):
                continue
            schedule = schedule_for(flow, channel)
            if schedule is not None:
                due.append(Due(channel.id, flow.ref, schedule.previous_at_or_before(now)))
    return due


def _active_channels(session: Session) -> list[Any]:
    """Active channels as light rows (id, slug, plugin, status, config): read every pass."""
    c = Channel.__table__
    return list(
        session.execute(
            select(c.c.id, c.c.slug, c.c.plugin, c.c.status, c.c.config).where(
                c.c.status == "active"
            )
        )
    )


def enqueue_due(
    session: Session,
    flows: list[FlowDef],
    now: datetime,
    seen: dict[tuple[int, str], datetime] | None = None,
) -> list[int]:
    """Claim and enqueue every due tick not claimed yet; returns the new job ids.

    ``seen`` (kept by a daemon between passes) remembers the last tick handled per
    (channel, flow), so an idle pass touches the database only to read channels.
    """
    channels = _active_channels(session)
    due = due_ticks(channels, flows, now)
    if seen is not None:
        due = [d for d in due if seen.get((d.channel_id, d.flow)) != d.tick]
    if not due:
        return []
    ticks = ScheduleTick.__table__
    insert = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )(ticks)
    jobs: list[int] = []
    for item in due:
        claimed = session.execute(
            insert.values(
                channel_id=item.channel_id, flow=item.flow, tick=item.tick, created_at=now
            )
            .on_conflict_do_nothing(index_elements=["channel_id", "flow", "tick"])
            .returning(ticks.c.id)
        ).scalar()
        if seen is not None:
            seen[(item.channel_id, item.flow)] = item.tick
        if claimed is None:
            continue  # this tick was enqueued already (by us earlier, or another daemon)
        job_id = enqueue(
            session, channel_id=item.channel_id, flow=item.flow, trigger="schedule", now=now
        )
        session.execute(ticks.update().where(ticks.c.id == claimed).values(job_id=job_id))
        jobs.append(job_id)
    return jobs


def overdue(session: Session, flows: list[FlowDef], now: datetime) -> list[dict[str, Any]]:
    """Scheduled (channel, flow) pairs whose latest tick has no tick row yet."""
    channels = _active_channels(session)
    due = due_ticks(channels, flows, now)
    claimed = {
        (c, f, t)
        for c, f, t in session.execute(
            select(ScheduleTick.channel_id, ScheduleTick.flow, ScheduleTick.tick).where(
                ScheduleTick.tick.in_(sorted({d.tick for d in due}))
            )
        ).all()
    }
    slugs = {c.id: c.slug for c in channels}
    return [
        {"channel": slugs[d.channel_id], "flow": d.flow, "tick": d.tick}
        for d in due
        if (d.channel_id, d.flow, d.tick) not in claimed
    ]
