"""Pruning old jobs, schedule ticks and runs (``pazar prune`` and the daemon's hourly prune)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.daemon import Daemon, Retention
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.jobs import retention
from pazar.jobs.retention import prune
from pazar.jobs.scheduler import enqueue_due
from pazar.jobs.wake import Wake, enqueue_wakes
from pazar.models.jobs import Job, ScheduleTick
from pazar.models.runs import Run, RunLog
from pazar.models.state import BatchRequest, BatchRequestItem
from pazar.plugins import load_plugins

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed,tests.testplugin")
    return load_plugins().registry


@pytest.fixture
def channel_id(db: Database, registry) -> int:  # noqa: ANN001
    with db.session() as session:
        service = ChannelService(session, registry, clock=FixedClock(NOW - 60 * DAY))
        channel = service.add("testmarket", "tm", None)
        service.set("tm", ["feature_flags.push=true"])
        service.activate("tm")
        return channel.id


def _job(session, channel_id: int, status: str, at: datetime, flow: str = "testmarket/push") -> int:  # noqa: ANN001
    job = Job(
        channel_id=channel_id,
        flow=flow,
        trigger="schedule",
        status=status,
        payload={},
        not_before=at,
        created_at=at,
        finished_at=at if status in ("done", "failed") else None,
    )
    session.add(job)
    session.flush()
    return job.id


def _run(session, channel_id: int, status: str, at: datetime) -> int:  # noqa: ANN001
    run = Run(plugin="testmarket", flow="push", channel_id=channel_id, status=status, started_at=at)
    session.add(run)
    session.flush()
    session.add(RunLog(run_id=run.id, level="info", message="x", created_at=at))
    return run.id


def _left(db: Database) -> tuple[list[str], list[datetime], list[str]]:
    with db.session() as session:
        jobs = sorted(session.scalars(select(Job.status)))
        ticks = sorted(session.scalars(select(ScheduleTick.tick)))
        runs = sorted(session.scalars(select(Run.status)))
    return jobs, ticks, runs


def test_prune_deletes_only_old_finished_work(db: Database, channel_id: int) -> None:
    with db.session() as s:
        for status in ("done", "failed", "done"):
            _job(s, channel_id, status, NOW - 10 * DAY)
        _job(s, channel_id, "done", NOW - DAY)  # recent
        _job(s, channel_id, "queued", NOW - 10 * DAY)  # old but still to do
        _job(s, channel_id, "running", NOW - 10 * DAY)
        for n, at in enumerate((NOW - 10 * DAY, NOW - 9 * DAY, NOW - 8 * DAY)):
            s.add(
                ScheduleTick(channel_id=channel_id, flow="testmarket/push", tick=at, created_at=at)
            )
            s.add(
                ScheduleTick(channel_id=channel_id, flow=f"testmarket/f{n}", tick=at, created_at=at)
            )
        _run(s, channel_id, "success", NOW - 40 * DAY)
        _run(s, channel_id, "running", NOW - 40 * DAY)  # never pruned while running
        _run(s, channel_id, "error", NOW - 2 * DAY)
    before = _left(db)

    counted = prune(db, now=NOW, dry_run=True)
    assert (counted.jobs, counted.ticks, counted.runs) == (3, 2, 1)
    assert _left(db) == before  # a dry run changes nothing

    done = prune(db, now=NOW)

    assert (done.jobs, done.ticks, done.runs) == (3, 2, 1)
    jobs, ticks, runs = _left(db)
    assert jobs == ["done", "queued", "running"]
    # push keeps its latest tick; f0..f2 each had one tick, their latest, kept too
    assert ticks == [NOW - 10 * DAY, NOW - 9 * DAY, NOW - 8 * DAY, NOW - 8 * DAY]
    assert runs == ["error", "running"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(RunLog)) == 2  # the deleted run's went
    assert prune(db, now=NOW).jobs == 0  # nothing left to do


def _batch(session, channel_id: int, status: str, finished: datetime | None, items: int) -> None:  # noqa: ANN001
    from pazar.pipeline import Item
    from pazar.state.batches import open_batch

    batch = open_batch(
        session,
        channel_id,
        "productstock",
        "testmarket/stock",
        None,
        [Item(f"S-{n}", {}, object_id=n, version=1) for n in range(items)],
        clock=FixedClock(NOW - 60 * DAY),
    )
    batch.status, batch.finished_at = status, finished
    if status not in ("done", "fail"):
        return
    session.execute(
        update(BatchRequestItem)
        .where(BatchRequestItem.batch_id == batch.id)
        .values(in_flight=False, status="ok")
    )


def test_ended_batch_requests_go_with_their_items_after_the_runs_retention(
    db: Database, channel_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCHES_PER_STEP", 2)  # several transactions
    with db.session() as s:
        for status in ("done", "fail", "done"):
            _batch(s, channel_id, status, NOW - 31 * DAY, items=3)
        _batch(s, channel_id, "done", NOW - 29 * DAY, items=2)  # within the 30 days
        _batch(s, channel_id, "sent_to_remote", None, items=4)  # open: its items are in flight

    assert prune(db, now=NOW, dry_run=True).batches == 3
    assert prune(db, now=NOW).batches == 3

    with db.session() as s:
        assert sorted(s.scalars(select(BatchRequest.status))) == ["done", "sent_to_remote"]
        left = s.execute(
            select(BatchRequestItem.in_flight, func.count()).group_by(BatchRequestItem.in_flight)
        ).all()
    assert sorted(left) == [(False, 2), (True, 4)]


def test_prune_works_in_batches(
    db: Database, channel_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    with db.session() as s:
        for _ in range(5):
            _job(s, channel_id, "done", NOW - 10 * DAY)
    assert prune(db, now=NOW).jobs == 5
    assert _left(db)[0] == []


def test_a_schedule_rarer_than_the_retention_does_not_run_again(
    db: Database, registry, channel_id: int
) -> None:  # noqa: ANN001
    (push,) = [f for f in load_flows(registry).all() if f.ref == "testmarket/push"]
    monthly = replace(push, schedule="0 0 1 * *")
    with db.session() as s:  # the 1 March tick, 19 days before NOW
        (job_id,) = enqueue_due(s, [monthly], datetime(2026, 3, 1, 0, 0, 30, tzinfo=UTC))
        job = s.get(Job, job_id)
        job.status, job.finished_at = "done", datetime(2026, 3, 1, 0, 5, tzinfo=UTC)

    pruned = prune(db, now=NOW)

    assert (pruned.jobs, pruned.ticks) == (1, 0)
    with db.session() as s:
        assert enqueue_due(s, [monthly], NOW + timedelta(hours=1)) == []


def test_a_change_wake_up_after_a_rare_cron_tick_does_not_let_it_run_again(
    db: Database, registry, channel_id: int
) -> None:  # noqa: ANN001
    (push,) = [f for f in load_flows(registry).all() if f.ref == "testmarket/push"]
    monthly = replace(push, schedule="0 0 1 * *")
    with db.session() as s:  # the 1 March tick, then a change woke the flow on 5 March
        (job_id,) = enqueue_due(s, [monthly], datetime(2026, 3, 1, 0, 0, 30, tzinfo=UTC))
        s.get(Job, job_id).status = "done"
        woke = Wake(channel_id, monthly.ref, datetime(2026, 3, 5, 9, 0, tzinfo=UTC), "change")
        (wake_job,) = enqueue_wakes(s, [woke], datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
        s.get(Job, wake_job).status = "done"

    pruned = prune(db, now=NOW)  # both older than the 7 days kept

    assert pruned.ticks == 1  # the wake-up: nothing compares with it again
    with db.session() as s:
        assert enqueue_due(s, [monthly], NOW + timedelta(hours=1)) == []  # 1 March stays done
        assert s.scalars(select(ScheduleTick.trigger)).all() == ["schedule"]


def test_the_daemon_prunes_once_an_hour_in_the_background(
    db: Database, registry, channel_id: int
) -> None:  # noqa: ANN001
    clock = FixedClock(NOW)
    with db.session() as s:
        _job(s, channel_id, "done", NOW - 10 * DAY)
    daemon = Daemon(db, registry, clock=clock, retention=Retention(), say=lambda _m: None)

    daemon.maybe_prune()
    assert daemon._pruner is not None
    daemon._pruner.join()
    assert _left(db)[0] == []

    with db.session() as s:
        _job(s, channel_id, "done", NOW - 10 * DAY)
    clock.advance(minutes=30)
    daemon.maybe_prune()  # within the hour: nothing
    assert _left(db)[0] == ["done"]
    clock.advance(minutes=31)
    daemon.maybe_prune()
    assert daemon._pruner is not None
    daemon._pruner.join()
    assert _left(db)[0] == []


def test_prune_command_reports_what_it_deleted(cli, db: Database, channel_id: int) -> None:  # noqa: ANN001
    with db.session() as s:
        _job(s, channel_id, "done", datetime.now(UTC) - 10 * DAY)
    dry = cli("prune", "--dry-run")
    assert dry.exit_code == 0
    assert dry.output.strip() == "would delete 1 jobs, 0 schedule ticks, 0 runs, 0 batch requests"
    done = json.loads(cli("prune", "--json", "--keep-jobs-days", "8").output)
    assert done == {"dry_run": False, "jobs": 1, "ticks": 0, "runs": 0, "batches": 0}
    bad = cli("prune", "--keep-jobs-days", "0")
    assert bad.exit_code == 2 and "--keep-jobs-days" in bad.output
