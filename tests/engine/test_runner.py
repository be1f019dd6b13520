"""Running flows by hand: counts, statuses, the run log, dry runs, limits."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from pazar.db import Database
from pazar.models.runs import Run, RunLog


def _channel(cli, *settings: str) -> None:  # noqa: ANN001
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    assert cli("channel", "set", "tm", "feature_flags.push=true", *settings).exit_code == 0
    assert cli("channel", "activate", "tm").exit_code == 0


def _runs(url: str) -> list[Run]:
    db = Database(url)
    try:
        with db.session() as session:
            runs = list(session.scalars(select(Run).order_by(Run.id)))
            session.expunge_all()
            return runs
    finally:
        db.dispose()


def test_run_writes_a_run_row_with_exact_counts(cli, db_url) -> None:  # noqa: ANN001
    _channel(cli, "buffer_stock=1")
    result = cli("run", "testmarket/push", "--channel", "tm")
    assert result.exit_code == 0, result.output
    # quantity = i % 7 for i in 0..24, minus 1 buffer: 0 and 1 → 0 stock → skipped (8 records)
    assert "read 25  sent 17  succeeded 17  failed 0  skipped 8" in result.output
    (run,) = _runs(db_url)
    assert (run.status, run.read, run.sent, run.succeeded, run.failed, run.skipped) == (
        "success",
        25,
        17,
        17,
        0,
        8,
    )
    assert run.finished_at is not None and run.duration_ms is not None


def test_rejected_records_make_a_partial_run_and_are_logged(cli, db_url) -> None:  # noqa: ANN001
    _channel(cli)
    result = cli("run", "testmarket/picky", "--channel", "tm", "--force", "--json")
    data = json.loads(result.output)
    assert (data["status"], data["succeeded"], data["failed"]) == ("partial", 20, 10)
    assert result.exit_code == 3  # finished, some records failed (docs/runs.md)
    shown = cli("logs", "show", str(data["run_id"]), "--level", "error", "--json")
    entries = json.loads(shown.output)["entries"]
    assert len(entries) == 10
    assert entries[0] == {
        "object_id": "SKU-2",
        "level": "error",
        "message": "remote: rejected by testmarket",
        "created_at": entries[0]["created_at"],
    }


def test_a_marketplace_outage_fails_the_run_and_penalises_no_record(cli) -> None:  # noqa: ANN001
    _channel(cli)
    data = json.loads(cli("run", "testmarket/down", "--channel", "tm", "--force", "--json").output)
    assert (data["status"], data["failed"]) == ("failed", 0)
    assert data["error"] == "testmarket is down (HTTP 503)"
    penalties = json.loads(cli("penalties", "list", "--channel", "tm", "--json").output)
    assert penalties == [] or penalties.get("penalties") == []


def test_a_broken_source_ends_the_run_in_error_exit_1(cli, db_url) -> None:  # noqa: ANN001
    _channel(cli)
    result = cli("run", "testmarket/broken", "--channel", "tm", "--force")
    assert result.exit_code == 1
    assert "error: RuntimeError: generator broke at record 15" in result.output
    assert "Traceback" not in result.output
    (run,) = _runs(db_url)
    assert (run.status, run.read, run.succeeded) == ("error", 10, 10)
    assert run.error == "RuntimeError: generator broke at record 15"


def test_dry_run_prints_payloads_and_writes_nothing(cli, db_url) -> None:  # noqa: ANN001
    _channel(cli)
    result = cli("run", "testmarket/push", "--channel", "tm", "--dry-run", "--limit", "4")
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines == [
        {"sku": "SKU-1", "stock": 1},
        {"sku": "SKU-2", "stock": 2},
        {"sku": "SKU-3", "stock": 3},
    ]
    assert _runs(db_url) == []
    db = Database(db_url)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(RunLog)) == 0
    db.dispose()


def test_limit_reads_at_most_n_records(cli, db_url) -> None:  # noqa: ANN001
    _channel(cli)
    assert cli("run", "testmarket/push", "--channel", "tm", "--limit", "5").exit_code == 0
    assert _runs(db_url)[0].read == 5


def test_inactive_channel_or_flag_off_is_refused_with_how_to_fix(cli, db_url) -> None:  # noqa: ANN001
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    result = cli("run", "testmarket/push", "--channel", "tm")
    assert result.exit_code == 1
    assert "pazar channel activate tm" in result.output
    cli("channel", "activate", "tm")
    result = cli("run", "testmarket/push", "--channel", "tm")
    assert "pazar channel set tm feature_flags.push=true" in result.output
    assert _runs(db_url) == []


def test_unknown_flow_or_channel_names_the_nearest(cli) -> None:  # noqa: ANN001
    _channel(cli)
    result = cli("run", "testmarket/pussh", "--channel", "tm")
    assert result.exit_code == 2 and "did you mean" in result.output
    result = cli("run", "testmarket/push", "--channel", "tmm")
    assert result.exit_code == 2 and "tm" in result.output


def test_logs_lists_runs_newest_first_with_filters(cli) -> None:  # noqa: ANN001
    _channel(cli)
    cli("run", "testmarket/push", "--channel", "tm")
    cli("run", "testmarket/picky", "--channel", "tm", "--force")
    runs = json.loads(cli("logs", "--json").output)
    assert [r["flow"] for r in runs] == ["testmarket/picky", "testmarket/push"]
    partial = json.loads(cli("logs", "--status", "partial", "--json").output)
    assert [r["flow"] for r in partial] == ["testmarket/picky"]
    pushed = json.loads(cli("logs", "--flow", "push", "--since", "1h", "--json").output)
    assert [r["flow"] for r in pushed] == ["testmarket/push"]
    assert cli("logs", "--since", "yesterday").exit_code == 2
    too_far = cli("logs", "--since", "99999999999d")  # once an OverflowError and a traceback
    assert too_far.exit_code == 2 and "further back than a date can be" in too_far.stderr
    assert cli("logs", "show", "999").exit_code == 2
    table = cli("logs", "--channel", "tm")
    assert "picky" in table.output
