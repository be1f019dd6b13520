"""Runs and their per-record log, as the seed's Monitoring → Logs screen lists them.

``pazar logs`` and the web's log screen read runs through these functions, so the
filters (channel, flow, status, since, SKU) mean the same in both.  Lists are keyset
paged by run id (``before``): the next page costs an index range scan however
many runs are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.clock import parse_instant
from pazar.errors import NotFoundError, ValidationError
from pazar.models.channels import Channel
from pazar.models.jobs import Job
from pazar.models.runs import Run, RunLog
from pazar.suggest import did_you_mean

STATUSES = ("running", "success", "partial", "failed", "error")
LEVELS = ("debug", "info", "warning", "error")
_AGO = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """``2h``, ``30m``, ``1d`` ago, or an ISO date/time (UTC when no zone)."""
    match = _AGO.match(text.strip())
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        except (OverflowError, ValueError):  # past year 1, or more days than timedelta holds
            raise ValidationError(
                f"--since {text!r}: further back than a date can be; give fewer days "
                "or an ISO date like 2026-01-31"
            ) from None
    try:
        when = parse_instant(text)
    except ValueError:
        raise ValidationError(
            f"--since {text!r}: expected a duration like 30m, 2h, 1d or an ISO date like 2026-01-31"
        ) from None
    return when


def run_dict(run: Run, slug: str) -> dict[str, Any]:
    return {
        "id": run.id,
        "flow": f"{run.plugin}/{run.flow}",
        "channel": slug,
        "trigger": run.trigger,
        **run_outcome(run),
    }


def run_outcome(run: Run) -> dict[str, Any]:
    """How a run went (status, times, counts, error): the part of a run that the run
    list and ``GET /jobs/{id}`` both show, so both name the same fields."""
    return {
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


@dataclass
class RunFilter:
    """What a run list is narrowed to; empty fields do not narrow."""

    channel: str | None = None
    flow: str | None = None  # PLUGIN/FLOW or FLOW
    status: str | None = None
    since: datetime | None = None
    sku: str | None = None  # runs with a log line about this record
    before: int | None = None  # keyset: runs with a smaller id


def jobs_of(session: Session, run_ids: list[int]) -> dict[int, int]:
    """The job that produced each run (runs started by `pazar run` have none)."""
    if not run_ids:
        return {}
    rows = session.execute(select(Job.run_id, Job.id).where(Job.run_id.in_(run_ids)))
    return {run_id: job_id for run_id, job_id in rows}


def check_channel(session: Session, slug: str) -> None:
    if session.scalar(select(Channel.id).where(Channel.slug == slug)) is None:
        slugs = session.scalars(select(Channel.slug)).all()
        raise NotFoundError(f"no channel {slug!r}{did_you_mean(slug, slugs)}")


def known_flows(session: Session, registry: Any) -> set[str]:
    """Loaded flows and flows that ran (a removed flow's runs stay listable)."""
    from pazar.flows.loader import scan_flows

    catalog, _errors = scan_flows(registry)
    return set(catalog.flows) | {
        f"{plugin}/{name}"
        for plugin, name in session.execute(select(Run.plugin, Run.flow).distinct())
    }


def check_flow(session: Session, registry: Any, flow: str) -> None:
    """A flow filter must name a loaded flow or one that ran: a typo would list nothing."""
    refs = known_flows(session, registry)
    names = {ref.rpartition("/")[2] for ref in refs}
    if flow in refs or ("/" not in flow and flow in names):
        return
    hint = did_you_mean(flow, refs if "/" in flow else names)
    raise ValidationError(
        f"--flow {flow!r}: no such flow{hint} (PLUGIN/FLOW or FLOW; `pazar flows list` shows them)"
    )


def list_runs(session: Session, filters: RunFilter, *, limit: int = 50) -> list[dict[str, Any]]:
    """Runs newest first (by start, then id), each with the job that ran it."""
    stmt = select(Run, Channel.slug).join(Channel, Channel.id == Run.channel_id)
    if filters.channel:
        stmt = stmt.where(Channel.slug == filters.channel)
    if filters.flow:
        plugin, _, name = filters.flow.rpartition("/")
        stmt = stmt.where(Run.flow == name)
        if plugin:
            stmt = stmt.where(Run.plugin == plugin)
    if filters.status:
        stmt = stmt.where(Run.status == filters.status)
    if filters.since is not None:
        stmt = stmt.where(Run.started_at >= filters.since)
    if filters.sku:  # driven by the run_logs.object_id index: a SKU touches few runs
        stmt = stmt.where(
            Run.id.in_(select(RunLog.run_id).where(RunLog.object_id == filters.sku.strip()))
        )
    if filters.before is not None:
        stmt = stmt.where(Run.id < filters.before)
        stmt = stmt.order_by(Run.id.desc())
    else:
        stmt = stmt.order_by(Run.started_at.desc(), Run.id.desc())
    runs = [run_dict(run, slug) for run, slug in session.execute(stmt.limit(limit))]
    jobs = jobs_of(session, [r["id"] for r in runs])
    for r in runs:
        r["job_id"] = jobs.get(r["id"])
    return runs


def run_detail(
    session: Session, run_id: int, *, level: str | None = None, limit: int = 1000
) -> dict[str, Any]:
    """One run with its job id and its per-record log entries (``entries``)."""
    row = session.execute(
        select(Run, Channel.slug)
        .join(Channel, Channel.id == Run.channel_id)
        .where(Run.id == run_id)
    ).first()
    if row is None:
        raise NotFoundError(f"no run {run_id}")
    run = run_dict(row[0], row[1])
    run["job_id"] = jobs_of(session, [run_id]).get(run_id)
    stmt = select(RunLog).where(RunLog.run_id == run_id)
    if level:
        stmt = stmt.where(RunLog.level.in_(LEVELS[LEVELS.index(level) :]))
    run["entries"] = [
        {
            "object_id": e.object_id,
            "level": e.level,
            "message": e.message,
            "created_at": e.created_at,
        }
        for e in session.scalars(stmt.order_by(RunLog.id).limit(limit))
    ]
    return run
