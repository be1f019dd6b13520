"""The operations HTTP API over real loopback HTTP: /health, /metrics, /jobs, dashboard,
reports and alarms, as Prometheus, a load balancer and an OMS would call them."""

from __future__ import annotations

import csv
import io
import shutil
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pazar.clock import FixedClock
from pazar.db import Database
from pazar.http_trigger import create_app
from pazar.models.jobs import Daemon, Job
from pazar.models.ops import DashboardHistory
from pazar.models.runs import Run, RunLog
from pazar.models.state import BatchRequest, FailedIntegration
from pazar.ops.alarms import RuleInput, add_rule
from pazar.plugins import load_plugins
from pazar.sandbox_server import serve_in_thread
from pazar.tokens import create_token
from tests.engine.test_operations_dashboard import EXPECTED, build
from tests.engine.test_operations_dashboard import sheet_rows as xlsx_rows


class Api:
    def __init__(self, db: Database, clock: FixedClock, tmp: Path) -> None:
        self.db, self.clock = db, clock
        self.registry = load_plugins().registry
        self.channel_id = build(db, tmp)
        with db.session() as session:
            self.token = create_token(session, "prometheus", clock.now())
        self.server = serve_in_thread(create_app(db, self.registry, clock=clock))
        self.http = httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Token {self.token}"}, timeout=10
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture
def api(db: Database, clock: FixedClock, tmp_path: Path) -> Iterator[Api]:
    running = Api(db, clock, tmp_path)
    try:
        yield running
    finally:
        running.close()


def beat(api: Api, age: timedelta) -> None:
    now = api.clock.now()
    with api.db.session() as session:
        session.add(
            Daemon(id="d1", host="h", pid=1, workers=2, started_at=now, heartbeat_at=now - age)
        )


