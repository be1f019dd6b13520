"""The job queue, the scheduler and the daemon, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.daemon import Daemon
from pazar.db import Database
from pazar.errors import PazarError
from pazar.flows.loader import load_flows
from pazar.jobs.queue import enqueue, enqueue_chain, finish, heartbeat, lease
from pazar.jobs.scheduler import enqueue_due
from pazar.models.jobs import Daemon as DaemonRow
from pazar.models.jobs import Job, ScheduleTick
from pazar.models.runs import Run
from pazar.plugin import StepType, hookimpl, params_schema
from pazar.plugins import load_plugins

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed,tests.testplugin")
    return load_plugins().registry


def _channels(db: Database, registry, clock: FixedClock, count: int = 1) -> list[int]:  # noqa: ANN001
    ids = []
    with db.session() as session:
        service = ChannelService(session, registry, clock=clock)
        for n in range(count):
            channel = service.add("testmarket", f"tm{n}", None)
            service.set(f"tm{n}", ["feature_flags.push=true"])
            service.activate(f"tm{n}")
            ids.append(channel.id)
    return ids


def _quiet_flow(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """An overlay flow ``testmarket/quiet`` that every 30 s finds nothing to send."""
    overlay = tmp_path / "flows" / "testmarket"
    overlay.mkdir(parents=True)
    (overlay / "quiet.yaml").write_text(
        "flow: quiet\ntitle: Nothing to send\nplugin: testmarket\nschedule: every 30s\n"
        "triggers: [manual]\nsource: {type: testmarket.generate, count: 0}\n"
        "sink: {type: testmarket.collect}\n"
    )
    monkeypatch.setenv("PAZAR_FLOWS_PATH", str(tmp_path / "flows"))


def _count(db: Database, model, *where) -> int:  # noqa: ANN001
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_enqueue_reuses_a_queued_job_and_chains_wait(db: Database, registry) -> None:  # noqa: ANN001
    (cid,) = _channels(db, registry, FixedClock(T0))
    with db.session() as s:
        first = enqueue(s, channel_id=cid, flow="testmarket/push", trigger="manual", now=T0)
        again = enqueue(s, channel_id=cid, flow="testmarket/push", trigger="schedule", now=T0)
        a, b = enqueue_chain(
            s,
            channel_id=cid,
            flows=["testmarket/picky", "testmarket/down"],
            trigger="config_change",
            now=T0,
        )
    assert first == again
    with db.session() as s:
        taken = [lease(s, owner="w", now=T0) for _ in range(3)]
    # push and picky are runnable; down waits for picky to finish
    assert sorted(t.flow for t in taken if t) == ["testmarket/picky", "testmarket/push"]
    with db.session() as s:
        picky = next(t for t in taken if t and t.flow == "testmarket/picky")
        assert finish(s, picky, now=T0, ok=True)
        nxt = lease(s, owner="w", now=T0)
    assert nxt is not None and nxt.job_id == b


def test_expired_lease_is_taken_over_and_only_the_holder_finishes(db: Database, registry) -> None:  # noqa: ANN001
    (cid,) = _channels(db, registry, FixedClock(T0))
    with db.session() as s:
        enqueue(s, channel_id=cid, flow="testmarket/push", trigger="manual", now=T0)
    with db.session() as s:
        old = lease(s, owner="dead", now=T0, seconds=60)
    with db.session() as s:
        assert lease(s, owner="other", now=T0 + timedelta(seconds=30)) is None  # still held
        assert heartbeat(s, old, now=T0 + timedelta(seconds=30), seconds=60)
    with db.session() as s:
        new = lease(s, owner="new", now=T0 + timedelta(seconds=100))
    assert new is not None and new.job_id == old.job_id
    with db.session() as s:
        assert not finish(s, old, now=T0, ok=False, error="zombie")
        assert finish(s, new, now=T0 + timedelta(seconds=101), ok=True)
    with db.session() as s:
        job = s.get(Job, old.job_id)
        assert (job.status, job.error, job.attempts) == ("done", None, 2)


def test_concurrent_workers_never_share_a_job(db: Database, registry) -> None:  # noqa: ANN001
    ids = _channels(db, registry, FixedClock(T0), count=4)
    flows = [
        "testmarket/push",
        "testmarket/picky",
        "testmarket/down",
        "testmarket/broken",
        "testmarket/bulk",
    ]
    with db.session() as s:
        for cid in ids:
            for flow in flows:
                enqueue(s, channel_id=cid, flow=flow, trigger="manual", now=T0)
    taken: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        while True:
            with db.session() as s:
                got = lease(s, owner=f"w{n}", now=T0)
            if got is None:
                return
            with lock:
                taken.append(got.job_id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == len(set(taken)) == 20


def test_each_tick_is_enqueued_exactly_once_by_racing_schedulers(db: Database, registry) -> None:  # noqa: ANN001
    """A scaled-down version of 'three daemons, many channels, a 1-second schedule'."""
    _channels(db, registry, FixedClock(T0), count=5)
    flows = load_flows(registry).all()
    every_second = [replace(f, schedule="every 1s") for f in flows if f.ref == "testmarket/push"]
    errors: list[BaseException] = []

    def scheduler(seen: dict) -> None:  # noqa: ANN001
        try:
            for second in range(20):
                with db.session() as s:
                    enqueue_due(s, every_second, T0 + timedelta(seconds=second), seen)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=({},)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _count(db, ScheduleTick) == 5 * 20
    # every tick's job is one job; queued jobs of one flow are merged while they wait
    with db.session() as s:
        ticks = s.execute(select(ScheduleTick.channel_id, ScheduleTick.tick)).all()
    assert len(set(ticks)) == 100


def test_after_downtime_a_missed_schedule_runs_once(db: Database, registry) -> None:  # noqa: ANN001
    _channels(db, registry, FixedClock(T0))
    flows = [f for f in load_flows(registry).all() if f.ref == "testmarket/push"]  # every 30s
    with db.session() as s:
        assert len(enqueue_due(s, flows, T0)) == 1
    with db.session() as s:
        assert len(enqueue_due(s, flows, T0 + timedelta(hours=2))) == 1  # not 240
    assert _count(db, ScheduleTick) == 2


def test_daemon_once_runs_due_flows_and_config_change_jobs(db: Database, registry) -> None:  # noqa: ANN001
    clock = FixedClock(T0)
    _channels(db, registry, clock)
    with db.session() as s:
        ChannelService(s, registry, clock=clock, hook=load_plugins().hook).set(
            "tm0", ["category_ids=a,b"]
        )
    stats = Daemon(db, registry, clock=clock).run_once()
    assert (stats.enqueued, stats.runs, stats.failed) == (1, 2, 0)
    with db.session() as s:
        runs = sorted((r.flow, r.trigger) for r in s.scalars(select(Run)))
    assert runs == [("push", "schedule"), ("refresh_categories", "config_change")]
    assert Daemon(db, registry, clock=clock).run_once().runs == 0  # nothing due twice


class _Meeting:
    """A plugin whose ``testmarket.meet`` sink waits until two runs are inside it at once:
    one worker alone would wait for itself (10 s, then the run fails)."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)

    @hookimpl
    def pazar_register_steps(self, register) -> None:  # noqa: ANN001
        barrier = self.barrier

        class Meet:
            def __init__(self, _ctx) -> None:  # noqa: ANN001
                pass

            def render(self, items: list) -> list:
                return [item.data for item in items]

            def send(self, items: list, run) -> None:  # noqa: ANN001
                barrier.wait()
                for item in items:
                    run.succeed(item, f"R-{item.key}")

        register(
            StepType(
                name="testmarket.meet", kind="sink", factory=Meet, params_schema=params_schema()
            )
        )


