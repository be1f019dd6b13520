"""The job queue: enqueue, lease with heartbeat, finish; safe with many daemons.

PostgreSQL: ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)
RETURNING …``, one statement, so concurrent workers never take the same job.
SQLite: one ``UPDATE … WHERE id = (SELECT …) RETURNING`` under its single writer.  A partial unique index allows one running job per
(channel, flow); a worker that loses that race simply leases nothing this time.
A lease that expired (its daemon died) is taken over; only the current lease
holder can finish a job, so a late zombie cannot overwrite the new result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pazar.models.channels import Channel
from pazar.models.jobs import Job

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
    attempt: int = 1  # 2 and more: taken over from a worker whose lease expired
    # The channel's updated_at as the lease saw it (None: the channel is gone), so a
    # worker knows whether its copy of the channel still holds without asking again.
    channel_stamp: Any = None


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
    """Queue flows to run one after the other (the seed: Category Node, then Attributes).

    A chain asked for again while it still waits is the same chain: the first flow's
    queued job is reused, and so is each next flow's job already waiting on it."""
    ids: list[int] = []
    previous: int | None = None
    for flow in flows:
        waiting = None
        if previous is not None:
            waiting = session.scalar(
                select(Job.id)
                .where(
                    Job.channel_id == channel_id,
                    Job.flow == flow,
                    Job.status == "queued",
                    Job.after_job_id == previous,
                )
                .order_by(Job.id)
                .limit(1)
            )
        previous = (
            int(waiting)
            if waiting is not None
            else enqueue(
                session,
                channel_id=channel_id,
                flow=flow,
                trigger=trigger,
                now=now,
                after_job_id=previous,
                dedupe=previous is None,
            )
        )
        ids.append(previous)
    return ids


_JOBS = Job.__table__


def _const(value: Any) -> Any:
    """A constant written into the SQL text, not bound: PostgreSQL caches a generic
    plan for a prepared statement, and only a literal ``status = 'running'`` lets
    that plan use the partial index ``uq_jobs_one_running`` (a bound status made
    every lease scan the whole jobs table)."""
    return literal(value, literal_execute=True)


def _candidates(lock: bool) -> Any:
    """The id of the job a worker should take at ``:now`` (built once, Core only).

    First a job whose lease expired (its daemon died: take it over), else the
    oldest runnable queued job.  Two plain index scans, not one OR: a scan in
    ``ix_jobs_status_not_before_id`` order stops at the first live candidate, and
    on PostgreSQL it marks the entries of jobs already taken as dead, so a busy
    queue does not slow down until the next vacuum.  ``COALESCE`` evaluates the
    second only when the first finds nothing.
    """
    j = _JOBS
    before, running = j.alias("before"), j.alias("running")
    now = bindparam("now")
    waiting_on = (
        select(before.c.id)
        .where(
            before.c.id == j.c.after_job_id,
            or_(before.c.status == _const("queued"), before.c.status == _const("running")),
        )
        .exists()
    )
    busy = (
        select(running.c.id)
        .where(
            running.c.channel_id == j.c.channel_id,
            running.c.flow == j.c.flow,
            running.c.status == _const("running"),
            running.c.lease_expires_at > now,
        )
        .exists()
    )
    expired = (
        select(j.c.id)
        .where(j.c.status == _const("running"), j.c.lease_expires_at <= now)
        .order_by(j.c.lease_expires_at, j.c.id)
        .limit(_const(1))
    )
    queued = (
        select(j.c.id)
        .where(j.c.status == _const("queued"), j.c.not_before <= now, ~waiting_on, ~busy)
        .order_by(j.c.not_before, j.c.id)
        .limit(_const(1))
    )
    if lock:
        expired = expired.with_for_update(skip_locked=True)
        queued = queued.with_for_update(skip_locked=True)
    return func.coalesce(expired.scalar_subquery(), queued.scalar_subquery())


_TAKE = (
    _JOBS.update()
    .values(
        status="running",
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("expires"),
        attempts=_JOBS.c.attempts + 1,
        started_at=bindparam("now"),
    )
    .returning(
        _JOBS.c.id,
        _JOBS.c.channel_id,
        _JOBS.c.flow,
        _JOBS.c.trigger,
        _JOBS.c.payload,
        _JOBS.c.attempts,
        select(Channel.updated_at)
        .where(Channel.id == _JOBS.c.channel_id)
        .scalar_subquery()
        .label("channel_stamp"),
    )
)


