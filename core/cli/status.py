"""``pazar status``: daemons, the queue, running jobs, last runs, overdue schedules."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from pazar.cli.context import app
from pazar.cli.output import json_option, print_json, print_table
from pazar.models.channels import Channel
from pazar.models.jobs import Daemon, Job
from pazar.models.runs import Run
from pazar.models.state import IntegrationWait


@click.command("status")
@json_option
def status_command(as_json: bool) -> None:
    """What the daemons are doing and what waits."""
    from pazar.flows.loader import load_flows
    from pazar.jobs.scheduler import overdue

    ctx = app()
    now = ctx.clock.now()
    with ctx.db.session() as session:
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
        late = overdue(session, load_flows(ctx.registry).all(), now)
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
    data = {
        "daemons": daemons,
        "queue": queue,
        "running": running,
        "last_runs": last_runs,
        "overdue": late,
        "waiting": waiting,
    }
    if as_json:
        print_json(data)
        return
    print_table(
        ("daemon", "host", "pid", "workers", "heartbeat"),
        [(d["id"], d["host"], d["pid"], d["workers"], d["heartbeat_at"]) for d in daemons],
        title="daemons",
        empty="no daemon running",
    )
    print_table(
        ("flow", "queued"),
        [(q["flow"], q["queued"]) for q in queue],
        title="queue",
        empty="queue empty",
    )
    print_table(
        ("job", "flow", "channel", "owner", "started"),
        [(r["job"], r["flow"], r["channel"], r["owner"], r["started_at"]) for r in running],
        title="running",
        empty="nothing running",
    )
    print_table(
        ("channel", "flow", "last run", "started", "last checked"),
        [
            (r["channel"], r["flow"], r["status"] or "-", r["started_at"] or "-", r["checked_at"])
            for r in last_runs
        ],
        title="last runs",
        empty="no runs yet",
    )
    print_table(
        ("channel", "flow", "due tick"),
        [(o["channel"], o["flow"], o["tick"]) for o in late],
        title="overdue schedules",
        empty="no overdue schedules",
    )
    print_table(
        ("channel", "content type", "waits for", "records"),
        [(w["channel"], w["content_type"], w["needs"], w["records"]) for w in waiting],
        title="waiting for another content type (not penalised)",
        empty="nothing waits",
    )


COMMANDS = [status_command]
