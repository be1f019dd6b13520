"""``pazar logs``: the seed's Monitoring/Logs screen — runs, then one run's records."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import click
from sqlalchemy import select

from pazar.cli.context import app
from pazar.cli.output import emit, json_option, print_table
from pazar.clock import parse_instant
from pazar.errors import NotFoundError, ValidationError
from pazar.models.channels import Channel
from pazar.models.jobs import Job
from pazar.models.runs import Run, RunLog
from pazar.suggest import did_you_mean

STATUSES = ("running", "success", "partial", "failed", "error")
_AGO = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """``2h``, ``30m``, ``1d`` ago, or an ISO date/time (UTC when no zone)."""
    match = _AGO.match(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = parse_instant(text)
    except ValueError:
        raise ValidationError(
            f"--since {text!r}: expected a duration like 30m, 2h, 1d or an ISO date like 2026-01-31"
        ) from None
    return when


def _run_dict(run: Run, slug: str) -> dict[str, Any]:
    return {
        "id": run.id,
        "flow": f"{run.plugin}/{run.flow}",
        "channel": slug,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_ms": run.duration_ms,
        "read": run.read,
        "sent": run.sent,
        "succeeded": run.succeeded,
        "failed": run.failed,
        "skipped": run.skipped,
        "error": run.error,
    }


@click.group("logs", invoke_without_command=True)
@click.option("--channel", "slug", help="Only this channel.")
@click.option("--flow", "flow", help="Only this flow (PLUGIN/FLOW or FLOW).")
@click.option("--status", type=click.Choice(STATUSES), help="Only runs with this status.")
@click.option("--since", help="Only runs started since: 30m, 2h, 1d or an ISO date.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
@click.pass_context
def logs(
    ctx: click.Context,
    slug: str | None,
    flow: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Runs, newest first; `pazar logs show RUN_ID` for one run's record log."""
    if ctx.invoked_subcommand is not None:
        return
    a = app()
    stmt = select(Run, Channel.slug).join(Channel, Channel.id == Run.channel_id)
    if slug:
        stmt = stmt.where(Channel.slug == slug)
    if flow:
        plugin, _, name = flow.rpartition("/")
        stmt = stmt.where(Run.flow == name)
        if plugin:
            stmt = stmt.where(Run.plugin == plugin)
    if status:
        stmt = stmt.where(Run.status == status)
    if since:
        stmt = stmt.where(Run.started_at >= parse_since(since, a.clock.now()))
    stmt = stmt.order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)
    with a.db.session() as session:
        if slug and session.scalar(select(Channel.id).where(Channel.slug == slug)) is None:
            slugs = session.scalars(select(Channel.slug)).all()
            raise NotFoundError(f"no channel {slug!r}{did_you_mean(slug, slugs)}")
        if flow:
            _check_flow(session, flow)
        runs = [_run_dict(run, s) for run, s in session.execute(stmt)]
        jobs = _jobs_of(session, [r["id"] for r in runs])
    for r in runs:
        r["job_id"] = jobs.get(r["id"])
    emit(
        as_json,
        runs,
        (
            "run",
            "job",
            "flow",
            "channel",
            "trigger",
            "status",
            "started",
            "took",
            "read",
            "sent",
            "ok",
            "failed",
            "skipped",
        ),
        [
            (
                r["id"],
                r["job_id"],
                r["flow"],
                r["channel"],
                r["trigger"],
                r["status"],
                r["started_at"],
                f"{(r['duration_ms'] or 0) / 1000:.1f}s",
                r["read"],
                r["sent"],
                r["succeeded"],
                r["failed"],
                r["skipped"],
            )
            for r in runs
        ],
        empty="no runs yet",
    )


def _jobs_of(session: Any, run_ids: list[int]) -> dict[int, int]:
    """The job that produced each run (runs started by `pazar run` have none)."""
    if not run_ids:
        return {}
    rows = session.execute(select(Job.run_id, Job.id).where(Job.run_id.in_(run_ids)))
    return {run_id: job_id for run_id, job_id in rows}


def _check_flow(session: Any, flow: str) -> None:
    """``--flow`` must name a loaded flow or one that ran: a typo would list nothing."""
    from pazar.flows.loader import scan_flows

    catalog, _errors = scan_flows(app().registry)
    refs = set(catalog.flows) | {
        f"{plugin}/{name}"
        for plugin, name in session.execute(select(Run.plugin, Run.flow).distinct())
    }
    names = {ref.rpartition("/")[2] for ref in refs}
    if flow in refs or ("/" not in flow and flow in names):
        return
    hint = did_you_mean(flow, refs if "/" in flow else names)
    raise ValidationError(
        f"--flow {flow!r}: no such flow{hint} (PLUGIN/FLOW or FLOW; `pazar flows list` shows them)"
    )


@logs.command("show")
@click.argument("run_id", type=int)
@click.option(
    "--level", type=click.Choice(("debug", "info", "warning", "error")), help="Minimum level."
)
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
@json_option
def show(run_id: int, level: str | None, limit: int, as_json: bool) -> None:
    """One run: its counts and its per-record log."""
    a = app()
    levels = ("debug", "info", "warning", "error")
    with a.db.session() as session:
        row = session.execute(
            select(Run, Channel.slug)
            .join(Channel, Channel.id == Run.channel_id)
            .where(Run.id == run_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no run {run_id}")
        run = _run_dict(row[0], row[1])
        run["job_id"] = _jobs_of(session, [run_id]).get(run_id)
        stmt = select(RunLog).where(RunLog.run_id == run_id)
        if level:
            stmt = stmt.where(RunLog.level.in_(levels[levels.index(level) :]))
        entries = [
            {
                "object_id": e.object_id,
                "level": e.level,
                "message": e.message,
                "created_at": e.created_at,
            }
            for e in session.scalars(stmt.order_by(RunLog.id).limit(limit))
        ]
    if as_json:
        emit(True, {**run, "entries": entries})
        return
    print_table(
        ("field", "value"),
        [(k, v) for k, v in run.items()],
        title=f"run {run_id}",
    )
    print_table(
        ("object", "level", "message"),
        [(e["object_id"], e["level"], e["message"]) for e in entries],
        empty="no log entries",
    )


COMMANDS = [logs]
