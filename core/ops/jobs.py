"""A job as ``GET /jobs/{id}`` shows it: the job, its run's outcome, per-record messages.

A remote system that queued a flow over HTTP polls this to learn how its job ended
and which of its records failed, without access to the CLI.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.models.channels import Channel
from pazar.models.jobs import Job
from pazar.models.runs import Run, RunLog
from pazar.ops.runs import run_outcome


def job_status(session: Session, job_id: int, *, limit: int = 1000) -> dict[str, Any] | None:
    """The job, its run and at most ``limit`` log lines of the run; None for no such job."""
    job = session.get(Job, job_id)
    if job is None:
        return None
    slug = session.scalar(select(Channel.slug).where(Channel.id == job.channel_id))
    out: dict[str, Any] = {
        "job": {
            "id": job.id,
            "channel": slug,
            "flow": job.flow,
            "trigger": job.trigger,
            "status": job.status,
            "attempts": job.attempts,
            "payload": job.payload,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "error": job.error,
        },
        "run": None,
        "records": [],
        "more_records": False,
    }
    run = session.get(Run, job.run_id) if job.run_id is not None else None
    if run is None:
        return out
    out["run"] = {"id": run.id, **run_outcome(run)}
    lines = list(
        session.execute(
            select(RunLog.object_id, RunLog.level, RunLog.message, RunLog.created_at)
            .where(RunLog.run_id == run.id)
            .order_by(RunLog.id)
            .limit(limit + 1)
        )
    )
    out["more_records"] = len(lines) > limit
    out["records"] = [
        {"key": key, "level": level, "message": message, "at": at}
        for key, level, message, at in lines[:limit]
    ]
    return out
