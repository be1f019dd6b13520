"""The job queue: enqueue, lease with heartbeat, finish; safe with many daemons.

PostgreSQL: a candidate is locked with ``FOR UPDATE SKIP LOCKED`` and taken
with ``UPDATE … RETURNING`` in the same transaction, so concurrent workers never
take the same job.  SQLite: one ``UPDATE … WHERE id = (SELECT …) RETURNING``
under its single writer.  A partial unique index allows one running job per
(channel, flow); a worker that loses that race simply leases nothing this time.
A lease that expired (its daemon died) is taken over; only the current lease
holder can finish a job, so a late zombie cannot overwrite the new result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core.models.jobs import Job

DEFAULT_LEASE_SECONDS = 120


@dataclass(frozen=True)
class Lease:
    """A job a worker holds: what to run, for whom, and why."""

    job_id: int
    channel_id: int
    flow: str
    trigger: str
    payload: Mapping[str, Any]
    owner: str


def enqueue(
    session: Session,
    *,
    channel_id: int,
    flow: str,
    trigger: str,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
    after_job_id: int | None = None,
    not_before: datetime | None = None,
    dedupe: bool = True,
) -> int:
    """Queue a run of ``flow`` (``plugin/flow``) for a channel; returns the job id.

    With ``dedupe`` (the default for payload-less work), a job already queued for
    the same channel and flow is reused: the pending run will see every change.
    """
    if dedupe and not payload and after_job_id is None:
        queued = session.execute(
            select(Job.id, Job.payload)
            .where(
                Job.channel_id == channel_id,
                Job.flow == flow,
                Job.status == "queued",
                Job.after_job_id.is_(None),
            )
            .order_by(Job.id)
        ).all()
        for job_id, job_payload in queued:
            if not job_payload:
                return int(job_id)
    job = Job(
        channel_id=channel_id,
        flow=flow,
        trigger=trigger,
        status="queued",
        payload=dict(payload or {}),
        after_job_id=after_job_id,
        not_before=not_before or now,
        attempts=0,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job.id


def enqueue_chain(
    session: Session, *, channel_id: int, flows: Sequence[str], trigger: str, now: datetime
) -> list[int]:
    """Queue flows to run one after the other (the seed: Category Node, then Attributes)."""
    ids: list[int] = []
    previous: int | None = None
    for flow in flows:
        previous = enqueue(
            session,
            channel_id=channel_id,
            flow=flow,
            trigger=trigger,
            now=now,
            after_job_id=previous,
            dedupe=previous is None,
        )
        ids.append(previous)
    return ids


def _candidates(now: datetime) -> Any:
    """Jobs a worker may take now, oldest first."""
    before = aliased(Job)
    running = aliased(Job)
    waiting_on = exists().where(
        before.id == Job.after_job_id, before.status.in_(("queued", "running"))
    )
    busy = exists().where(
        running.channel_id == Job.channel_id,
        running.flow == Job.flow,
        running.status == "running",
        running.id != Job.id,
        running.lease_expires_at > now,
    )
    takeable = or_(
        and_(Job.status == "queued", Job.not_before <= now),
        and_(Job.status == "running", Job.lease_expires_at <= now),
    )
    return (
        select(Job.id).where(takeable, ~waiting_on, ~busy).order_by(Job.not_before, Job.id).limit(1)
    )


def lease(
    session: Session, *, owner: str, now: datetime, seconds: int = DEFAULT_LEASE_SECONDS
) -> Lease | None:
    """Take the next job for ``owner`` (the caller commits), or None."""
    dialect = session.get_bind().dialect.name
    candidate = _candidates(now)
    if dialect == "postgresql":
        job_id = session.scalar(candidate.with_for_update(skip_locked=True))
        if job_id is None:
            return None
        target: Any = Job.id == job_id
    else:
        target = Job.id == candidate.scalar_subquery()
    # An expired lease taken over by a new owner: the old running row is released first
    # so the one-running index holds (it is the same row, so the UPDATE does both).
    stmt = (
        update(Job)
        .where(target)
        .values(
            status="running",
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=seconds),
            attempts=Job.attempts + 1,
            started_at=now,
        )
        .returning(Job.id, Job.channel_id, Job.flow, Job.trigger, Job.payload)
    )
    try:
        with session.begin_nested():
            row = session.execute(stmt, execution_options={"synchronize_session": False}).first()
    except IntegrityError:  # another worker started this (channel, flow) a moment ago
        return None
    if row is None:
        return None
    return Lease(row.id, row.channel_id, row.flow, row.trigger, row.payload or {}, owner)


def heartbeat(
    session: Session, lease: Lease, *, now: datetime, seconds: int = DEFAULT_LEASE_SECONDS
) -> bool:
    """Extend the lease; False when it was lost (taken over after expiring)."""
    result = session.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_owner == lease.owner, Job.status == "running")
        .values(lease_expires_at=now + timedelta(seconds=seconds)),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)


def finish(
    session: Session,
    lease: Lease,
    *,
    now: datetime,
    ok: bool,
    run_id: int | None = None,
    error: str | None = None,
) -> bool:
    """Record the end of a job; only the lease holder can. Returns whether it did."""
    result = session.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_owner == lease.owner, Job.status == "running")
        .values(
            status="done" if ok else "failed",
            finished_at=now,
            run_id=run_id,
            error=error,
            lease_expires_at=None,
        ),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)


def release(session: Session, lease: Lease) -> None:
    """Give a job back untouched (shutdown before it started)."""
    session.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_owner == lease.owner, Job.status == "running")
        .values(status="queued", lease_owner=None, lease_expires_at=None, started_at=None),
        execution_options={"synchronize_session": False},
    )