def test_daemon_once_runs_on_as_many_workers_as_asked(
    db: Database, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    overlay = tmp_path / "flows" / "testmarket"
    overlay.mkdir(parents=True)
    (overlay / "meet.yaml").write_text(
        "flow: meet\ntitle: Meet\nplugin: testmarket\nschedule: every 30s\n"
        "source: {type: testmarket.generate, count: 1}\nsink: {type: testmarket.meet}\n"
    )
    monkeypatch.setenv("PAZAR_FLOWS_PATH", str(tmp_path / "flows"))
    monkeypatch.setenv("PAZAR_PLUGINS", "tests.testplugin")
    registry = load_plugins(extra=[_Meeting()]).registry
    clock = FixedClock(T0)
    _channels(db, registry, clock, count=2)
    stats = Daemon(db, registry, clock=clock, workers=2).run_once()
    assert (stats.runs, stats.failed) == (4, 0)  # push and meet on both channels
    with db.session() as s:
        runs = sorted((r.flow, r.status) for r in s.scalars(select(Run)))
        jobs = {j.status for j in s.scalars(select(Job))}
    assert runs == [("meet", "success")] * 2 + [("push", "success")] * 2
    assert jobs == {"done"}


def test_daemon_once_raises_a_workers_error_and_records_its_stop(
    db: Database, registry, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    clock = FixedClock(T0)
    _channels(db, registry, clock, count=2)
    daemon = Daemon(db, registry, clock=clock, workers=3)

    def broken(owner: str) -> bool:
        raise OSError(f"{owner}: the database went away")

    monkeypatch.setattr(daemon, "work_one", broken)
    with pytest.raises(OSError, match="the database went away"):
        daemon.run_once()
    with db.session() as s:
        rows = s.execute(select(DaemonRow.workers, DaemonRow.stopped_at)).all()
    assert [(workers, stopped is not None) for workers, stopped in rows] == [(3, True)]


def test_a_second_daemon_on_one_sqlite_file_refuses(tmp_path, registry) -> None:  # noqa: ANN001
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")
    clock = FixedClock(T0)
    first = Daemon(db, registry, clock=clock)
    first.register()
    with pytest.raises(PazarError, match="another pazar daemon"):
        Daemon(db, registry, clock=clock).register()
    db.dispose()


def test_daemon_stops_on_request_and_exits_cleanly(db: Database, registry) -> None:  # noqa: ANN001
    clock = FixedClock(T0)
    _channels(db, registry, clock)
    daemon = Daemon(db, registry, clock=clock, workers=2, poll_seconds=0.05)
    thread = threading.Thread(target=daemon.run_forever)
    thread.start()
    deadline = threading.Event()
    for _ in range(200):
        if daemon.stats.runs:
            break
        deadline.wait(0.05)
    daemon.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert daemon.stats.runs == 1


def test_a_run_left_running_by_a_dead_daemon_is_closed_when_its_job_is_taken_over(
    db: Database, registry
) -> None:  # noqa: ANN001
    clock = FixedClock(T0)
    (cid,) = _channels(db, registry, clock)
    with db.session() as s:
        enqueue(s, channel_id=cid, flow="testmarket/push", trigger="manual", now=T0)
        s.add(
            Run(
                plugin="testmarket",
                flow="push",
                channel_id=cid,
                trigger="schedule",
                status="running",
                started_at=T0,
            )
        )
    with db.session() as s:
        assert lease(s, owner="dead", now=T0, seconds=60) is not None  # ... and then it was killed
    clock.advance(120)
    daemon = Daemon(db, registry, clock=clock, lease_seconds=60)
    assert daemon.work_one("new")
    with db.session() as s:
        statuses = [(r.status, r.error) for r in s.scalars(select(Run).order_by(Run.id))]
    assert statuses == [("error", "interrupted: the daemon running it stopped"), ("success", None)]


def test_a_scheduled_check_that_finds_nothing_leaves_its_job_not_a_run(
    db: Database, registry, cli, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    _quiet_flow(tmp_path, monkeypatch)
    clock = FixedClock(T0)
    (cid,) = _channels(db, load_plugins().registry, clock)
    stats = Daemon(db, load_plugins().registry, clock=clock).run_once()
    assert (stats.runs, stats.failed) == (2, 0)  # push (25 records) and quiet (none)
    with db.session() as s:
        runs = [(r.flow, r.trigger, r.read) for r in s.scalars(select(Run))]
        jobs = sorted((j.flow, j.status) for j in s.scalars(select(Job)))
    assert runs == [("push", "schedule", 25)]
    assert jobs == [("testmarket/push", "done"), ("testmarket/quiet", "done")]
    checked = {r["flow"]: r for r in json.loads(cli("status", "--json").output)["last_runs"]}
    assert checked["testmarket/quiet"]["status"] is None  # checked, never a run
    assert checked["testmarket/quiet"]["checked_at"] is not None
    # Asked for by hand, the same empty flow is a run the operator can look up.
    with db.session() as s:
        enqueue(s, channel_id=cid, flow="testmarket/quiet", trigger="manual", now=T0)
    clock.advance(1)
    assert Daemon(db, load_plugins().registry, clock=clock).drain().runs == 1
    with db.session() as s:
        assert s.scalars(select(Run.read).where(Run.flow == "quiet")).all() == [0]
    shown = json.loads(cli("status", "--json").output)["last_runs"]
    by_flow = {row["flow"]: row for row in shown}
    assert by_flow["testmarket/push"]["status"] == "success"
    assert by_flow["testmarket/quiet"]["status"] == "success"


def test_an_empty_check_ends_with_its_workers_next_lease(
    db: Database, registry, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    _quiet_flow(tmp_path, monkeypatch)
    clock = FixedClock(T0)
    (cid,) = _channels(db, load_plugins().registry, clock)
    with db.session() as s:
        job_id = enqueue(s, channel_id=cid, flow="testmarket/quiet", trigger="schedule", now=T0)
    daemon = Daemon(db, load_plugins().registry, clock=clock)

    assert daemon.work_one("w1") is True
    with db.session() as s:  # its end waits for this worker's next transaction
        assert s.get(Job, job_id).status == "running"
    clock.advance(5)
    assert daemon.work_one("w1") is False  # nothing else queued: the lease finds nothing

    with db.session() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.finished_at) == ("done", T0)  # when the check ended
        assert s.scalar(select(func.count()).select_from(Run)) == 0


def test_an_idle_pass_notices_a_channel_activated_since_the_last_one(
    db: Database, registry
) -> None:  # noqa: ANN001
    clock = FixedClock(T0)
    _channels(db, registry, clock)
    daemon = Daemon(db, registry, clock=clock)
    assert daemon.schedule() == 1
    assert daemon.schedule() == 0  # same tick, same channels: nothing to do
    with db.session() as s:
        service = ChannelService(s, registry, clock=clock)
        service.add("testmarket", "late", None)
        service.set("late", ["feature_flags.push=true"])
        service.activate("late")
    assert daemon.schedule() == 1  # the new channel's current tick, at once
    with db.session() as s:
        ChannelService(s, registry, clock=clock).deactivate("late")
    clock.advance(30)
    assert daemon.schedule() == 1  # the next tick: tm0 only


def test_heartbeats_keep_running_jobs_leased_and_let_go_of_lost_ones(
    db: Database, registry
) -> None:  # noqa: ANN001
    from pazar.daemon import _Heartbeats

    clock = FixedClock(T0)
    ids = _channels(db, registry, clock, count=2)
    with db.session() as s:
        for cid in ids:
            enqueue(s, channel_id=cid, flow="testmarket/push", trigger="manual", now=T0)
    with db.session() as s:
        mine = lease(s, owner="me", now=T0, seconds=60)
    with db.session() as s:
        other = lease(s, owner="me-too", now=T0, seconds=60)
    beats = _Heartbeats(db, clock, 60)
    beats.held = {("me", mine.job_id): mine, ("me-too", other.job_id): other}
    clock.advance(50)
    beats.beat()  # both extended to +50 +60
    clock.advance(50)
    with db.session() as s:  # still held at +100: nobody can take them
        assert lease(s, owner="thief", now=clock.now(), seconds=60) is None
    clock.advance(61)  # 'me-too' stops beating (its worker hung); its lease runs out
    beats.held.pop(("me-too", other.job_id))
    beats.beat()
    with db.session() as s:
        stolen = lease(s, owner="thief", now=clock.now(), seconds=60)
    assert stolen is not None and stolen.job_id == other.job_id
    beats.held[("me-too", other.job_id)] = other
    beats.beat()  # the lost lease is let go, the held one kept
    assert list(beats.held) == [("me", mine.job_id)]


def test_a_channel_whose_secret_is_missing_fails_its_runs_with_the_reason(
    db: Database, registry, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    clock = FixedClock(T0)
    _channels(db, registry, clock)
    with db.session() as s:
        ChannelService(s, registry, clock=clock).set(
            "tm0", ["api_key=env:PAZAR_SECRET_TM_KEY_IS_UNSET"]
        )
    monkeypatch.delenv("PAZAR_SECRET_TM_KEY_IS_UNSET", raising=False)
    daemon = Daemon(db, registry, clock=clock)
    assert daemon.run_once().failed == 1
    with db.session() as s:
        run = s.scalars(select(Run)).one()
    assert run.status == "error" and "PAZAR_SECRET_TM_KEY_IS_UNSET" in run.error
    # Once the variable exists, the same daemon resolves it: nothing kept the failure.
    monkeypatch.setenv("PAZAR_SECRET_TM_KEY_IS_UNSET", "k")
    with db.session() as s:
        enqueue(s, channel_id=run.channel_id, flow="testmarket/push", trigger="manual", now=T0)
    assert daemon.drain().failed == 1  # still counted from before; this run succeeds
    with db.session() as s:
        assert [r.status for r in s.scalars(select(Run).order_by(Run.id))] == ["error", "success"]


def test_an_outage_is_retried_with_growing_backoff_then_the_job_fails(
    db: Database,
    registry,  # noqa: ANN001
) -> None:
    clock = FixedClock(T0)
    (cid,) = _channels(db, registry, clock)
    with db.session() as s:
        job_id = enqueue(s, channel_id=cid, flow="testmarket/down", trigger="manual", now=T0)
    daemon = Daemon(db, registry, clock=clock, say=lambda _m: None)
    waits = []
    for attempt in range(1, 7):
        daemon.drain()
        with db.session() as s:
            job = s.get(Job, job_id)
            status, attempts, not_before = job.status, job.attempts, job.not_before
        assert attempts == attempt
        if status == "failed":
            break
        assert status == "queued"
        waits.append((not_before - clock.now()).total_seconds())
        clock.set(not_before)
    assert waits == [30, 60, 120, 240, 480]
    assert (status, attempts) == ("failed", 6)
    with db.session() as s:
        runs = s.scalars(select(Run.status).where(Run.channel_id == cid)).all()
    assert runs == ["failed"] * 6