def test_health_answers_without_a_token(api: Api) -> None:
    anonymous = httpx.get(f"{api.server.url}/health", timeout=10)
    assert anonymous.status_code == 503  # no daemon: nobody runs the flows
    assert anonymous.json() == {
        "status": "degraded",
        "database": {"ok": True},
        "daemon": {"ok": False, "heartbeat_age_seconds": None},
    }
    beat(api, timedelta(seconds=20))
    healthy = httpx.get(f"{api.server.url}/health", timeout=10)
    assert healthy.status_code == 200
    assert healthy.json() == {
        "status": "ok",
        "database": {"ok": True},
        "daemon": {"ok": True, "heartbeat_age_seconds": 20.0},
    }


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_health_is_503_when_the_database_is_gone(db: Database, tmp_path: Path) -> None:
    if db.dialect == "sqlite":
        folder = tmp_path / "gone"
        folder.mkdir()
        database = Database(f"sqlite:///{folder / 'pazar.db'}")
        database.ensure_ready()
        database.engine.dispose()
        shutil.rmtree(folder)
    else:
        database = Database(f"postgresql://postgres@127.0.0.1:{_dead_port()}/test")
    registry = load_plugins().registry
    with serve_in_thread(create_app(database, registry, clock=FixedClock())) as server:
        response = httpx.get(f"{server.url}/health", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"]["ok"] is False
    assert "password" not in response.text and "postgres@" not in response.text


def test_everything_but_health_wants_a_token(api: Api) -> None:
    for path in ("/metrics", "/jobs/1", "/dashboard", "/alarms", "/reports/not_listed?channel=c1"):
        response = httpx.get(f"{api.server.url}{path}", timeout=10)
        assert response.status_code == 401, path
        assert response.json() == {
            "error": "missing or invalid token; send 'Authorization: Token <token>'"
        }


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_parse_and_say_what_happened(api: Api) -> None:
    now = api.clock.now()
    with api.db.session() as session:
        for ms, status, sent, failed in ((800, "success", 10, 0), (7000, "partial", 5, 2)):
            session.add(
                Run(
                    plugin="hepsiburada",
                    flow="stock",
                    channel_id=api.channel_id,
                    trigger="schedule",
                    status=status,
                    started_at=now,
                    finished_at=now,
                    duration_ms=ms,
                    sent=sent,
                    failed=failed,
                )
            )
        session.add(
            FailedIntegration(
                channel_id=api.channel_id,
                content_type="productstock",
                object_id=1,
                object_key="A",
                reason_type="remote",
                message="rejected",
                retry_count=3,
                max_retry_count=3,
                retry_interval=60,
                first_failed_at=now,
                last_failed_at=now,
            )
        )
        session.add(
            BatchRequest(
                local_batch_id="b1",
                channel_id=api.channel_id,
                content_type="productprice",
                flow="hepsiburada/price",
                status="sent_to_remote",
                created_at=now,
                updated_at=now,
                sent_at=now,
            )
        )
        session.add(
            Job(
                channel_id=api.channel_id,
                flow="hepsiburada/stock",
                trigger="schedule",
                status="queued",
                payload={},
                not_before=now - timedelta(seconds=42),
                attempts=0,
                created_at=now,
            )
        )
        session.add(
            DashboardHistory(
                channel_id=api.channel_id,
                recorded_at=now,
                price_corrections=0,
                stock_corrections=0,
                **EXPECTED,
            )
        )
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    stock = (("channel", "c1"), ("flow", "hepsiburada/stock"))

    def value(name: str, *labels: tuple[str, str]) -> float:
        return samples[(name, tuple(sorted(labels)))]

    assert value("pazar_runs", *stock, ("status", "success")) == 1
    assert value("pazar_runs", *stock, ("status", "partial")) == 1
    assert value("pazar_records_sent", *stock) == 15
    assert value("pazar_records_failed", *stock) == 2
    assert value("pazar_run_duration_seconds_bucket", *stock, ("le", "1.0")) == 1
    assert value("pazar_run_duration_seconds_bucket", *stock, ("le", "15.0")) == 2
    assert value("pazar_run_duration_seconds_count", *stock) == 2
    assert value("pazar_run_duration_seconds_sum", *stock) == pytest.approx(7.8)
    assert value("pazar_last_success_timestamp_seconds", *stock) == now.timestamp()
    assert (
        value(
            "pazar_penalties",
            ("channel", "c1"),
            ("content_type", "productstock"),
            ("state", "exhausted"),
        )
        == 1
    )
    assert value("pazar_open_batches", ("channel", "c1"), ("content_type", "productprice")) == 1
    assert value("pazar_queue_depth", ("flow", "hepsiburada/stock")) == 1
    assert value("pazar_job_lag_seconds") == 42
    for name, number in EXPECTED.items():
        assert value("pazar_dashboard", ("channel", "c1"), ("number", name)) == number


def test_job_status_with_its_records(api: Api) -> None:
    now = api.clock.now()
    with api.db.session() as session:
        run = Run(
            plugin="hepsiburada",
            flow="stock",
            channel_id=api.channel_id,
            trigger="http",
            status="partial",
            started_at=now,
            finished_at=now,
            duration_ms=1200,
            read=2,
            sent=2,
            succeeded=1,
            failed=1,
        )
        session.add(run)
        session.flush()
        session.add(
            RunLog(run_id=run.id, object_id="B", level="error", message="rejected", created_at=now)
        )
        job = Job(
            channel_id=api.channel_id,
            flow="hepsiburada/stock",
            trigger="http",
            status="done",
            payload={"skus": ["A", "B"]},
            not_before=now,
            attempts=1,
            run_id=run.id,
            created_at=now,
            finished_at=now,
        )
        session.add(job)
        session.flush()
        job_id = job.id
    body = api.get(f"/jobs/{job_id}").json()
    assert body["job"]["status"] == "done" and body["job"]["channel"] == "c1"
    assert body["job"]["payload"] == {"skus": ["A", "B"]}
    assert body["run"]["status"] == "partial"
    assert (body["run"]["succeeded"], body["run"]["failed"]) == (1, 1)
    assert body["records"] == [
        {"key": "B", "level": "error", "message": "rejected", "at": now.isoformat()}
    ]
    assert api.get("/jobs/999999").status_code == 404
    assert api.get("/jobs/abc").status_code == 404


def test_dashboard_reports_and_alarms_as_json(api: Api) -> None:
    (board,) = api.get("/dashboard", params={"channel": "c1"}).json()
    assert {k: board[k] for k in EXPECTED} == EXPECTED
    assert api.get("/dashboard", params={"channel": "nope"}).status_code == 404

    rows = api.get("/reports/not_listed", params={"channel": "c1"}).json()
    assert [(r["sku"], r["reason"]) for r in rows] == [("D", "never_sent"), ("E", "not_salable")]
    text = api.get("/reports/stock_differences", params={"channel": "c1", "format": "csv"})
    assert text.headers["content-type"].startswith("text/csv")
    assert [r["sku"] for r in csv.DictReader(io.StringIO(text.text))] == ["C", "O"]
    sheet = api.get("/reports/price_differences", params={"channel": "c1", "format": "xlsx"})
    assert sheet.status_code == 200
    assert [row[0] for row in xlsx_rows(sheet.content)] == ["sku", "B", "E"]
    bad = api.get("/reports/nope", params={"channel": "c1"})
    assert bad.status_code == 422
    assert bad.json()["error"].startswith("unknown report 'nope'")

    with api.db.session() as session:
        add_rule(
            session,
            RuleInput(name="slow", kind="flow_time", threshold=60, emails=["ops@shop.example"]),
            flows=_flows(api),
            now=api.clock.now(),
        )
    (rule,) = api.get("/alarms").json()
    assert rule["name"] == "slow" and rule["state"] == "ok"
    assert rule["condition"] == "average flow time over 60 s in 1h"
    detail = api.get("/alarms/slow").json()
    assert detail["events"] == []
    assert api.get("/alarms/fast").status_code == 404


def _flows(api: Api) -> Any:
    from pazar.flows.loader import load_flows

    return load_flows(api.registry)
