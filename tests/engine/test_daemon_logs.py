"""The daemon's log lines name the channel, and come as JSON or text at a chosen level."""

from __future__ import annotations

import json
from typing import Any


def _active_channel(cli: Any, slug: str = "tm") -> None:
    assert cli("channel", "add", "testmarket", "--slug", slug).exit_code == 0
    assert cli("channel", "set", slug, "feature_flags.push=true").exit_code == 0
    assert cli("channel", "activate", slug).exit_code == 0


def test_json_log_lines_carry_channel_flow_job_run_and_status(cli: Any) -> None:
    _active_channel(cli)
    result = cli("daemon", "--once", "--log-format", "json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (job,) = [line for line in lines if line.get("job")]
    assert job["level"] == "info" and job["logger"] == "pazar.daemon"
    assert (job["channel"], job["flow"], job["trigger"], job["status"]) == (
        "tm",
        "testmarket/push",
        "schedule",
        "success",
    )
    assert isinstance(job["run"], int) and job["time"].endswith("Z")
    assert job["message"] == f"channel tm: job {job['job']} testmarket/push (schedule): success"
    assert "daemon --once: 1 jobs enqueued, 1 run, 0 failed" in result.stdout


def test_text_lines_name_the_channel_and_the_level_filters(cli: Any) -> None:
    _active_channel(cli, "tm")
    quiet = cli("daemon", "--once", "--log-level", "warning")
    assert quiet.exit_code == 0, quiet.output
    assert "1 run, 0 failed" in quiet.stdout
    assert "channel tm" not in quiet.stderr  # a success is info, below warning

    _active_channel(cli, "tm2")  # its first tick is due now
    result = cli("daemon", "--once")
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stderr.splitlines() if "channel tm2" in x]
    when, level, message = line.split(" ", 2)
    assert when.endswith("Z") and level == "INFO"
    assert message.startswith("channel tm2: job ") and message.endswith(
        " testmarket/push (schedule): success"
    )


def test_an_unknown_log_format_is_refused(cli: Any) -> None:
    result = cli("daemon", "--once", "--log-format", "xml")
    assert result.exit_code == 2
    assert "'xml' is not one of 'text', 'json'" in result.output


def _scheduled_overlay(tmp_path: Any, monkeypatch: Any, name: str, sink: str) -> None:
    overlay = tmp_path / "flows" / "testmarket"
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / f"{name}.yaml").write_text(
        f"flow: {name}\ntitle: {name}\nplugin: testmarket\nschedule: every 30s\n"
        f"source: {{type: testmarket.generate, count: 6}}\nsink: {sink}\n"
    )
    monkeypatch.setenv("PAZAR_FLOWS_PATH", str(tmp_path / "flows"))


def test_once_exits_like_run_when_records_fail_or_a_job_stops(
    cli: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """A cron job running `daemon --once` learns from its exit code what `pazar run`'s
    would have said: 3 when some records failed, 1 when a job stopped (an outage)."""
    rejects = "{type: testmarket.collect, fail_every: 3}"
    _scheduled_overlay(tmp_path, monkeypatch, "rejects", rejects)
    _active_channel(cli)
    partial = cli("daemon", "--once")
    assert partial.exit_code == 3, partial.output
    assert "2 run, 0 failed, 1 with failed records" in partial.stdout

    _scheduled_overlay(tmp_path, monkeypatch, "outage", "{type: testmarket.collect, down: true}")
    # Only a new channel, whose first ticks are due now whatever the wall clock says (tm's
    # next ones would be due too if this test straddled a schedule boundary).
    assert cli("channel", "deactivate", "tm").exit_code == 0
    _active_channel(cli, "tm2")  # push, rejects and outage
    stopped = cli("daemon", "--once", "--json")
    assert stopped.exit_code == 1, stopped.output
    assert json.loads(stopped.stdout) == {"enqueued": 3, "runs": 3, "failed": 1, "partial": 1}
