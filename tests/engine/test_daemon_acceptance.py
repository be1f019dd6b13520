"""Issue 6 acceptance: three daemons on one PostgreSQL, 20 channels x 5 flows on a
1-second schedule for 60 seconds — every tick runs exactly once.

The 60 seconds are simulated: one injected clock moves a second at a time, and
for each second every daemon schedules (concurrently, no leader) and then every
daemon's workers drain the queue (concurrently, racing for leases).  Each daemon
has its own engine and connection pool, as separate processes would.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.daemon import Daemon
from pazar.db import Database
from pazar.models.jobs import Job, ScheduleTick
from pazar.models.runs import Run
from pazar.plugins import load_plugins

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CHANNELS, FLOWS, SECONDS, DAEMONS, WORKERS = 20, 5, 60, 3, 2
FLOW_NAMES = [f"tick_{letter}" for letter in "abcde"][:FLOWS]


def _write_flows(root: Path) -> Path:
    folder = root / "flows" / "testmarket"
    folder.mkdir(parents=True)
    for name in FLOW_NAMES:
        (folder / f"{name}.yaml").write_text(
            f"flow: {name}\n"
            f"title: Every second ({name})\n"
            "plugin: testmarket\n"
            "schedule: every 1s\n"
            "content_type: productstock\n"
            "source: {type: testmarket.generate, count: 3}\n"
            "steps:\n"
            "  - type: core.map\n"
            "    fields: {sku: '{{ record.sku }}', stock: '{{ record.quantity }}'}\n"
            "sink: {type: testmarket.collect}\n"
        )
    return root / "flows"


def _in_parallel(tasks: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(task: Callable[[], None]) -> None:
        try:
            task()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def test_three_daemons_run_every_tick_of_every_channel_and_flow_exactly_once(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed,tests.testplugin")
    monkeypatch.setenv("PAZAR_FLOWS_PATH", str(_write_flows(tmp_path)))
    clock = FixedClock(T0)
    setup = Database(pg_url)
    with setup.session() as session:
        service = ChannelService(session, load_plugins().registry, clock=clock)
        for n in range(CHANNELS):
            service.add("testmarket", f"tm{n}", None)
            service.activate(f"tm{n}")
    databases = [Database(pg_url) for _ in range(DAEMONS)]
    daemons = [
        Daemon(db, load_plugins().registry, clock=clock, workers=WORKERS, say=lambda _m: None)
        for db in databases
    ]
    for daemon in daemons:
        daemon.register()

    def drain(daemon: Daemon, owner: str) -> Callable[[], None]:
        def work() -> None:
            while daemon.work_one(owner):
                pass

        return work

    queued = select(func.count()).select_from(Job).where(Job.status != "done")
    for _second in range(SECONDS):
        clock.advance(1)
        _in_parallel([d.schedule for d in daemons])
        _in_parallel([drain(d, f"{d.id}-w{w}") for d in daemons for w in range(WORKERS)])
        with setup.session() as session:
            assert session.scalar(queued) == 0, f"work left over at {clock.now()}"

    with setup.session() as session:
        runs = session.execute(select(Run.channel_id, Run.flow, Run.status, Run.id)).all()
        ticks = session.execute(
            select(
                ScheduleTick.channel_id, ScheduleTick.flow, ScheduleTick.tick, ScheduleTick.job_id
            )
        ).all()
        jobs = session.execute(select(Job.id, Job.run_id, Job.attempts, Job.lease_owner)).all()
    for db in [setup, *databases]:
        db.dispose()

    expected_ticks = {T0 + timedelta(seconds=s) for s in range(1, SECONDS + 1)}
    per_pair: dict[tuple[int, str], set[datetime]] = {}
    for channel_id, flow, tick, _job in ticks:
        per_pair.setdefault((channel_id, flow), set()).add(tick.astimezone(UTC))
    assert len(per_pair) == CHANNELS * FLOWS
    assert all(got == expected_ticks for got in per_pair.values())  # no gaps
    assert len(ticks) == CHANNELS * FLOWS * SECONDS  # no tick twice
    # every tick's job ran exactly once: one run each, none retried, none shared
    assert len(jobs) == len(ticks) == len({job for *_, job in ticks})
    assert all(attempts == 1 and run_id is not None for _id, run_id, attempts, _o in jobs)
    assert len({run_id for _id, run_id, *_ in jobs}) == len(jobs)
    runs_per_pair = Counter((channel_id, flow) for channel_id, flow, _s, _id in runs)
    assert set(runs_per_pair.values()) == {SECONDS} and len(runs_per_pair) == CHANNELS * FLOWS
    assert {status for _c, _f, status, _id in runs} == {"success"}
    # the work was shared: every daemon ran some of it
    owners = Counter(owner.rsplit("-w", 1)[0] for *_, owner in jobs)
    assert set(owners) == {d.id for d in daemons}
