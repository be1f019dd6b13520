"""``pazar daemon``: a scheduler loop and worker threads over the job queue.

Every daemon schedules (tick rows make that safe without a leader) and works
(leases make that safe without coordination), so running more daemons on one
PostgreSQL database adds capacity and nothing else.  SQLite serves one daemon:
a second one on the same file refuses to start.  SIGTERM stops leasing, lets
the current runs finish and exits 0; a killed daemon's jobs are taken over when
their lease expires.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from pazar.channels import resolved_config
from pazar.errors import PazarError
from pazar.flows.loader import load_flows
from pazar.jobs.queue import (
    DEFAULT_LEASE_SECONDS,
    Lease,
    finish,
    heartbeat,
    lease,
    retry_later,
)
from pazar.jobs.retention import DEFAULT_KEEP_JOBS, DEFAULT_KEEP_RUNS, prune
from pazar.jobs.scheduler import PassCache, _active_channels, enqueue_due_cached
from pazar.jobs.wake import DEFAULT_WINDOW, ChangeListener, WakeUps, enqueue_wakes
from pazar.models.channels import Channel
from pazar.models.jobs import Daemon as DaemonRow
from pazar.models.runs import Run
from pazar.ops.alarms import AlarmTicker
from pazar.runner import RunOptions, run_flow

log = logging.getLogger("pazar.daemon")

STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Retention:
    """How long a daemon keeps finished jobs (and schedule ticks) and runs, and how
    often it prunes (see :mod:`pazar.jobs.retention`)."""

    jobs: timedelta = DEFAULT_KEEP_JOBS
    runs: timedelta = DEFAULT_KEEP_RUNS
    every: timedelta = timedelta(hours=1)


def live_daemons(session: Any, now: datetime) -> list[DaemonRow]:
    """Daemons that heartbeat recently and did not stop: someone to hand work to."""
    return list(
        session.scalars(
            select(DaemonRow).where(
                DaemonRow.stopped_at.is_(None), DaemonRow.heartbeat_at > now - STALE_AFTER
            )
        )
    )


def _close_interrupted_runs(session: Any, channel_id: int, flow: Any, now: datetime) -> None:
    """Runs a dead daemon left ``running`` for this (channel, flow) end as errors.

    Only one job per (channel, flow) runs at a time, and a job whose worker died
    stays ``running`` until its lease expires and it is taken over, so only a
    taken-over job (attempt 2 or more) can find such a run, and any run still
    marked running for the pair then belongs to the daemon that died.
    """
    runs = Run.__table__
    session.execute(
        runs.update()
        .where(
            runs.c.channel_id == channel_id,
            runs.c.plugin == flow.plugin,
            runs.c.flow == flow.flow,
            runs.c.status == "running",
        )
        .values(status="error", error="interrupted: the daemon running it stopped", finished_at=now)
    )


class _Heartbeats:
    """Extends the leases of every job this daemon is running, a third of the lease
    at a time, from one thread: a thread per job cost more than an empty run."""

    def __init__(self, db: Any, clock: Any, lease_seconds: int) -> None:
        self.db, self.clock, self.lease_seconds = db, clock, lease_seconds
        self.held: dict[tuple[str, int], Lease] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def hold(self, job: Lease) -> None:
        with self.lock:
            self.held[(job.owner, job.job_id)] = job
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, daemon=True)
                self.thread.start()

    def release(self, job: Lease) -> None:
        with self.lock:
            self.held.pop((job.owner, job.job_id), None)

    def _loop(self) -> None:
        while not self.done.wait(self.lease_seconds / 3):
            self.beat()

    def beat(self) -> None:
        """Extend every held lease once; a lease another worker took over is let go."""
        with self.lock:
            jobs = list(self.held.values())
        for job in jobs:
            try:
                with self.db.session() as session:
                    kept = heartbeat(session, job, now=self.clock.now(), seconds=self.lease_seconds)
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.warning("job %s: heartbeat failed", job.job_id, exc_info=True)
                continue
            if not kept:
                with self.lock:  # a job that just finished is not a lost lease
                    lost = self.held.pop((job.owner, job.job_id), None) is not None
                if lost:
                    log.warning("job %s: lease lost", job.job_id)

    def stop(self) -> None:
        with self.lock:
            thread, self.thread = self.thread, None
        if thread is not None:
            self.done.set()
            thread.join()
            self.done = threading.Event()


@dataclass
class DaemonStats:
    """What a daemon did; ``failed`` jobs stopped (an outage, an error), ``partial`` ones
    finished with some records failed: ``daemon --once`` exits as ``pazar run`` would."""

    enqueued: int = 0
    runs: int = 0
    failed: int = 0
    partial: int = 0


class Daemon:
    """One daemon process: ``run_forever`` until stopped, or ``run_once`` to drain."""

    def __init__(
        self,
        db: Any,
        registry: Any,
        *,
        clock: Any,
        hook: Any = None,
        workers: int = 2,
        poll_seconds: float = 1.0,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        say: Callable[[str], None] | None = None,
        retention: Retention | None = None,
        wake_window: float = DEFAULT_WINDOW,
    ) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock
        self.hook = hook
        self.workers = max(1, workers)
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        # ``say``: embedders and tests take the lines as plain text; by default they are
        # log records with their context (pazar.logformat renders text or JSON).
        self.say = say
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.flows = load_flows(registry)
        self.stopping = threading.Event()
        self.stats = DaemonStats()
        self._pass = PassCache()
        self._channels: dict[int, tuple[Any, Any]] = {}  # id -> (Channel, config), see _channel
        # (channel id, flow) -> (channel updated_at, memo): see _memo
        self._memos: dict[tuple[int, str], tuple[Any, dict[Any, Any]]] = {}
        # worker -> (lease, when) of its last empty check, finished with its next lease
        self._unfinished: dict[str, tuple[Lease, datetime]] = {}
        self._heartbeats = _Heartbeats(db, clock, lease_seconds)
        self._lock = threading.Lock()
        self.retention = retention
        self._pruned_at: datetime | None = None
        self._pruner: threading.Thread | None = None
        self._alarms = AlarmTicker(db, self.flows, clock, say=self.say)
        # Change and upload wake-ups (pazar.jobs.wake); PostgreSQL hears of changes by
        # LISTEN, SQLite reads the change marks every pass.
        self.wakes = WakeUps(window=wake_window, listening=db.dialect == "postgresql")

    # --- registration -------------------------------------------------------

    def register(self) -> None:
        """Record this daemon; on SQLite refuse when another one is alive on the file."""
        now = self.clock.now()
        with self.db.session() as session:
            if self.db.dialect == "sqlite":
                alive = session.execute(
                    select(DaemonRow.host, DaemonRow.pid).where(
                        DaemonRow.stopped_at.is_(None), DaemonRow.heartbeat_at > now - STALE_AFTER
                    )
                ).first()
                if alive is not None:
                    raise PazarError(
                        f"another pazar daemon (host {alive.host}, pid {alive.pid}) is running on "
                        "this SQLite database; SQLite serves one daemon — use PostgreSQL "
                        "(PAZAR_DATABASE_URL) to run several"
                    )
            session.add(
                DaemonRow(
                    id=self.id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    workers=self.workers,
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def _beat(self, *, stopped: bool = False) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {"heartbeat_at": now}
        if stopped:
            values["stopped_at"] = now
        with self.db.session() as session:
            session.execute(update(DaemonRow).where(DaemonRow.id == self.id).values(**values))

    # --- work -----------------------------------------------------------------

    def schedule(self) -> int:
        try:
            with self.db.session() as session:
                jobs, ticks = enqueue_due_cached(
                    session, self.flows.all(), self.clock.now(), self._pass
                )
        except BaseException:
            self._pass = PassCache()  # what it learnt may not have been committed
            raise
        if ticks is not None:
            self._pass.ticks = ticks
        self.stats.enqueued += len(jobs)
        return len(jobs)

    def wake(self) -> int:
        """Queue the flows a change or a sent upload made due (see pazar.jobs.wake).

        Uses the active channels the last :meth:`schedule` pass read.
        """
        now = self.clock.now()
        try:
            with self.db.session() as session:
                channels = (
                    self._pass.channels
                    if self._pass.stamp is not None
                    else _active_channels(session)
                )
                wakes = self.wakes.due(session, channels, self.flows.all(), now)
                jobs = enqueue_wakes(session, wakes, now)
        except BaseException:
            self.wakes.forget()
            raise
        self.wakes.confirm()
        self.stats.enqueued += len(jobs)
        return len(jobs)

    def work_one(self, owner: str) -> bool:
        """Lease and run one job; False when there was nothing to take.

        The lease, the channel read and closing runs a dead daemon left open are
        one transaction; the run's end and the job's end are another (see _run), or,
        for a scheduled check that found nothing, this worker's next lease.
        """
        channel, config, flow, problem = None, None, None, None
        # The previous empty check of this worker ends in this transaction, after the
        # lease: losing a lease race rolls back only the lease.
        done = self._unfinished.pop(owner, None)
        try:
            with self.db.session() as session:
                taken = lease(
                    session, owner=owner, now=self.clock.now(), seconds=self.lease_seconds
                )
                if done is not None:
                    finish(session, done[0], now=done[1], ok=True)
                if taken is not None:
                    try:
                        flow = self.flows.get(taken.flow)
                        channel, config = self._channel(
                            session, taken.channel_id, taken.channel_stamp
                        )
                        if taken.attempt > 1:
                            _close_interrupted_runs(
                                session, taken.channel_id, flow, self.clock.now()
                            )
                    except PazarError as exc:
                        problem = exc.message
            done = None  # committed
        finally:
            if done is not None:  # the transaction failed: the next one finishes it
                self._unfinished[owner] = done
        if taken is None:
            return False
        self._run(taken, flow, channel, config, problem)
        return True

    def finish_unfinished(self, owner: str | None = None) -> None:
        """Finish the empty checks whose end still waits for their worker's next lease."""
        with self._lock:
            owners = [owner] if owner is not None else list(self._unfinished)
        for key in owners:
            done = self._unfinished.pop(key, None)
            if done is not None:
                with self.db.session() as session:
                    finish(session, done[0], now=done[1], ok=True)

    def _channel(
        self, session: Any, channel_id: int, stamp: Any
    ) -> tuple[Any, Mapping[str, Any] | None]:
        """The channel as of now and its resolved config, loaded and resolved again
        only when the channel changed since the last job.

        Every change to a channel moves its ``updated_at``; the lease returns it
        (``stamp``), which tells whether the detached copy kept from an earlier job
        still holds.  Resolving the config (schema defaults, ``env:`` secrets) cost
        more than the rest of an empty run.
        """
        if stamp is None:
            raise PazarError(f"channel {channel_id} no longer exists")
        cached = self._channels.get(channel_id)
        if cached is not None and cached[0].updated_at == stamp:
            return cached
        channel = session.get(Channel, channel_id)
        session.expunge(channel)
        try:
            config: Mapping[str, Any] | None = resolved_config(channel, self.registry)
        except PazarError:
            config = None  # each run resolves it again and logs why it cannot
        self._channels[channel_id] = (channel, config)
        return channel, config

    def _memo(self, channel: Any, flow: Any) -> dict[Any, Any]:
        """The memo of this (channel, flow) (see run_flow), a fresh one when the channel
        changed."""
        key = (channel.id, flow.ref)
        with self._lock:
            kept = self._memos.get(key)
            if kept is not None and kept[0] == channel.updated_at:
                return kept[1]
            memo: dict[Any, Any] = {}
            self._memos[key] = (channel.updated_at, memo)
            return memo

    def _run(
        self,
        job: Lease,
        flow: Any,
        channel: Any,
        config: Mapping[str, Any] | None,
        problem: str | None,
    ) -> None:
        ok, run_id, error, status = False, None, problem, "error"
        finished = False
        retry_at: datetime | None = None

        def finish_with_run(session: Any, result: Any) -> None:
            nonlocal finished, retry_at
            now = self.clock.now()
            if result.retryable:  # an outage: nobody's fault, try the whole job again later
                retry_at = retry_later(
                    session, job, now=now, run_id=result.run_id, error=result.error
                )
            if retry_at is None:
                finish(
                    session,
                    job,
                    now=now,
                    ok=result.status not in ("error", "failed"),
                    run_id=result.run_id,
                    error=result.error,
                )
            finished = True

        self._heartbeats.hold(job)
        try:
            if problem is None:
                keys = list(job.payload.get("skus") or []) or None
                options = RunOptions(
                    trigger=job.trigger,
                    keys=keys,
                    hook=self.hook,
                    # Config-change jobs prepare a channel (categories) before it goes live.
                    force=job.trigger in ("manual", "http", "config_change"),
                    on_final=finish_with_run,
                    # A scheduled or woken check that found nothing leaves its job row,
                    # not a run.
                    record_empty=job.trigger not in ("schedule", "change", "upload"),
                    config=config,
                    memo=self._memo(channel, flow),
                    resend=bool(job.payload.get("resend")),
                    payload=job.payload.get("payload"),
                )
                result = run_flow(
                    self.db, self.registry, flow, channel, clock=self.clock, options=options
                )
                run_id, status, error = result.run_id, result.status, result.error
                ok = result.status not in ("error", "failed")
        except PazarError as exc:
            error = exc.message
        except Exception as exc:  # noqa: BLE001 - one job's bug must not stop the daemon
            log.debug("job %s failed", job.job_id, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self._heartbeats.release(job)
        if run_id is not None:  # it may have sent an upload: follow it (pazar.jobs.wake)
            self.wakes.ring(uploads=True)
        if not finished and ok and run_id is None:
            # An empty scheduled check: its job ends in the transaction of this worker's
            # next lease, one transaction less per check (see work_one).
            self._unfinished[job.owner] = (job, self.clock.now())
        elif not finished:
            with self.db.session() as session:
                finish(session, job, now=self.clock.now(), ok=ok, run_id=run_id, error=error)
        with self._lock:
            self.stats.runs += 1
            self.stats.failed += 0 if ok else 1
            self.stats.partial += 1 if ok and status == "partial" else 0
        slug = getattr(channel, "slug", None) or f"#{job.channel_id}"
        retry = f"; retried at {retry_at:%Y-%m-%d %H:%M:%S}Z" if retry_at is not None else ""
        self.report(
            f"channel {slug}: job {job.job_id} {job.flow} ({job.trigger}): {status}"
            + (f" — {error}" if error else "")
            + retry,
            level=logging.INFO if ok else logging.WARNING,
            channel=slug,
            flow=job.flow,
            job=job.job_id,
            trigger=job.trigger,
            run=run_id,
            status=status,
            error=error,
            retry_at=retry_at.isoformat() if retry_at is not None else None,
        )

    def report(self, message: str, *, level: int = logging.INFO, **context: Any) -> None:
        """One line of the daemon's log, with its context (channel, flow, job, run, ...)."""
        if self.say is not None:
            self.say(message)
        else:
            log.log(level, message, extra={"pazar": context})

    # --- retention ------------------------------------------------------------

    def maybe_prune(self) -> None:
        """Prune old jobs, ticks and runs once per ``retention.every``, in the background
        so a large first backlog never holds up scheduling."""
        if self.retention is None or (self._pruner is not None and self._pruner.is_alive()):
            return
        now = self.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < self.retention.every:
            return
        self._pruned_at = now
        self._pruner = threading.Thread(target=self._prune, args=(now,), daemon=True)
        self._pruner.start()

    def _prune(self, now: datetime) -> None:
        retention = self.retention
        assert retention is not None
        try:
            pruned = prune(
                self.db,
                now=now,
                keep_jobs=retention.jobs,
                keep_runs=retention.runs,
                stopping=self.stopping.is_set,
            )
        except Exception:  # noqa: BLE001 - the next round tries again
            log.warning("pruning failed", exc_info=True)
            return
        if pruned:
            self.report(f"pruned {pruned}")

    # --- loops ----------------------------------------------------------------

    def run_once(self) -> DaemonStats:
        """Enqueue what is due now, run every runnable job on ``workers`` threads, and
        return."""
        self.register()
        try:
            self.schedule()
            self._drain_on_workers(f"{self.id}-once")
        finally:
            self.finish_unfinished()
            self._heartbeats.stop()
            self._beat(stopped=True)
        return self.stats

    def _drain_on_workers(self, owner: str) -> None:
        """Run jobs on ``workers`` threads until none is runnable and none is running.

        A worker that finds nothing waits while another still runs a job, since a job's
        end can make others runnable (a chained flow, the next job of its channel); it
        tries again at every job's end and stops once every worker found nothing.  The
        first error stops the others after their current job and is raised here, as one
        worker's would be.
        """
        if self.workers == 1:
            while self.work_one(owner):
                pass
            return
        turn = threading.Condition()
        busy = ends = 0  # workers inside work_one; jobs ended so far
        failed: list[BaseException] = []

        def work(name: str) -> None:
            nonlocal busy, ends
            while True:
                with turn:
                    if failed:
                        return
                    busy += 1
                try:
                    while True:
                        with turn:
                            seen = ends  # a job ending after this may free another
                        if failed or not self.work_one(name):
                            break
                        with turn:
                            ends += 1
                            turn.notify_all()
                except BaseException as exc:  # noqa: BLE001 - raised again by the caller
                    with turn:
                        failed.append(exc)
                finally:
                    with turn:
                        busy -= 1
                        turn.notify_all()
                try:  # its empty check would look running while it waits: end it now
                    self.finish_unfinished(name)
                except BaseException as exc:  # noqa: BLE001 - raised again by the caller
                    with turn:
                        failed.append(exc)
                        turn.notify_all()
                with turn:
                    while ends == seen and busy and not failed:
                        turn.wait()
                    if failed or (ends == seen and not busy):
                        return

        threads = [
            threading.Thread(target=work, args=(f"{owner}{n}",), daemon=True)
            for n in range(1, self.workers + 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failed:
            raise failed[0]

    def drain(self) -> DaemonStats:
        """Run queued jobs until none is runnable (no scheduling, no registration)."""
        try:
            while self.work_one(f"{self.id}-drain"):
                pass
        finally:
            self.finish_unfinished()
            self._heartbeats.stop()
        return self.stats

    def run_forever(self) -> DaemonStats:
        self.register()
        threads = [
            threading.Thread(target=self._worker, args=(f"{self.id}-w{n}",), daemon=True)
            for n in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        listener = None
        if self.wakes.listening:
            listener = ChangeListener(self.db.url, self.wakes.ring)
            listener.start()
        try:
            while not self.stopping.is_set():
                try:
                    self.schedule()
                    self.wake()
                    self._beat()
                    self.maybe_prune()
                    self._alarms.maybe_run()
                except PazarError as exc:
                    self.report(f"scheduler: {exc.message}", level=logging.ERROR)
                # A notification or an ended run rings the bell: the next pass is now.
                self.wakes.bell.wait(self.poll_seconds)
                self.wakes.bell.clear()
        finally:
            self.stopping.set()
            if listener is not None:
                listener.stop()
            for thread in threads:
                thread.join()
            if self._pruner is not None:
                self._pruner.join()
            self._alarms.join()
            self.finish_unfinished()
            self._heartbeats.stop()
            self._beat(stopped=True)
        return self.stats

    def _worker(self, owner: str) -> None:
        while not self.stopping.is_set():
            try:
                if not self.work_one(owner):
                    self.stopping.wait(self.poll_seconds)
            except Exception:  # noqa: BLE001 - keep the worker alive; the job is retried
                log.exception("worker %s", owner)
                self.stopping.wait(self.poll_seconds)

    def stop(self) -> None:
        self.stopping.set()
        self.wakes.bell.set()
