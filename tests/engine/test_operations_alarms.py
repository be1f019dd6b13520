"""Alarms as an operator sees them: rules added with the CLI, notices received by a real SMTP
server and a webhook receiver on loopback, fire → repeat → resolve on an injected clock."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pazar.clock import FixedClock
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.models.channels import Channel
from pazar.models.jobs import Daemon, Job, ScheduleTick
from pazar.models.runs import Run
from pazar.models.state import BatchRequest, FailedIntegration
from pazar.ops.alarms import RuleInput, add_rule, evaluate_all, send_test
from pazar.plugins import load_plugins
from tests.conftest import Cli

SMTP_PASSWORD = "s3cret-smtp-pw"
HOOK_TOKEN = "hook-token-123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    def take(self) -> list[tuple[list[str], Message]]:
        taken, self.messages = self.messages, []
        return taken


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server on loopback that wants a login; pazar pointed at it."""
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    monkeypatch.setenv("PAZAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PAZAR_SMTP_PORT", str(port))
    monkeypatch.setenv("PAZAR_SMTP_TLS", "none")
    monkeypatch.setenv("PAZAR_SMTP_USER", "pazar")
    monkeypatch.setenv("PAZAR_SMTP_PASSWORD", "env:PAZAR_SECRET_SMTP")
    monkeypatch.setenv("PAZAR_SECRET_SMTP", SMTP_PASSWORD)
    monkeypatch.setenv("PAZAR_SMTP_FROM", "pazar@shop.example")
    try:
        yield box
    finally:
        controller.stop()


