"""``pazar status`` read with the database driver alone (issue 19: under 0.3 s).

The first status loads plugins and flows and leaves a summary of the flows; a later one
with a current summary reads with sqlite3/psycopg and no SQLAlchemy.  Whatever way it
goes, the user must see the same tables, the same JSON and the same refusals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from pazar.clock import FixedClock
from pazar.db import Database
from pazar.db_driver import newest_migration_file
from pazar.flows.schedule import parse_schedule
from pazar.models import Channel, Run
from pazar.models.jobs import Daemon, Job, ScheduleTick
from pazar.models.state import IntegrationWait
from pazar.testing import Cli

from ..conftest import BUILTIN_MARKETPLACES, TESTS_DIR

PLUGINS = f"{BUILTIN_MARKETPLACES},tests.testplugin"
NOW = datetime(2026, 3, 4, 10, 7, 30, 250000, tzinfo=UTC)
YEARLY = "0 0 1 1 *"


def _fill(db: Database, now: datetime, *, active: bool = True) -> None:
    """Something in every section: daemons, queued/running/done jobs, runs, waits, and
    active channels whose schedules (their own, overridden, behind flags) are due."""
    status = "active" if active else "inactive"
    with db.session() as session:
        hb = Channel(
            slug="hb",
            name="HB",
            plugin="hepsiburada",
            status=status,
            config={
                "feature_flags": {"stock": True, "price": False},
                "schedules": {"stock": YEARLY},
            },
            created_at=now,
            updated_at=now,
        )
        tm = Channel(
            slug="tm",
            name="TM",
            plugin="testmarket",
            status=status,
            config={"feature_flags": {"push": True}},
            created_at=now,
            updated_at=now,
        )
        ff = Channel(slug="ff", name="FF", plugin="fashfed", created_at=now, updated_at=now)
        session.add_all([hb, tm, ff])
        session.flush()
        session.add_all(
            [
                Daemon(id="d-1", host="box", pid=41, workers=2, started_at=now, heartbeat_at=now),
                Daemon(
                    id="d-0",
                    host="box",
                    pid=40,
                    started_at=now - timedelta(hours=1),
                    heartbeat_at=now - timedelta(hours=1),
                    stopped_at=now - timedelta(minutes=30),
                ),
            ]
        )

        def job(channel: Channel, flow: str, state: str, **more: Any) -> Job:
            return Job(
                channel_id=channel.id,
                flow=flow,
                trigger="manual",
                status=state,
                not_before=now,
                created_at=now,
                **more,
            )

        session.add_all(
            [
                job(hb, "hepsiburada/stock", "queued"),
                job(ff, "hepsiburada/stock", "queued"),
                job(ff, "fashfed/price", "queued"),
                job(hb, "hepsiburada/price", "running", lease_owner="d-1", started_at=now),
                job(ff, "fashfed/stock", "done", finished_at=now - timedelta(minutes=5)),
                job(ff, "fashfed/stock", "done", finished_at=now - timedelta(seconds=61.5)),
            ]
        )
        for state, minutes in (("failed", 20), ("success", 10)):
            session.add(
                Run(
                    plugin="hepsiburada",
                    flow="stock",
                    channel_id=hb.id,
                    status=state,
                    started_at=now - timedelta(minutes=minutes),
                )
            )
        for object_id, key in ((1, "a"), (2, "b")):
            session.add(
                IntegrationWait(
                    channel_id=hb.id,
                    content_type="STOCK",
                    object_id=object_id,
                    object_key=key,
                    needs="PRODUCT",
                    since=now,
                )
            )
        # A daemon claimed the test market's latest push tick: not overdue.
        push_tick = parse_schedule("every 30s").previous_at_or_before(now)
        session.add(
            ScheduleTick(channel_id=tm.id, flow="testmarket/push", tick=push_tick, created_at=now)
        )


def _three_ways(cli: Cli, *args: str) -> tuple[Any, Any, Any]:
    """``pazar ARGS`` without the flow summary (the way every status went before), with
    one being written, and with one being read."""
    return (
        cli(*args, env={"PAZAR_CACHE_DIR": "off"}),
        cli(*args),
        cli(*args),
    )


@pytest.fixture
def status_cli(db_url: str) -> Cli:
    return Cli(db_url, plugins=PLUGINS, clock=FixedClock(NOW), env={"COLUMNS": "200"})


def test_status_shows_the_same_whichever_way_it_reads(status_cli: Cli, db: Database) -> None:
    _fill(db, NOW)
    before, writing, reading = _three_ways(status_cli, "status", "--json")
    assert before.exit_code == writing.exit_code == reading.exit_code == 0
    assert reading.stdout == writing.stdout == before.stdout
    report = json.loads(reading.stdout)
    stamp = NOW.isoformat()
    assert report["daemons"] == [
        {"id": "d-1", "host": "box", "pid": 41, "workers": 2, "heartbeat_at": stamp}
    ]
    assert report["queue"] == [
        {"flow": "fashfed/price", "queued": 1},
        {"flow": "hepsiburada/stock", "queued": 2},
    ]
    assert [{k: v for k, v in r.items() if k != "job"} for r in report["running"]] == [
        {"flow": "hepsiburada/price", "channel": "hb", "owner": "d-1", "started_at": stamp}
    ]
    assert report["last_runs"] == [
        {
            "channel": "ff",
            "flow": "fashfed/stock",
            "status": None,
            "started_at": None,
            "checked_at": (NOW - timedelta(seconds=61.5)).isoformat(),
        },
        {
            "channel": "hb",
            "flow": "hepsiburada/stock",
            "status": "success",
            "started_at": (NOW - timedelta(minutes=10)).isoformat(),
            "checked_at": None,
        },
    ]
    overdue = {(o["channel"], o["flow"]): o["tick"] for o in report["overdue"]}
    # The channel's override, not the flow's every-minute schedule.
    assert overdue[("hb", "hepsiburada/stock")] == "2026-01-01T00:00:00+00:00"
    assert ("hb", "hepsiburada/price") not in overdue  # its flag is off
    assert ("tm", "testmarket/push") not in overdue  # its tick is claimed
    assert not [key for key in overdue if key[0] == "ff"]  # inactive
    assert report["waiting"] == [
        {"channel": "hb", "content_type": "STOCK", "needs": "PRODUCT", "records": 2}
    ]
    tables = _three_ways(status_cli, "status")
    assert tables[0].stdout == tables[1].stdout == tables[2].stdout
    assert "d-1" in tables[2].stdout and "d-0" not in tables[2].stdout
    assert "2026-01-01 00:00:00" in tables[2].stdout


def test_a_claimed_tick_is_no_longer_overdue_on_the_next_status(
    status_cli: Cli, db: Database
) -> None:
    _fill(db, NOW)
    assert status_cli("status", "--json").exit_code == 0  # writes the summary
    push_tick = parse_schedule("every 30s").previous_at_or_before(NOW + timedelta(seconds=30))
    status_cli.clock.advance(30)
    report = json.loads(status_cli("status", "--json").stdout)
    assert {"channel": "tm", "flow": "testmarket/push", "tick": push_tick.isoformat()} in (
        report["overdue"]
    )
    with db.session() as session:
        tm = session.query(Channel).filter_by(slug="tm").one()
        session.add(
            ScheduleTick(
                channel_id=tm.id, flow="testmarket/push", tick=push_tick, created_at=push_tick
            )
        )
    report = json.loads(status_cli("status", "--json").stdout)
    assert ("tm", "testmarket/push") not in {(o["channel"], o["flow"]) for o in report["overdue"]}


def test_an_edited_flow_file_is_seen_by_the_next_status(
    status_cli: Cli, db: Database, tmp_path: Path
) -> None:
    _fill(db, NOW)
    overlay = tmp_path / "overlay" / "testmarket"
    overlay.mkdir(parents=True)
    source = (TESTS_DIR / "testplugin" / "flows" / "testmarket" / "push.yaml").read_text()
    flow_file = overlay / "push.yaml"
    flow_file.write_text(source.replace("schedule: every 30s", f'schedule: "{YEARLY}"'))
    status_cli.env["PAZAR_FLOWS_PATH"] = str(overlay.parent)

    def push_tick() -> str | None:
        report = json.loads(status_cli("status", "--json").stdout)
        ticks = [o["tick"] for o in report["overdue"] if o["flow"] == "testmarket/push"]
        return ticks[0] if ticks else None

    assert push_tick() == "2026-01-01T00:00:00+00:00"
    assert push_tick() == "2026-01-01T00:00:00+00:00"  # from the summary
    flow_file.write_text(source.replace("schedule: every 30s", 'schedule: "0 10 * * *"'))
    assert push_tick() == "2026-03-04T10:00:00+00:00"
    flow_file.unlink()  # back to the plugin's own file, whose tick is claimed
    assert push_tick() is None


def test_a_flow_error_is_reported_even_after_a_summary_was_kept(
    status_cli: Cli, db: Database, tmp_path: Path
) -> None:
    overlay = tmp_path / "overlay" / "testmarket"
    overlay.mkdir(parents=True)
    status_cli.env["PAZAR_FLOWS_PATH"] = str(overlay.parent)
    assert status_cli("status").exit_code == 0
    (overlay / "push.yaml").write_text("flow: push\ntitle: [unclosed\n")
    result = status_cli("status")
    assert result.exit_code == 2
    assert "push.yaml" in result.output


@pytest.mark.parametrize(
    ("stored", "message"),
    [("0001", "run `pazar db upgrade`"), ("9999", "which this pazar does not know")],
)
def test_a_database_at_another_revision_is_refused_after_a_summary_was_kept(
    status_cli: Cli, db: Database, stored: str, message: str
) -> None:
    assert status_cli("status").exit_code == 0  # writes the summary
    assert status_cli("status").exit_code == 0  # reads it

    def set_revision(revision: str | None) -> None:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})

    set_revision(stored)
    try:  # the PostgreSQL database is shared by the session's tests: put the revision back
        result = status_cli("status")
    finally:
        set_revision(newest_migration_file())
    assert result.exit_code == 1
    assert message in result.output


def test_an_empty_database_is_still_migrated_after_a_summary_was_kept(
    tmp_path: Path, db_url: str
) -> None:
    kept = Cli(db_url, plugins=PLUGINS)
    assert kept("status").exit_code == 0  # writes the summary
    fresh = Cli(f"sqlite:///{tmp_path / 'fresh' / 'new.db'}", plugins=PLUGINS)
    (tmp_path / "fresh").mkdir()
    result = fresh("status", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["daemons"] == []
    database = Database(fresh.database_url, auto_migrate=False)
    try:
        database.ensure_ready()  # migrated by that status
    finally:
        database.dispose()


# Runs the CLI in a fresh interpreter, then reports which of the named modules it loaded.
PROBE = """
import json, sys
watched = json.loads(sys.argv[1])
from pazar.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
sys.stderr.write("\\nLOADED " + json.dumps(sorted(m for m in watched if m in sys.modules)))
"""
# What a status with a current flow summary does without.
NOT_FOR_QUICK_STATUS = [
    "sqlalchemy",
    "alembic",
    "pluggy",
    "pazar.db",
    "pazar.models",
    "pazar.plugins",
    "pazar.flows.loader",
    "pazar_hepsiburada",
    "pazar_fashfed",
]


def _probe(
    tmp_path: Path, url: str, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(NOT_FOR_QUICK_STATUS), *args],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("PAZAR_", "_PAZAR"))},
            "PAZAR_DATABASE_URL": url,
            "PAZAR_PLUGINS": BUILTIN_MARKETPLACES,
            "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PAZAR_CACHE_DIR": str(tmp_path / "cache"),
            "COLUMNS": "200",
            **env,
        },
        cwd=tmp_path,
        timeout=120,
    )
    marker = done.stderr.rindex("LOADED ")
    return done, json.loads(done.stderr[marker + len("LOADED ") :])


@pytest.mark.parametrize("args", [("status",), ("status", "--json")])
def test_a_status_with_a_current_summary_leaves_sqlalchemy_and_the_plugins_out(
    tmp_path: Path, db_url: str, db: Database, args: tuple[str, ...]
) -> None:
    # Inactive channels: nothing is overdue, so the system clock cannot move the output.
    _fill(db, datetime.now(UTC), active=False)
    before, loaded_before = _probe(tmp_path, db_url, *args, PAZAR_CACHE_DIR="off")
    assert before.returncode == 0, before.stderr
    assert "sqlalchemy" in loaded_before
    writing, _ = _probe(tmp_path, db_url, *args)
    reading, loaded = _probe(tmp_path, db_url, *args)
    assert reading.returncode == 0, reading.stderr
    assert reading.stdout == writing.stdout == before.stdout
    assert "d-1" in reading.stdout and "hepsiburada/price" in reading.stdout
    assert loaded == []


@pytest.mark.postgres
def test_an_unreachable_server_is_named_as_before_after_a_summary_was_kept(pg_url: str) -> None:
    assert Cli(pg_url, plugins=PLUGINS)("status").exit_code == 0  # writes the summary
    # Port 1 on loopback: refused at once, nothing listens there.
    unreachable = Cli("postgresql://pazar:secret@127.0.0.1:1/none", plugins=PLUGINS)
    before = unreachable("status", env={"PAZAR_CACHE_DIR": "off"})
    after = unreachable("status")
    assert before.exit_code == after.exit_code == 1
    assert after.output == before.output
    assert "cannot open the database postgresql://pazar:***@127.0.0.1:1/none" in after.output


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgres://u%40x:p%2Fw@db.example:6543/my%20db?sslmode=require&application_name=",
        "postgresql+psycopg://u@[::1]/db?options=-csearch_path%3Dpazar_x",
        "postgresql:///db",
    ],
)
def test_the_driver_opens_a_postgresql_url_as_sqlalchemy_does(url: str) -> None:
    from pazar.db import make_engine
    from pazar.db_driver import plain_target

    engine = make_engine(url)
    try:
        _args, expected = engine.dialect.create_connect_args(engine.url)
    finally:
        engine.dispose()
    expected.pop("context", None)  # SQLAlchemy's type adapters, not a connection setting
    assert plain_target(url) == ("postgresql", expected)


@pytest.mark.parametrize("name", ["pazar.db", "with space/pazar db.db", "rel/x.db"])
def test_the_driver_opens_a_sqlite_url_as_sqlalchemy_does(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.parse import quote

    from pazar.db import make_engine
    from pazar.db_driver import plain_target

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{quote(name)}"
    engine = make_engine(url)
    try:
        (expected_file,), _kwargs = engine.dialect.create_connect_args(engine.url)
    finally:
        engine.dispose()
    target = plain_target(url)
    assert target is not None and target[1]["database"] == expected_file


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://a@b@db.example/db",  # two @: SQLAlchemy reads it its own way
        "POSTGRESQL://u@db.example/db",  # a scheme SQLAlchemy would not know
        "postgresql://u@db.example:54x/db",  # a port that is not a number
        "postgresql://u@[::1/db",  # an IPv6 host never closed
        "postgresql://u@h/db?host=a&host=b",  # several hosts
        "mysql://u@h/db",
        "sqlite://",  # in memory
        "sqlite:///file:x.db?mode=ro&uri=true",
    ],
)
def test_a_url_the_driver_does_not_plainly_read_goes_the_ordinary_way(url: str) -> None:
    from pazar.db_driver import plain_target

    assert plain_target(url) is None


def test_statements_read_together_give_what_they_give_one_by_one(db_url: str, db: Database) -> None:
    """``pazar status`` sends its reads as one batch (one round trip on PostgreSQL, in
    psycopg's pipeline mode); each must come back as the same statement read alone."""
    from pazar.db_driver import open_plain
    from pazar.status_reads import ACTIVE_CHANNELS, DAEMONS, LAST_RUNS, QUEUE, WAITING

    _fill(db, NOW)
    conn = open_plain(db_url)
    assert conn is not None
    try:
        assert conn.pipeline == (conn.dialect == "postgresql")
        statements = [
            (DAEMONS, ()),
            (QUEUE, ("queued",)),
            (LAST_RUNS, ()),
            (WAITING, ()),
            (ACTIVE_CHANNELS, ("active",)),
            ("SELECT 100 % 7, ?", ("a?%",)),  # placeholders and percent signs as in rows()
        ]
        together = conn.batch(statements)
        assert together == [conn.rows(sql, params) for sql, params in statements]
        assert [len(rows) for rows in together] == [1, 2, 1, 1, 2, 1]
        assert together[-1] == [(2, "a?%")]
    finally:
        conn.dbapi.close()


def test_a_failing_statement_in_a_batch_raises_the_drivers_error(db_url: str) -> None:
    """quick_status falls back to the ordinary way on the driver's error, so a batch must
    raise that error (not another) and leave nothing half read."""
    from pazar.db_driver import open_plain
    from pazar.status_reads import DAEMONS

    conn = open_plain(db_url)
    assert conn is not None
    try:
        with pytest.raises(conn.error):
            conn.batch([(DAEMONS, ()), ("SELECT nothing FROM no_such_table", ()), (DAEMONS, ())])
    finally:
        conn.dbapi.close()


@pytest.mark.postgres
def test_an_empty_postgresql_schema_is_still_migrated_after_a_summary_was_kept(
    pg_url: str,
) -> None:
    """The revision check goes out in one batch with the reads; on a schema with no tables
    the batch fails as a whole, and the status must still go the ordinary way (migrate)."""
    from pazar.testing import postgres_schema, postgres_url

    assert Cli(pg_url, plugins=PLUGINS)("status").exit_code == 0  # writes the summary
    # the server itself, not the session's schema: a schema of its own, with no tables
    with postgres_schema(postgres_url(), migrated=False) as empty:
        result = Cli(empty, plugins=PLUGINS)("status", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["daemons"] == []
        database = Database(empty, auto_migrate=False)
        try:
            database.ensure_ready()  # migrated by that status
        finally:
            database.dispose()
