"""The state commands as an operator uses them: penalties, batches, trigger checks."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from pazar.clock import FixedClock, SystemClock
from pazar.commerce.synthetic import make_channel
from pazar.models.state import FailedIntegration
from pazar.pipeline import Item
from pazar.state.batches import mark_sent, open_batch
from pazar.state.outcomes import Failure, penalize
from pazar.state.triggers import (
    CSV_HEADER_MESSAGE,
)

EXHAUSTING = {
    "failed_integration": {
        "productstock": {"RETRY_INTERVAL": 60, "EXPIRATION_DATE": 600, "MAX_RETRY_COUNT": 1}
    }
}


def seed_penalties(db, clock):
    # the CLI reads the wall clock, so the penalties are recorded "now"
    clock.set(SystemClock().now())
    with db.session() as session:
        channel = make_channel(session, "shop", EXHAUSTING)
        penalize(
            session,
            channel_id=channel.id,
            config=EXHAUSTING,
            now=clock.now(),
            failures=[
                Failure("productstock", 1, "SKU-1", 5, "Stock data not found", "local", run_id=4)
            ],
        )
        penalize(
            session,
            channel_id=channel.id,
            config={},
            now=clock.now(),
            failures=[Failure("productstock", 2, "SKU-2", 6, "timeout", "remote", run_id=4)],
        )
    return channel


def test_penalties_list_shows_status_attempts_and_message(cli, db, clock):
    seed_penalties(db, clock)
    result = cli("penalties", "list", "--channel", "shop", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["sku"]: r for r in json.loads(result.output)}
    assert (
        rows["SKU-1"]["status"] == "exhausted"
        and rows["SKU-1"]["message"] == "Stock data not found"
    )
    assert rows["SKU-2"]["status"] in {"waiting", "due"}
    assert (
        rows["SKU-2"]["retry_count"],
        rows["SKU-2"]["max_retry_count"],
        rows["SKU-2"]["reason_type"],
    ) == (1, 3, "remote")
    exhausted = json.loads(cli("penalties", "list", "--exhausted", "--json").output)
    assert [r["sku"] for r in exhausted] == ["SKU-1"]
    table = cli("penalties", "list", "--content-type", "productstock", env={"COLUMNS": "200"})
    assert "SKU-1" in table.output and "exhausted" in table.output and "1/1" in table.output
    assert "no penalties" in cli("penalties", "list", "--content-type", "order").output
    typo = cli("penalties", "list", "--content-type", "prodcutstock")  # not "no penalties"
    assert typo.exit_code == 2 and "did you mean 'productstock'?" in typo.stderr


def test_release_by_csv_and_by_sku(cli, db, clock, tmp_path: Path):
    seed_penalties(db, clock)
    good = tmp_path / "release.csv"
    good.write_text("sku\nSKU-1\n\nSKU-3\n", encoding="utf-8")
    result = cli(
        "penalties",
        "release",
        "--channel",
        "shop",
        "--content-type",
        "productstock",
        "--csv",
        str(good),
    )
    assert result.exit_code == 0, result.output
    assert "released 1 penalty on shop (productstock)" in result.output
    assert "SKU-3: no penalty on channel shop for content type productstock" in result.output
    listed = {r["sku"]: r["status"] for r in json.loads(cli("penalties", "list", "--json").output)}
    assert listed["SKU-1"] == "released"
    again = cli(
        "penalties",
        "release",
        "--channel",
        "shop",
        "--content-type",
        "productstock",
        "--sku",
        "SKU-2",
    )
    assert again.exit_code == 0 and "released 1 penalty" in again.output


def test_release_csv_with_a_wrong_header_changes_nothing(cli, db, clock, tmp_path: Path):
    seed_penalties(db, clock)
    bad = tmp_path / "bad.csv"
    bad.write_text("SKU_CODE\nSKU-1\n", encoding="utf-8")
    result = cli(
        "penalties",
        "release",
        "--channel",
        "shop",
        "--content-type",
        "productstock",
        "--csv",
        str(bad),
    )
    assert result.exit_code == 2
    assert CSV_HEADER_MESSAGE in result.output and f"{bad}:1" in result.output
    with db.session() as session:
        assert session.scalars(select(FailedIntegration.released_at)).all() == [None, None]


def test_release_errors_name_the_problem(cli, db, clock):
    seed_penalties(db, clock)
    nothing = cli("penalties", "release", "--channel", "shop", "--content-type", "productstock")
    assert nothing.exit_code == 2 and "pass --sku" in nothing.output
    unknown = cli(
        "penalties", "release", "--channel", "shpo", "--content-type", "productstock", "--sku", "A"
    )
    assert unknown.exit_code == 2 and "shop" in unknown.output
    foreign = cli(
        "penalties", "release", "--channel", "shop", "--content-type", "order", "--sku", "SKU-1"
    )
    assert foreign.exit_code == 2
    assert "--content-type 'order': no testmarket flow uses it" in foreign.output
    none = cli(
        "penalties", "release", "--channel", "shop", "--content-type", "productstock", "--sku", "NO"
    )
    assert none.exit_code == 2 and "no penalty released" in none.output


def test_batches_list_and_show(cli, db, clock):
    with db.session() as session:
        channel = make_channel(session, "shop")
        batch = open_batch(
            session,
            channel.id,
            "productstock",
            "testmarket/stock",
            3,
            [Item("SKU-1", {"q": 1}, object_id=1, version=2)],
            clock=clock,
        )
        mark_sent(batch, "HB-REMOTE-7", clock=clock)
        batch_id, local = batch.id, batch.local_batch_id
    listed = json.loads(cli("batches", "list", "--status", "open", "--json").output)
    assert [(b["id"], b["status"], b["remote_batch_id"], b["pending"]) for b in listed] == [
        (batch_id, "sent_to_remote", "HB-REMOTE-7", 1)
    ]
    assert json.loads(cli("batches", "list", "--status", "done", "--json").output) == []
    shown = cli("batches", "show", local, env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "HB-REMOTE-7" in shown.output and "SKU-1" in shown.output
    data = json.loads(cli("batches", "show", str(batch_id), "--json").output)
    assert data["objects"][0]["in_flight"] is True
    bad = cli("batches", "list", "--status", "sent")
    assert bad.exit_code == 2 and "--status 'sent'" in bad.output
    missing = cli("batches", "show", "999")
    assert missing.exit_code == 2 and "no batch request '999'" in missing.output


def test_batches_expire_command(cli, db):
    clock = FixedClock()
    with db.session() as session:
        channel = make_channel(session, "shop")
        batch = open_batch(
            session, channel.id, "productstock", "testmarket/stock", None, [], clock=clock
        )
        mark_sent(batch, "R", clock=clock)
    result = cli("batches", "expire")
    assert result.exit_code == 0 and "1 batch request(s) expired" in result.output


def test_the_sources_are_registered_as_builtin_steps():
    from pazar.plugins import load_plugins

    steps = load_plugins().registry.steps
    for name in (
        "commerce.changed_stocks",
        "commerce.changed_prices",
        "commerce.changed_products",
        "commerce.deleted_products",
    ):
        assert steps[name].kind == "source" and steps[name].plugin
    assert steps["state.skip_unchanged"].kind == "step"