class Hooks:
    """A loopback HTTP server that keeps every POST (headers and JSON body)."""

    def __init__(self) -> None:
        received: list[tuple[dict[str, str], Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                received.append((dict(self.headers), json.loads(self.rfile.read(length))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alarm"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self) -> list[tuple[dict[str, str], Any]]:
        taken = list(self.received)
        self.received.clear()
        return taken

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hooks]:
    monkeypatch.setenv("PAZAR_SECRET_HOOK_TOKEN", HOOK_TOKEN)
    receiver = Hooks()
    try:
        yield receiver
    finally:
        receiver.stop()


class Ops:
    """A database with one channel and a way to add runs, penalties, batches and rules."""

    def __init__(self, db: Database, clock: FixedClock) -> None:
        self.db, self.clock = db, clock
        self.flows = load_flows(load_plugins().registry)
        now = clock.now()
        with db.session() as session:
            channel = Channel(
                slug="hb",
                name="HB",
                plugin="hepsiburada",
                status="active",
                config={"feature_flags": {"stock": True}},
                created_at=now,
                updated_at=now,
            )
            session.add(channel)
            session.flush()
            self.channel_id = channel.id

    def run(
        self, flow: str = "stock", *, failed: int = 0, status: str = "partial", ms: int = 1000
    ) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            session.add(
                Run(
                    plugin="hepsiburada",
                    flow=flow,
                    channel_id=self.channel_id,
                    trigger="schedule",
                    status=status,
                    started_at=now,
                    finished_at=now,
                    duration_ms=ms,
                    failed=failed,
                )
            )

    def rule(self, **fields: Any) -> None:
        spec = RuleInput(**fields)
        with self.db.session() as session:
            add_rule(session, spec, flows=self.flows, now=self.clock.now())

    def evaluate(self, minutes: float = 0) -> list[Any]:
        self.clock.advance(minutes * 60)
        return evaluate_all(self.db, now=self.clock.now(), flows=self.flows)


@pytest.fixture
def ops(db: Database, clock: FixedClock) -> Ops:
    return Ops(db, clock)


def test_fire_repeat_resolve_by_email_and_webhook(ops: Ops, smtp: Mailbox, hooks: Hooks) -> None:
    ops.rule(
        name="hb-errors",
        kind="error_rate",
        channel="hb",
        flow="hepsiburada/stock",
        threshold=2,
        interval="1h",
        repeat="30m",
        emails=["ops@shop.example", "oncall@shop.example"],
        webhooks=[hooks.url],
        webhook_token="env:PAZAR_SECRET_HOOK_TOKEN",
    )
    ops.run(failed=1)
    assert [o.event for o in ops.evaluate()] == [None]  # 1 error: not over 2
    ops.run(failed=2)
    ops.run("price", failed=50)  # another flow: not this rule's business
    assert [o.event for o in ops.evaluate(minutes=1)] == ["fire"]

    ((to, mail),) = smtp.take()
    assert to == ["ops@shop.example", "oncall@shop.example"]
    assert mail["Subject"] == "[pazar] FIRING: hb-errors (channel hb hepsiburada/stock)"
    assert mail["From"] == "pazar@shop.example"
    body = mail.get_payload()
    assert "Condition: more than 2 errors in 1h (failed records + runs ended in error)" in body
    assert "Value:     3 errors" in body
    assert "Since:     2026-01-01 00:01:00 UTC" in body
    ((headers, doc),) = hooks.take()
    assert headers["Authorization"] == f"Bearer {HOOK_TOKEN}"
    assert doc["alarm"] == "hb-errors" and doc["event"] == "fire" and doc["value"] == 3

    assert [o.event for o in ops.evaluate(minutes=10)] == [None]  # still holds, not yet due
    assert smtp.take() == [] and hooks.take() == []

    assert [o.event for o in ops.evaluate(minutes=21)] == ["repeat"]  # 31 min after the fire
    ((_, mail),) = smtp.take()
    assert mail["Subject"] == "[pazar] STILL FIRING: hb-errors (channel hb hepsiburada/stock)"
    assert hooks.take()[0][1]["event"] == "repeat"

    assert [o.event for o in ops.evaluate(minutes=30)] == ["resolve"]  # the runs left the hour
    ((to, mail),) = smtp.take()
    assert to == ["ops@shop.example", "oncall@shop.example"]
    assert mail["Subject"] == "[pazar] RESOLVED: hb-errors (channel hb hepsiburada/stock)"
    assert "The condition no longer holds." in mail.get_payload()
    assert hooks.take()[0][1]["event"] == "resolve"
    assert [o.event for o in ops.evaluate(minutes=60)] == [None]  # quiet once resolved


def test_history_and_secrets_as_the_cli_shows_them(
    cli: Cli, ops: Ops, smtp: Mailbox, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = cli(
        "alarms",
        "add",
        "stuck",
        "--kind",
        "penalties_exhausted",
        "--channel",
        "hb",
        "--email",
        "ops@shop.example",
        "--webhook",
        hooks.url,
        "--webhook-token",
        "env:PAZAR_SECRET_HOOK_TOKEN",
    )
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "alarm stuck: more than 0 exhausted penalties"
    tested = cli("alarms", "test", "stuck")
    assert tested.exit_code == 0, tested.output
    assert tested.output.splitlines() == [
        "email ops@shop.example: sent",
        f"webhook {hooks.url}: sent",
    ]
    assert smtp.take()[0][1]["Subject"] == "[pazar] TEST: stuck (channel hb)"
    shown = cli("alarms", "show", "stuck", "--json")
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.output)
    assert view["webhooks"] == [{"url": hooks.url, "token": "env:PAZAR_SECRET_HOOK_TOKEN"}]
    assert [e["event"] for e in view["events"]] == ["test"]
    assert all(d["ok"] for d in view["events"][0]["deliveries"])
    assert HOOK_TOKEN not in shown.output and SMTP_PASSWORD not in shown.output

    # A wrong SMTP password: the delivery fails, saying so, never with the password.
    monkeypatch.setenv("PAZAR_SECRET_SMTP", "wrong-password-xyz")
    failed = cli("alarms", "test", "stuck")
    assert failed.exit_code == 1
    assert "email ops@shop.example: FAILED: SMTP 127.0.0.1:" in failed.output
    assert "535" in failed.output
    assert "wrong-password-xyz" not in failed.output
    assert "error: alarm stuck: some test notices were not delivered" in failed.output

    listed = cli("alarms", "list")
    assert "stuck" in listed.output and "more than 0 exhausted penalties" in listed.output
    assert cli("alarms", "delete", "stuck").exit_code == 0
    assert cli("alarms", "list", "--json").output.strip() == "[]"


def test_a_bad_rule_is_refused_whole(cli: Cli, ops: Ops) -> None:
    result = cli(
        "alarms",
        "add",
        "x",
        "--kind",
        "eror_rate",
        "--channel",
        "hbb",
        "--flow",
        "hepsiburada/stok",
        "--interval",
        "soon",
        "--email",
        "not-an-address",
        "--webhook-token",
        "plain-token",
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: alarm 'x' not saved",
        "  kind 'eror_rate'; did you mean 'error_rate'?: one of error_rate, flow_time, "
        "penalties_exhausted, batches_expired, schedule_overdue, daemon_heartbeat",
        "  no channel 'hbb'; did you mean 'hb'?",
        "  no flow 'hepsiburada/stok'; did you mean 'hepsiburada/stock'? (write it plugin/flow)",
        "  interval 'soon': expected seconds or a duration like 30s, 5m, 1h, 1d",
        "  e-mail address 'not-an-address' is not valid",
        "  webhook token: give it as env:NAME (the variable holding the token); pazar stores "
        "no webhook secret",
        "  webhook token given without --webhook",
    ]
    assert "plain-token" not in result.output
    assert cli("alarms", "list", "--json").output.strip() == "[]"


def test_a_secret_in_a_webhook_url_or_an_endless_interval_is_refused(cli: Cli) -> None:
    result = cli(
        "alarms",
        "add",
        "y",
        *("--kind", "error_rate", "--threshold", "1", "--interval", "99999999999d"),
        *("--webhook", "https://ops:hunter2pw@hooks.example/x?token=sekrit123&team=a"),
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "error: alarm 'y' not saved",
        "  interval '99999999999d': at most 366d",
        "  webhook 'https://ops:********@hooks.example/x?token=********&team=a': a password and query "
        "parameter 'token' in the URL would be stored and shown; give the token with "
        "--webhook-token env:NAME",
    ]
    assert "hunter2pw" not in result.output and "sekrit123" not in result.output
    assert cli("alarms", "list", "--json").output.strip() == "[]"


def test_a_webhook_url_stored_with_a_secret_is_shown_masked() -> None:
    """A rule saved by an older pazar may hold one; outputs and delivery records mask it."""
    from pazar.ops.webhook_urls import masked_url

    assert masked_url("https://u:pw@h.example/x?api_key=k1&q=1") == (
        "https://u:********@h.example/x?api_key=********&q=1"
    )
    assert masked_url("https://h.example/x?q=1") == "https://h.example/x?q=1"


def measured(ops: Ops, **rule: Any) -> tuple[bool, float | None]:
    ops.rule(name="r", emails=["ops@shop.example"], **rule)
    (outcome,) = evaluate_all(ops.db, now=ops.clock.now(), flows=ops.flows, send=lambda *_: [])
    return outcome.holds, outcome.value


def test_average_flow_time(ops: Ops) -> None:
    ops.run(ms=4000)
    ops.run(ms=8000)
    assert measured(ops, kind="flow_time", threshold=5, interval="1h") == (True, 6.0)


def test_exhausted_penalties(ops: Ops) -> None:
    now = ops.clock.now()
    with ops.db.session() as session:
        for n, count in enumerate((3, 1)):
            session.add(
                FailedIntegration(
                    channel_id=ops.channel_id,
                    content_type="productstock",
                    object_id=n,
                    object_key=f"S-{n}",
                    reason_type="remote",
                    message="rejected",
                    retry_count=count,
                    max_retry_count=3,
                    retry_interval=60,
                    first_failed_at=now,
                    last_failed_at=now,
                )
            )
    assert measured(ops, kind="penalties_exhausted") == (True, 1.0)


def test_expired_batch_requests(ops: Ops) -> None:
    now = ops.clock.now()
    with ops.db.session() as session:
        for n, (status, sent, error) in enumerate(
            (
                ("fail", now, "no answer from the marketplace within 1 h (...)"),
                ("fail", now, "HTTP 500"),
                ("sent_to_remote", now - timedelta(hours=2), None),  # past EXPIRATION_HOUR
                ("sent_to_remote", now, None),
            )
        ):
            session.add(
                BatchRequest(
                    local_batch_id=f"b-{n}",
                    channel_id=ops.channel_id,
                    content_type="productstock",
                    flow="hepsiburada/stock",
                    status=status,
                    error=error,
                    created_at=sent,
                    updated_at=now,
                    sent_at=sent,
                    finished_at=now if status == "fail" else None,
                )
            )
    assert measured(ops, kind="batches_expired") == (True, 2.0)


def test_overdue_schedules(ops: Ops) -> None:
    now = ops.clock.now()
    with ops.db.session() as session:
        # stock runs every minute: its last tick was claimed 20 minutes ago, none since
        session.add(
            ScheduleTick(
                channel_id=ops.channel_id,
                flow="hepsiburada/stock",
                tick=now - timedelta(minutes=20),
                created_at=now,
            )
        )
        # check_uploads (every minute too) was claimed a minute ago, compare_attributes
        # (daily at 05:00) at its last 05:00: on time
        for flow, tick in (
            ("hepsiburada/check_uploads", now - timedelta(minutes=1)),
            ("hepsiburada/compare_attributes", now - timedelta(hours=19)),
        ):
            session.add(
                ScheduleTick(channel_id=ops.channel_id, flow=flow, tick=tick, created_at=now)
            )
    holds, value = measured(ops, kind="schedule_overdue", interval="10m")
    assert (holds, value) == (True, 1.0)


def test_a_job_waiting_past_the_grace_is_overdue(ops: Ops) -> None:
    now = ops.clock.now()
    with ops.db.session() as session:
        for flow in (
            "hepsiburada/stock",
            "hepsiburada/check_uploads",
            "hepsiburada/compare_attributes",
        ):
            session.add(
                ScheduleTick(channel_id=ops.channel_id, flow=flow, tick=now, created_at=now)
            )
        session.add(
            Job(
                channel_id=ops.channel_id,
                flow="hepsiburada/stock",
                trigger="schedule",
                status="queued",
                payload={},
                not_before=now - timedelta(minutes=20),
                attempts=0,
                created_at=now,
            )
        )
    assert measured(ops, kind="schedule_overdue", interval="10m") == (True, 1.0)


def test_daemon_heartbeat(ops: Ops) -> None:
    now = ops.clock.now()
    with ops.db.session() as session:
        session.add(
            Daemon(
                id="d1",
                host="h",
                pid=1,
                workers=1,
                started_at=now,
                heartbeat_at=now - timedelta(minutes=5),
            )
        )
    assert measured(ops, kind="daemon_heartbeat") == (True, 300.0)


def test_test_notice_without_smtp_settings_says_what_is_missing(
    ops: Ops, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAZAR_SMTP_HOST", raising=False)
    ops.rule(name="r", kind="penalties_exhausted", emails=["ops@shop.example"])
    (delivery,) = send_test(ops.db, "r", now=ops.clock.now(), flows=ops.flows)
    assert delivery == {
        "to": "ops@shop.example",
        "via": "email",
        "ok": False,
        "error": "e-mail needs PAZAR_SMTP_HOST (and usually PAZAR_SMTP_FROM) to be set",
    }


def test_the_daemon_evaluates_about_once_a_minute(ops: Ops) -> None:
    from pazar.ops.alarms import AlarmTicker, get_rule

    ops.rule(name="r", kind="error_rate", threshold=0, emails=["ops@shop.example"])
    said: list[str] = []
    ticker = AlarmTicker(ops.db, ops.flows, ops.clock, say=said.append)
    ops.run(failed=1)
    ticker.maybe_run()
    ticker.join()
    assert said == ["alarm r: FIRING (1.0)"]
    ops.run(failed=1)
    ticker.maybe_run()  # 0 s later: not evaluated again
    ticker.join()
    with ops.db.session() as session:
        assert get_rule(session, "r").last_value == 1.0
    ops.clock.advance(61)
    ticker.maybe_run()
    ticker.join()
    with ops.db.session() as session:
        assert get_rule(session, "r").last_value == 2.0
