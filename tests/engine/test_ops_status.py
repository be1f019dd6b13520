"""``pazar status`` (and the web's daemons screen) with something in every section."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pazar.clock import FixedClock
from pazar.db import Database
from pazar.flows.model import FlowDef, StepDef
from pazar.flows.schedule import parse_schedule
from pazar.models import Channel, Run
from pazar.models.jobs import Daemon, Job, ScheduleTick
from pazar.models.state import IntegrationWait
from pazar.ops.status import daemon_status


def test_every_section_shows_what_the_database_holds(
    cli: Any, db: Database, clock: FixedClock
) -> None:
    now = clock.now()
    with db.session() as session:
        hb = Channel(slug="hb", name="HB", plugin="hepsiburada", created_at=now, updated_at=now)
        ff = Channel(slug="ff", name="FF", plugin="fashfed", created_at=now, updated_at=now)
        session.add_all([hb, ff])
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

        def job(channel: Channel, flow: str, status: str, **more: Any) -> Job:
            return Job(
                channel_id=channel.id,
                flow=flow,
                trigger="manual",
                status=status,
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
                job(ff, "fashfed/stock", "done", finished_at=now - timedelta(minutes=1)),
            ]
        )
        for status, minutes in (("failed", 20), ("success", 10)):
            session.add(
                Run(
                    plugin="hepsiburada",
                    flow="stock",
                    channel_id=hb.id,
                    status=status,
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
    report = json.loads(cli("status", "--json").stdout)
    stamp = now.isoformat()
    assert report["daemons"] == [
        {"id": "d-1", "host": "box", "pid": 41, "workers": 2, "heartbeat_at": stamp}
    ]
    assert report["queue"] == [
        {"flow": "fashfed/price", "queued": 1},
        {"flow": "hepsiburada/stock", "queued": 2},
    ]
    running = report["running"]
    assert [{k: v for k, v in r.items() if k != "job"} for r in running] == [
        {"flow": "hepsiburada/price", "channel": "hb", "owner": "d-1", "started_at": stamp}
    ]
    assert report["last_runs"] == [
        {
            "channel": "ff",
            "flow": "fashfed/stock",
            "status": None,
            "started_at": None,
            "checked_at": (now - timedelta(minutes=1)).isoformat(),
        },
        {
            "channel": "hb",
            "flow": "hepsiburada/stock",
            "status": "success",
            "started_at": (now - timedelta(minutes=10)).isoformat(),
            "checked_at": None,
        },
    ]
    assert report["overdue"] == []  # no channel is active
    assert report["waiting"] == [
        {"channel": "hb", "content_type": "STOCK", "needs": "PRODUCT", "records": 2}
    ]
    table = cli("status", env={"COLUMNS": "200"}).stdout
    assert "d-1" in table and "d-0" not in table
    assert "hepsiburada/price" in table and "nothing running" not in table


def test_overdue_lists_the_scheduled_flows_whose_latest_tick_nobody_claimed(
    db: Database, clock: FixedClock
) -> None:
    now = clock.now()
    step = StepDef(type="x", params={}, pointer="/source")

    def flow(name: str) -> FlowDef:
        return FlowDef(
            flow=name,
            title=name,
            plugin="hepsiburada",
            source=step,
            sink=step,
            schedule="every 60s",
        )

    tick = parse_schedule("every 60s").previous_at_or_before(now)
    with db.session() as session:
        hb = Channel(
            slug="hb",
            name="HB",
            plugin="hepsiburada",
            status="active",
            created_at=now,
            updated_at=now,
        )
        session.add(hb)
        session.flush()
        session.add(
            ScheduleTick(channel_id=hb.id, flow="hepsiburada/stock", tick=tick, created_at=now)
        )
    with db.session() as session:
        report = daemon_status(session, [flow("stock"), flow("price")], now)
    assert report["overdue"] == [{"channel": "hb", "flow": "hepsiburada/price", "tick": tick}]
