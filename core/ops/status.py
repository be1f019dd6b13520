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
    waiting for another content type or for price/stock data, per channel), as JSON-able dicts.

    The queries name table columns, not mapped classes: an ORM query first configures every
    mapper of every model (a fifth of ``pazar status``), and these read rows, not objects.
    """
    daemon, job, channel = Daemon.__table__, Job.__table__, Channel.__table__
    run, wait = Run.__table__, IntegrationWait.__table__
    daemons = [
        {
            "id": d.id,
            "host": d.host,
            "pid": d.pid,
            "workers": d.workers,
            "heartbeat_at": d.heartbeat_at,
        }
        for d in session.execute(
            select(
                daemon.c.id, daemon.c.host, daemon.c.pid, daemon.c.workers, daemon.c.heartbeat_at
            )
            .where(daemon.c.stopped_at.is_(None))
            .order_by(daemon.c.started_at)
        )
    ]
    queue = [
        {"flow": flow, "queued": count}
        for flow, count in session.execute(
            select(job.c.flow, func.count())
            .where(job.c.status == "queued")
            .group_by(job.c.flow)
            .order_by(job.c.flow)
        )
    ]
    running = [
        {
            "job": j.id,
            "flow": j.flow,
            "channel": j.slug,
            "owner": j.lease_owner,
            "started_at": j.started_at,
        }
        for j in session.execute(
            select(job.c.id, job.c.flow, channel.c.slug, job.c.lease_owner, job.c.started_at)
            .join(channel, channel.c.id == job.c.channel_id)
            .where(job.c.status == "running")
        )
    ]
    latest = (
        select(run.c.channel_id, run.c.plugin, run.c.flow, func.max(run.c.id).label("id"))
        .group_by(run.c.channel_id, run.c.plugin, run.c.flow)
        .subquery()
    )
    by_pair: dict[tuple[str, str], dict] = {}
    for r in session.execute(
        select(run.c.plugin, run.c.flow, run.c.status, run.c.started_at, channel.c.slug)
        .join(latest, latest.c.id == run.c.id)
        .join(channel, channel.c.id == run.c.channel_id)
    ):
        by_pair[(r.slug, f"{r.plugin}/{r.flow}")] = {
            "channel": r.slug,
            "flow": f"{r.plugin}/{r.flow}",
            "status": r.status,
            "started_at": r.started_at,
            "checked_at": None,
        }
    # Scheduled checks that found nothing leave no run, only their finished job.
    for slug, flow, checked in session.execute(
        select(channel.c.slug, job.c.flow, func.max(job.c.finished_at))
        .join(channel, channel.c.id == job.c.channel_id)
        .where(job.c.status == "done")
        .group_by(channel.c.slug, job.c.flow)
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
            select(channel.c.slug, wait.c.content_type, wait.c.needs, func.count())
            .join(channel, channel.c.id == wait.c.channel_id)
            .group_by(channel.c.slug, wait.c.content_type, wait.c.needs)
            .order_by(channel.c.slug, wait.c.content_type)
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
