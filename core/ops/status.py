"""What the daemons are doing and what waits: the seed-less "Daemons and queue" view.

``pazar status`` and the web's daemons screen show the same: running daemons with their
heartbeats, queue depth per flow, running jobs, each (channel, flow)'s last run and last
check, scheduled flows whose tick no daemon has claimed (overdue), and the records that wait
for their product.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pazar.jobs.scheduler import overdue
from pazar.models.channels import Channel
from pazar.models.jobs import Daemon, Job
from pazar.models.runs import Run
from pazar.models.state import IntegrationWait


def daemon_status(session: Session, flows: list[Any], now: datetime) -> dict[str, Any]:
    """``daemons``, ``queue``, ``running``, ``last_runs``, ``overdue`` and ``waiting`` (records
    waiting for another content type, per channel), as JSON-able dicts."""
    daemons = [
        {
            "id": d.id,
            "host": d.host,
            "pid": d.pid,
            "workers": d.workers,
            "heartbeat_at": d.heartbeat_at,
        }
        for d in session.scalars(
            select(Daemon).where(Daemon.stopped_at.is_(None)).order_by(Daemon.started_at)
        )
    ]
    queue = [
        {"flow": flow, "queued": count}
        for flow, count in session.execute(
            select(Job.flow, func.count())
            .where(Job.status == "queued")
            .group_by(Job.flow)
            .order_by(Job.flow)
        )
    ]
    running = [
        {
            "job": j.id,
            "flow": j.flow,
            "channel": slug,
            "owner": j.lease_owner,
            "started_at": j.started_at,
        }
        for j, slug in session.execute(
            select(Job, Channel.slug)
            .join(Channel, Channel.id == Job.channel_id)
            .where(Job.status == "running")
        )
    ]
    latest = (
        select(Run.channel_id, Run.plugin, Run.flow, func.max(Run.id).label("id"))
        .group_by(Run.channel_id, Run.plugin, Run.flow)
        .subquery()
    )
    by_pair: dict[tuple[str, str], dict] = {}
    for r, slug in session.execute(
        select(Run, Channel.slug)
        .join(latest, latest.c.id == Run.id)
        .join(Channel, Channel.id == Run.channel_id)
    ):
        by_pair[(slug, f"{r.plugin}/{r.flow}")] = {
            "channel": slug,
            "flow": f"{r.plugin}/{r.flow}",
            "status": r.status,
            "started_at": r.started_at,
            "checked_at": None,
        }
    # Scheduled checks that found nothing leave no run, only their finished job.
    for slug, flow, checked in session.execute(
        select(Channel.slug, Job.flow, func.max(Job.finished_at))
        .join(Channel, Channel.id == Job.channel_id)
        .where(Job.status == "done")
        .group_by(Channel.slug, Job.flow)
    ):
        row = by_pair.setdefault(
            (slug, flow),
            {"channel": slug, "flow": flow, "status": None, "started_at": None},
        )
        row["checked_at"] = checked
    last_runs = [by_pair[key] for key in sorted(by_pair)]
    late = overdue(session, flows, now)
    waiting = [
        {"channel": slug, "content_type": ct, "needs": needs, "records": count}
        for slug, ct, needs, count in session.execute(
            select(
                Channel.slug,
                IntegrationWait.content_type,
                IntegrationWait.needs,
                func.count(),
            )
            .join(Channel, Channel.id == IntegrationWait.channel_id)
            .group_by(Channel.slug, IntegrationWait.content_type, IntegrationWait.needs)
            .order_by(Channel.slug, IntegrationWait.content_type)
        )
    ]
    return {
        "daemons": daemons,
        "queue": queue,
        "running": running,
        "last_runs": last_runs,
        "overdue": late,
        "waiting": waiting,
    }
