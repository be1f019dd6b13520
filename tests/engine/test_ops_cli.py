"""Small things that cost operators time, as they see them (SQLite and PostgreSQL):
config history with values, job ids in the logs, filters that say when a value is
misspelled, releasing penalties in bulk, deleting a channel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from pazar.commerce.synthetic import make_channel
from pazar.db import Database
from pazar.models.channels import Channel
from pazar.models.jobs import Job
from pazar.models.runs import Run
from pazar.models.state import FailedIntegration
from pazar.state.outcomes import Failure, penalize

SECRET = "p4ss-very-secret"


def _push_channel(cli: Any) -> None:
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    assert cli("channel", "set", "tm", "feature_flags.push=true").exit_code == 0
    assert cli("channel", "activate", "tm").exit_code == 0


def test_channel_changes_show_old_and_new_values_with_secrets_masked(cli: Any) -> None:
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    assert cli("channel", "set", "tm", f"api_key={SECRET}", "buffer_stock=3").exit_code == 0
    assert (
        cli("channel", "set", "tm", "buffer_stock=5", "api_key=env:PAZAR_SECRET_TM_KEY").exit_code
        == 0
    )

    table = cli("channel", "changes", "tm")
    assert table.exit_code == 0, table.output
    assert SECRET not in table.output
    assert "buffer_stock: 3 → 5" in table.output
    assert "api_key: ******** → env:PAZAR_SECRET_TM_KEY" in table.output
    assert 'api_key: "" → ********' in table.output
    assert "buffer_stock: null → 3" in table.output

    data = json.loads(cli("channel", "changes", "tm", "--json").output)
    assert data[0]["changes"] == [
        {"key": "api_key", "old": "********", "new": "env:PAZAR_SECRET_TM_KEY"},
        {"key": "buffer_stock", "old": 3, "new": 5},
    ]
    # the history itself never stored the secret
    db = Database(cli.database_url)
    with db.session() as session:
        from pazar.models.channels import ConfigChange

        stored = [c.changes for c in session.scalars(select(ConfigChange))]
    db.dispose()
    assert SECRET not in json.dumps(stored)


def test_logs_show_the_job_of_each_run_and_refuse_an_unknown_flow(cli: Any) -> None:
    _push_channel(cli)
    assert cli("daemon", "--once").exit_code == 0
    assert cli("run", "testmarket/push", "--channel", "tm").exit_code == 0
    db = Database(cli.database_url)
    with db.session() as session:
        job_id, run_id = session.execute(
            select(Job.id, Job.run_id).where(Job.run_id.is_not(None))
        ).one()
    db.dispose()

    runs = json.loads(cli("logs", "--json").output)
    by_run = {r["id"]: r["job_id"] for r in runs}
    assert by_run[run_id] == job_id
    assert sorted(by_run.values(), key=str) == [job_id, None]  # `pazar run` has no job
    table = cli("logs")
    assert "job" in table.output.splitlines()[1]
    shown = json.loads(cli("logs", "show", str(run_id), "--json").output)
    assert shown["job_id"] == job_id

    result = cli("logs", "--flow", "testmarket/psh")
    assert result.exit_code == 2
    assert "--flow 'testmarket/psh': no such flow; did you mean 'testmarket/push'?" in result.output
    result = cli("logs", "--flow", "pusj")
    assert result.exit_code == 2 and "did you mean 'push'?" in result.output
    assert cli("logs", "--flow", "push", "--json").exit_code == 0


def test_orders_list_refuses_a_status_no_order_can_have(cli: Any) -> None:
    result = cli("orders", "list", "--status", "canceled")
    assert result.exit_code == 2
    assert "--status 'canceled': not an order status; did you mean 'cancelled'?" in result.output
    result = cli("orders", "list", "--status", "shipped")
    assert result.exit_code == 0 and "no orders" in result.output


def _penalties(db: Database, clock: Any) -> None:
    with db.session() as session:
        channel = make_channel(session, "shop")
        penalize(
            session,
            channel_id=channel.id,
            config={},
            now=clock.now(),
            failures=[
                Failure("productstock", 1, "SKU-1", 5, "no category mapping", "mapping"),
                Failure("productstock", 2, "SKU-2", 6, "no category mapping", "mapping"),
                Failure("productstock", 3, "SKU-3", 7, "ListingNotFound", "remote"),
            ],
        )


def _released(db: Database) -> dict[str, bool]:
    with db.session() as session:
        rows = session.execute(select(FailedIntegration.object_key, FailedIntegration.released_at))
        return {key: when is not None for key, when in rows}


def test_penalties_release_by_reason_or_all(cli: Any, db: Database, clock: Any) -> None:
    _penalties(db, clock)
    result = cli(
        "penalties", "release", "--channel", "shop", "--content-type", "prodctstock", "--all"
    )
    assert result.exit_code == 2
    assert "--content-type 'prodctstock': no testmarket flow uses it; did you mean " in (
        result.output
    )
    result = cli(
        "penalties", "release", "--channel", "shop", "--content-type", "productstock",
        "--reason", "maping",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--reason 'maping': not a reason type; did you mean 'mapping'?" in result.output
    assert _released(db) == {"SKU-1": False, "SKU-2": False, "SKU-3": False}

    result = cli(
        "penalties", "release", "--channel", "shop", "--content-type", "productstock",
        "--reason", "mapping",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "released 2 penalties on shop (productstock, reason mapping)" in result.output
    assert _released(db) == {"SKU-1": True, "SKU-2": True, "SKU-3": False}

    result = cli(
        "penalties", "release", "--channel", "shop", "--content-type", "productstock", "--all",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["released"] == 3
    assert _released(db) == {"SKU-1": True, "SKU-2": True, "SKU-3": True}

    both = cli(
        "penalties", "release", "--channel", "shop", "--content-type", "productstock", "--all",
        "--sku", "SKU-1",
    )  # fmt: skip
    assert both.exit_code == 2 and "not both" in both.output


def test_channel_delete_says_what_goes_and_needs_yes(cli: Any) -> None:
    _push_channel(cli)
    assert cli("run", "testmarket/push", "--channel", "tm").exit_code == 0
    result = cli("channel", "delete", "tm")
    assert result.exit_code == 2
    assert "deleting channel 'tm' removes: " in result.output
    assert "runs: 1" in result.output and "config_changes: " in result.output
    assert "nothing was deleted: run again with --yes" in result.output
    assert "tm" in cli("channel", "list").output

    result = cli("channel", "delete", "tm", "--yes")
    assert result.exit_code == 0, result.output
    assert "deleted channel tm" in result.output and "removed runs: 1" in result.output
    db = Database(cli.database_url)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Channel)) == 0
        assert session.scalar(select(func.count()).select_from(Run)) == 0
    db.dispose()


def test_channel_delete_is_refused_while_its_jobs_run(cli: Any) -> None:
    _push_channel(cli)
    db = Database(cli.database_url)
    with db.session() as session:
        channel = session.scalar(select(Channel))
        now = channel.created_at
        session.add(
            Job(
                channel_id=channel.id,
                flow="testmarket/push",
                trigger="manual",
                status="running",
                payload={},
                not_before=now,
                created_at=now,
                started_at=now,
            )
        )
    result = cli("channel", "delete", "tm", "--yes")
    assert result.exit_code == 1
    assert "channel 'tm' has 1 running job(s) (job 1 testmarket/push)" in result.output
    assert "pazar channel deactivate tm" in result.output
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Channel)) == 1
    db.dispose()


@pytest.mark.parametrize(
    ("current", "new", "refused"),
    [
        ("delivered", "shipped", "order O-1 is delivered: its status cannot go back to shipped"),
        ("shipped", "new", "order O-1 is shipped: its status cannot go back to new"),
        ("cancelled", "preparing", "order O-1 is cancelled: its status cannot change any more"),
        ("refunded", "refunded", None),
        ("delivered", "undelivered", None),  # the carrier's last word, not a step back
        ("preparing", "cancelled", None),
        ("new", "shipped", None),
    ],
)
def test_an_order_status_never_steps_back(current: str, new: str, refused: str | None) -> None:
    from pazar.commerce.order_updates import backwards_status
    from pazar.models.commerce import Order

    said = backwards_status(Order(number="O-1", status=current), new)
    assert (said or "").startswith(refused or "") and bool(said) == bool(refused)
