"""Change-driven wake-ups: a change makes the flows that send it due in seconds, a burst
is one run per channel, a sent upload is checked 3, 6, 12 ... s later (SQLite and
PostgreSQL, injected clock); on PostgreSQL the wake-up travels by NOTIFY, on commit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.commerce.local import set_price, set_stock
from pazar.daemon import Daemon
from pazar.db import Database
from pazar.jobs.queue import finish, lease
from pazar.jobs.wake import ChangeListener, listen, mark_changes
from pazar.models.jobs import Job
from pazar.models.runs import Run
from pazar.models.state import BatchRequest
from pazar.plugins import load_plugins
from pazar.state.batches import mark_sent, open_batch
from pazar.testing import postgres_schema, postgres_url

T0 = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)
WINDOW = timedelta(seconds=3)

FLOWS = {
    "stock.yaml": "flow: stock\ntitle: Stock\nplugin: testmarket\nfeature_flag: push\n"
    'schedule: "*/5 * * * *"\ncontent_type: productstock\n'
    "source: {type: commerce.changed_stocks}\nsink: {type: testmarket.collect}\n",
    "price.yaml": "flow: price\ntitle: Price\nplugin: testmarket\n"
    'schedule: "*/5 * * * *"\ncontent_type: productprice\n'
    "source: {type: commerce.changed_prices}\nsink: {type: testmarket.collect}\n",
    "check.yaml": "flow: check\ntitle: Check uploads\nplugin: testmarket\n"
    'schedule: "* * * * *"\nsource: {type: state.open_batches, content_types: [productstock]}\n'
    "sink: {type: state.upload_results}\n",
}


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    overlay = tmp_path / "flows" / "testmarket"
    overlay.mkdir(parents=True)
    for name, body in FLOWS.items():
        (overlay / name).write_text(body)
    monkeypatch.setenv("PAZAR_FLOWS_PATH", str(tmp_path / "flows"))
    monkeypatch.setenv("PAZAR_PLUGINS", "tests.testplugin")
    return load_plugins().registry


def _setup(
    db: Database,
    registry,
    clock: FixedClock,
    tmp_path: Path,
    count: int = 3,
    stocks: bool = True,  # noqa: ANN001
    catalogs: tuple[str, ...] = ("tm0", "tm1", "tm2"),
) -> dict[str, int]:
    """tm0 and tm1 send stocks (flag ``push``) and prices, tm2 only prices; ``count``
    products in the ``catalogs``, with stock unless ``stocks`` is off."""
    (tmp_path / "products.csv").write_text(
        "sku,name\n" + "".join(f"S{i},P{i}\n" for i in range(count))
    )
    (tmp_path / "stocks.csv").write_text(
        "sku,quantity\n" + "".join(f"S{i},{1 + i % 9}\n" for i in range(count))
    )
    (tmp_path / "catalog_items.csv").write_text(
        "catalog,sku\n" + "".join(f"{slug},S{i}\n" for slug in catalogs for i in range(count))
    )
    ids = {}
    with db.session() as session:
        for kind in ("products", "catalog_items") + (("stocks",) if stocks else ()):
            import_file(session, kind, tmp_path / f"{kind}.csv", clock=clock)
        service = ChannelService(session, registry, clock=clock)
        for slug, push in (("tm0", "true"), ("tm1", "true"), ("tm2", "false")):
            ids[slug] = service.add("testmarket", slug, None).id
            service.set(slug, [f"feature_flags.push={push}"])
            service.activate(slug)
    return ids


def _started(db: Database, registry, clock: FixedClock) -> Daemon:  # noqa: ANN001
    """A daemon past its first pass, with what the cron queued on start run."""
    daemon = Daemon(db, registry, clock=clock, say=lambda _line: None)
    daemon.schedule()
    daemon.wake()
    while daemon.work_one("w"):
        pass
    return daemon


def _queued(db: Database) -> list[tuple[int, str, str, datetime]]:
    with db.session() as session:
        return sorted(
            session.execute(
                select(Job.channel_id, Job.flow, Job.trigger, Job.not_before).where(
                    Job.status == "queued"
                )
            ).all()
        )


def test_a_change_wakes_the_flows_that_send_it_on_every_channel_after_the_window(
    db: Database,
    registry,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    clock = FixedClock(T0)
    ch = _setup(db, registry, clock, tmp_path)
    daemon = _started(db, registry, clock)
    assert _queued(db) == []

    changed_at = clock.advance(20)
    with db.session() as session:
        set_stock(session, "S1", 42, clock=clock)
    clock.advance(1)
    daemon.wakes.ring()  # what the PostgreSQL listener does on the change's NOTIFY (see below)
    assert daemon.wake() == 2
    due = changed_at + WINDOW
    # every channel that sends stocks, not tm2 (flag off), not the price or push flows
    assert _queued(db) == [
        (ch["tm0"], "testmarket/stock", "change", due),
        (ch["tm1"], "testmarket/stock", "change", due),
    ]
    assert daemon.wake() == 0  # nothing new: the same wake-up is not queued twice

    clock.set(due - timedelta(seconds=1))
    assert not daemon.work_one("w")  # the window holds the run back
    clock.set(due)
    assert daemon.work_one("w") and daemon.work_one("w")
    with db.session() as session:
        runs = session.execute(
            select(Run.channel_id, Run.flow, Run.sent).where(Run.trigger == "change")
        ).all()
    assert sorted(runs) == [(ch["tm0"], "stock", 1), (ch["tm1"], "stock", 1)]

    # a price change wakes the price flows, tm2's included
    changed_at = clock.advance(30)
    with db.session() as session:
        set_price(session, "S2", "19.90", clock=clock)
    daemon.wakes.ring()
    daemon.wake()
    assert _queued(db) == [
        (ch[slug], "testmarket/price", "change", changed_at + WINDOW)
        for slug in ("tm0", "tm1", "tm2")
    ]


def test_setting_the_same_value_again_wakes_nothing(
    db: Database,
    registry,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    clock = FixedClock(T0)
    _setup(db, registry, clock, tmp_path)
    daemon = _started(db, registry, clock)
    clock.advance(20)
    with db.session() as session:
        set_stock(session, "S1", 2, clock=clock)  # S1 already has 2
        import_file(session, "stocks", tmp_path / "stocks.csv", clock=clock)  # unchanged file
    daemon.wakes.ring()
    assert daemon.wake() == 0
    assert _queued(db) == []


def test_a_flow_may_ask_for_a_longer_window(
    db: Database,
    registry,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    overlay = tmp_path / "flows" / "testmarket" / "stock.yaml"
    overlay.write_text(overlay.read_text() + "wake_window: 20\n")
    clock = FixedClock(T0)
    ch = _setup(db, registry, clock, tmp_path)
    daemon = _started(db, registry, clock)
    changed_at = clock.advance(20)
    with db.session() as session:
        set_stock(session, "S1", 42, clock=clock)
    daemon.wakes.ring()
    daemon.wake()
    assert _queued(db) == [
        (ch[slug], "testmarket/stock", "change", changed_at + timedelta(seconds=20))
        for slug in ("tm0", "tm1")
    ]


def test_a_burst_of_100k_changes_is_one_run_per_channel(
    db: Database,
    registry,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    clock = FixedClock(T0)
    ch = _setup(db, registry, clock, tmp_path, 100_000, stocks=False, catalogs=("tm0", "tm1"))
    daemon = _started(db, registry, clock)

    changed_at = clock.advance(20)
    with db.session() as session:  # one import: 100k changes in one transaction
        result = import_file(session, "stocks", tmp_path / "stocks.csv", clock=clock)
    assert result.changed == 100_000
    daemon.wakes.ring()
    daemon.wake()
    for n in range(20):  # and more changes, one commit each, while the job waits
        clock.advance(0.1)
        with db.session() as session:
            set_stock(session, f"S{n}", 500 + n, clock=clock)
        daemon.wakes.ring()
        daemon.wake()
    assert _queued(db) == [
        (ch[slug], "testmarket/stock", "change", changed_at + WINDOW) for slug in ("tm0", "tm1")
    ]
    clock.set(changed_at + WINDOW)
    if db.dialect == "postgresql":
        # The queue above decides the number of runs on both databases; pushing 200k
        # records through PostgreSQL would add a minute and a half to the suite for what
        # SQLite shows below (test_db_stats covers the statistics such a push leaves).
        return
    while daemon.work_one("w"):
        pass
    daemon.wakes.ring()
    daemon.wake()
    with db.session() as session:
        runs = session.execute(
            select(Run.channel_id, Run.flow, Run.sent).where(Run.trigger == "change")
        ).all()
    assert sorted(runs) == [(ch["tm0"], "stock", 100_000), (ch["tm1"], "stock", 100_000)]
    assert _queued(db) == []


def _upload_sent(db: Database, channel_id: int, clock: FixedClock) -> int:
    with db.session() as session:
        batch = open_batch(session, channel_id, "productstock", "testmarket/stock", None, [])
        mark_sent(batch, "U-1", clock=clock)
        return batch.id


def _run_checks(db: Database, clock: FixedClock) -> list[datetime]:
    """Take and end every due job (the check found the upload still pending)."""
    moments = []
    while True:
        with db.session() as session:
            job = lease(session, owner="w", now=clock.now())
            if job is None:
                return moments
            finish(session, job, now=clock.now(), ok=True)
            moments.append(clock.now())


def test_upload_checks_follow_the_upload_backing_off_to_the_cron(
    db: Database,
    registry,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    clock = FixedClock(T0)
    ch = _setup(db, registry, clock, tmp_path)
    sent = clock.advance(5)
    batch_id = _upload_sent(db, ch["tm0"], clock)
    daemon = Daemon(db, registry, clock=clock, say=lambda _line: None)
    daemon.schedule()
    _run_checks(db, clock)  # the cron's start-up jobs
    checks = []
    for second in range(1, 61):  # the daemon's passes, one a second
        clock.set(sent + timedelta(seconds=second))
        daemon.schedule()
        if daemon.wake():
            checks.append(second)
        _run_checks(db, clock)
    # 3, 6, 12, 24 and 48 s after sending (then the cron's every minute), on tm0 only
    assert checks == [3, 6, 12, 24, 48]
    with db.session() as session:
        triggers = session.execute(
            select(Job.channel_id, Job.trigger, func.count())
            .where(Job.flow == "testmarket/check")
            .group_by(Job.channel_id, Job.trigger)
        ).all()
    assert sorted(triggers) == sorted(
        [(ch["tm0"], "upload", 5)] + [(ch[slug], "schedule", 2) for slug in ("tm0", "tm1", "tm2")]
    )

    with db.session() as session:
        session.execute(
            update(BatchRequest).where(BatchRequest.id == batch_id).values(status="done")
        )
    resent = clock.advance(100)
    _upload_sent(db, ch["tm1"], clock)
    daemon.wakes.ring(uploads=True)  # the run that sent it ended
    clock.set(resent + timedelta(seconds=3))
    daemon.wake()
    assert [(c, f, t) for c, f, t, _ in _queued(db)] == [(ch["tm1"], "testmarket/check", "upload")]


def test_mark_changes_notifies_only_on_commit(pg_url: str) -> None:
    """Notifications arrive in commit order, so a change committed by another session in
    the meantime tells whether a mark was heard at its flush or at its commit; the listener
    reads them from one place only (psycopg warns that handlers and ``notifies()`` together
    are unreliable)."""
    import psycopg

    db = Database(pg_url)
    conninfo = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as listener:
            listen(listener)
            with db.session() as session:
                mark_changes(session, ["stocks"], T0)
                session.flush()
                with db.session() as meanwhile:
                    mark_changes(meanwhile, ["prices"], T0)
            heard = [n.payload for n in listener.notifies(timeout=10, stop_after=2)]
        assert heard == ["prices", "stocks"]

        with psycopg.connect(conninfo, autocommit=True) as listener:
            listen(listener)
            with pytest.raises(RuntimeError), db.session() as session:
                mark_changes(session, ["stocks"], T0)
                session.flush()
                raise RuntimeError("rolled back")
            with db.session() as session:
                mark_changes(session, ["prices"], T0)
            heard = [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
        assert heard == ["prices"]  # a rolled-back change wakes nobody
    finally:
        db.dispose()


def test_a_change_in_another_schema_of_the_database_wakes_nobody_here(pg_url: str) -> None:
    import psycopg

    conninfo = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    heard: list[str] = []
    with postgres_schema(postgres_url()) as other_url:
        here, other = Database(pg_url), Database(other_url)
        try:
            with psycopg.connect(conninfo, autocommit=True) as listener:
                listen(listener)
                with other.session() as session:
                    mark_changes(session, ["stocks"], T0)
                with here.session() as session:
                    mark_changes(session, ["prices"], T0)
                # Notifications arrive in commit order: the other schema's would come first.
                heard += [n.payload for n in listener.notifies(timeout=10, stop_after=1)]
        finally:
            here.dispose()
            other.dispose()
    assert heard == ["prices"]


def test_on_postgresql_a_daemon_learns_of_a_change_by_notify(
    pg_url: str,
    registry,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    db = Database(pg_url)
    clock = FixedClock(T0)
    try:
        ch = _setup(db, registry, clock, tmp_path)
        daemon = _started(db, registry, clock)
        assert daemon.wakes.listening
        rung = threading.Event()

        def ring() -> None:
            daemon.wakes.ring()
            rung.set()

        listener = ChangeListener(db.url, ring)
        listener.start()
        try:
            assert listener.listening.wait(10)
            assert rung.wait(10)  # it rings once on connecting
            daemon.wake()
            rung.clear()
            changed_at = clock.advance(5)
            with db.session() as session:
                set_stock(session, "S1", 42, clock=clock)
            assert rung.wait(10)
        finally:
            listener.stop()
        assert daemon.wake() == 2
        assert [(c, f, t) for c, f, t, _ in _queued(db)] == [
            (ch["tm0"], "testmarket/stock", "change"),
            (ch["tm1"], "testmarket/stock", "change"),
        ]
        assert {nb for *_, nb in _queued(db)} == {changed_at + WINDOW}
    finally:
        db.dispose()


def test_on_postgresql_a_daemon_not_told_reads_the_marks_at_its_safety_probe(
    pg_url: str,
    registry,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    db = Database(pg_url)
    clock = FixedClock(T0)
    try:
        _setup(db, registry, clock, tmp_path)
        daemon = _started(db, registry, clock)
        clock.advance(5)
        with db.session() as session:
            set_stock(session, "S1", 42, clock=clock)
        assert daemon.wake() == 0  # no listener heard it (none runs here)
        clock.advance(30)
        assert daemon.wake() == 2
    finally:
        db.dispose()