# PostgreSQL: the candidate is locked (SKIP LOCKED) and taken in one statement, one round
# trip.  SQLite: the same without row locks, under its single writer; an expired lease
# taken over is the same row, so the one-running index holds.
_TAKE_LOCKED = _TAKE.where(_JOBS.c.id == _candidates(lock=True))
_TAKE_NEXT = _TAKE.where(_JOBS.c.id == _candidates(lock=False))


def lease(
    session: Session, *, owner: str, now: datetime, seconds: int = DEFAULT_LEASE_SECONDS
) -> Lease | None:
    """Take the next job for ``owner`` (the caller commits), or None.

    Call it first in a transaction: losing the race for a (channel, flow) to
    another worker rolls the transaction back (cheaper than a savepoint per lease).
    """
    params = {"now": now, "owner": owner, "expires": now + timedelta(seconds=seconds)}
    postgres = session.get_bind().dialect.name == "postgresql"
    stmt = _TAKE_LOCKED if postgres else _TAKE_NEXT
    try:
        row = session.connection().execute(stmt, params).first()
    except IntegrityError:  # another worker started this (channel, flow) a moment ago
        session.rollback()  # lease comes first in its transaction: nothing else is lost
        return None
    if row is None:
        return None
    return Lease(
        row.id,
        row.channel_id,
        row.flow,
        row.trigger,
        row.payload or {},
        owner,
        row.attempts,
        row.channel_stamp,
    )


def _held(lease: Lease) -> Any:
    """An UPDATE of ``lease``'s job that matches only while ``lease`` still holds it."""
    return _JOBS.update().where(
        _JOBS.c.id == lease.job_id, _JOBS.c.lease_owner == lease.owner, _JOBS.c.status == "running"
    )


# Every run extends and ends a lease: these two statements are built once.
_HELD = _JOBS.update().where(
    _JOBS.c.id == bindparam("job_id"),
    _JOBS.c.lease_owner == bindparam("owner"),
    _JOBS.c.status == _const("running"),
)
_EXTEND = _HELD.values(lease_expires_at=bindparam("expires"))
_END = _HELD.values(
    status=bindparam("status"),
    finished_at=bindparam("finished"),
    run_id=bindparam("run"),
    error=bindparam("error"),
    lease_expires_at=None,
)


# A run that failed on an outage is tried again: 30 s after the first attempt, doubling,
# at most 15 minutes apart, until the job has had this many attempts.
RETRY_FIRST_DELAY = timedelta(seconds=30)
RETRY_MAX_DELAY = timedelta(minutes=15)
MAX_ATTEMPTS = 6

_RETRY = _HELD.values(
    status="queued",
    lease_owner=None,
    lease_expires_at=None,
    started_at=None,
    not_before=bindparam("not_before"),
    run_id=bindparam("run"),
    error=bindparam("error"),
)


def retry_delay(attempt: int) -> timedelta:
    """How long a job whose ``attempt``-th run failed on an outage waits for the next."""
    return min(RETRY_FIRST_DELAY * (2 ** max(attempt - 1, 0)), RETRY_MAX_DELAY)


def retry_later(
    session: Session,
    lease: Lease,
    *,
    now: datetime,
    run_id: int | None = None,
    error: str | None = None,
) -> datetime | None:
    """Queue the job again after :func:`retry_delay` (only the lease holder can); returns
    when it runs next, or None when it has had its attempts (the caller then finishes it)."""
    if lease.attempt >= MAX_ATTEMPTS:
        return None
    when = now + retry_delay(lease.attempt)
    result = session.connection().execute(
        _RETRY,
        {
            "job_id": lease.job_id,
            "owner": lease.owner,
            "not_before": when,
            "run": run_id,
            "error": error,
        },
    )
    return when if result.rowcount else None


def heartbeat(
    session: Session, lease: Lease, *, now: datetime, seconds: int = DEFAULT_LEASE_SECONDS
) -> bool:
    """Extend the lease; False when it was lost (taken over after expiring)."""
    result = session.connection().execute(
        _EXTEND,
        {"job_id": lease.job_id, "owner": lease.owner, "expires": now + timedelta(seconds=seconds)},
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
    result = session.connection().execute(
        _END,
        {
            "job_id": lease.job_id,
            "owner": lease.owner,
            "status": "done" if ok else "failed",
            "finished": now,
            "run": run_id,
            "error": error,
        },
    )
    return bool(result.rowcount)


def release(session: Session, lease: Lease) -> None:
    """Give a job back untouched (shutdown before it started)."""
    session.execute(
        _held(lease).values(
            status="queued", lease_owner=None, lease_expires_at=None, started_at=None
        )
    )
