"""Keeping the queue and the run history from growing without bound.

A daemon over 500 channels finishes about 1,400 jobs a minute; without pruning
the jobs and schedule-tick tables gain two million rows a day, and every lease
and scheduler pass slows down with them.  Pruning deletes, in batches of
``BATCH`` rows (each its own short transaction, so it never holds the queue):

- finished jobs (``done``/``failed``) older than ``keep_jobs``;
- schedule ticks older than ``keep_jobs``, except each (channel, flow)'s latest
  cron tick: the scheduler claims the latest due tick by inserting it, and a
  schedule that ticks less often than the retention (a monthly cron) would
  otherwise run again — a change wake-up newer than it does not count;
- finished runs older than ``keep_runs``, with their log lines;
- ended batch requests (``done``/``fail``) that finished before ``keep_runs``, with
  their items: a push of a million records leaves a million item rows, which nothing
  reads once the batch ended but ``pazar batches show``.  Fewer batches go per
  transaction (:data:`BATCHES_PER_STEP`), since each holds up to a thousand items.

Queued and running jobs and running runs are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select

from pazar.models.jobs import Job, ScheduleTick
from pazar.models.runs import Run, RunLog
from pazar.models.state import FINAL_BATCH_STATUSES, BatchRequest, BatchRequestItem

BATCH = 5_000
BATCHES_PER_STEP = 20
DEFAULT_KEEP_JOBS = timedelta(days=7)
DEFAULT_KEEP_RUNS = timedelta(days=30)
FINISHED_JOBS = ("done", "failed")


@dataclass
class Pruned:
    jobs: int = 0
    ticks: int = 0
    runs: int = 0
    batches: int = 0

    def __str__(self) -> str:
        return (
            f"{self.jobs} jobs, {self.ticks} schedule ticks, {self.runs} runs, "
            f"{self.batches} batch requests"
        )

    def __bool__(self) -> bool:
        return bool(self.jobs or self.ticks or self.runs or self.batches)


def _old_jobs(cutoff: datetime) -> Any:
    # not_before <= finished_at, so the (status, not_before) index narrows the scan.
    return select(Job.id).where(
        Job.status.in_(FINISHED_JOBS), Job.not_before < cutoff, Job.finished_at < cutoff
    )


def _old_ticks(cutoff: datetime) -> Any:
    later = ScheduleTick.__table__.alias("later")
    newest = (
        select(func.max(later.c.tick))
        .where(
            later.c.channel_id == ScheduleTick.channel_id,
            later.c.flow == ScheduleTick.flow,
            later.c.trigger == "schedule",
        )
        .scalar_subquery()
    )
    # a wake-up is never compared with again; the newest cron tick always is
    kept = or_(ScheduleTick.trigger != "schedule", ScheduleTick.tick < newest)
    return select(ScheduleTick.id).where(ScheduleTick.tick < cutoff, kept)


def _old_runs(cutoff: datetime) -> Any:
    return select(Run.id).where(Run.status != "running", Run.started_at < cutoff)


def _old_batches(cutoff: datetime) -> Any:
    return select(BatchRequest.id).where(
        BatchRequest.status.in_(FINAL_BATCH_STATUSES),
        func.coalesce(BatchRequest.finished_at, BatchRequest.updated_at) < cutoff,
    )


def prune(
    db: Any,
    *,
    now: datetime,
    keep_jobs: timedelta = DEFAULT_KEEP_JOBS,
    keep_runs: timedelta = DEFAULT_KEEP_RUNS,
    dry_run: bool = False,
    stopping: Callable[[], bool] = lambda: False,
) -> Pruned:
    """Delete what is older than the retention; returns how much (or would, ``dry_run``).

    ``stopping`` is asked between batches: a daemon told to stop does not wait for a
    large backlog to be pruned (the next prune goes on from there)."""
    jobs_cutoff, runs_cutoff = now - keep_jobs, now - keep_runs
    result = Pruned()
    for field, model, chosen in (
        ("jobs", Job, _old_jobs(jobs_cutoff)),
        ("ticks", ScheduleTick, _old_ticks(jobs_cutoff)),
        ("runs", Run, _old_runs(runs_cutoff)),
        ("batches", BatchRequest, _old_batches(runs_cutoff)),
    ):
        if dry_run:
            with db.session() as session:
                count = session.scalar(select(func.count()).select_from(chosen.subquery()))
            setattr(result, field, int(count or 0))
            continue
        total = 0
        step = BATCHES_PER_STEP if model is BatchRequest else BATCH
        while True:
            with db.session() as session:
                ids = list(session.scalars(chosen.order_by(model.id).limit(step)))
                if not ids:
                    break
                # the rows that hang on them first: not every database cascades
                if model is Run:
                    session.execute(delete(RunLog).where(RunLog.run_id.in_(ids)))
                if model is BatchRequest:
                    session.execute(
                        delete(BatchRequestItem).where(BatchRequestItem.batch_id.in_(ids))
                    )
                session.execute(delete(model).where(model.id.in_(ids)))
            total += len(ids)
            if len(ids) < step or stopping():
                break
        setattr(result, field, total)
    return result
