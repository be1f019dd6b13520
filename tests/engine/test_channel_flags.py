"""Feature flags are real: unknown names and flags with no flow behind them are refused;
a misspelled flag stored earlier is reported and can be removed (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pazar.db import Database
from pazar.models.channels import Channel


def flags(cli: Any, slug: str) -> dict[str, Any]:
    result = cli("channel", "show", slug, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["config"]["feature_flags"]


def test_a_misspelled_flag_is_refused_with_a_suggestion(cli: Any) -> None:
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    before = flags(cli, "hb")
    result = cli("channel", "set", "hb", "feature_flags.stok=true")
    assert result.exit_code == 2
    assert "feature_flags.stok: unknown feature flag 'stok'; did you mean 'stock'?" in result.output
    assert "nothing was saved" in result.output
    assert flags(cli, "hb") == before


def test_a_flag_without_a_flow_cannot_be_turned_on(cli: Any, tmp_path: Path) -> None:
    # An overlay that takes the test marketplace's only flagged flow off its flag leaves the
    # flag declared with nothing behind it.
    overlay = tmp_path / "overlay" / "testmarket"
    overlay.mkdir(parents=True)
    shipped = Path(__file__).parents[1] / "testplugin" / "flows" / "testmarket" / "push.yaml"
    (overlay / "push.yaml").write_text(
        shipped.read_text().replace("feature_flag: push\n", "feature_flag: null\n")
    )
    env = {"PAZAR_FLOWS_PATH": str(tmp_path / "overlay")}
    assert cli("channel", "add", "testmarket", "--slug", "tm", env=env).exit_code == 0
    result = cli("channel", "set", "tm", "feature_flags.push=true", env=env)
    assert result.exit_code == 2
    assert "feature_flags.push: no testmarket flow exists yet for this flag" in result.output
    assert flags(cli, "tm")["push"] is False
    # without the overlay the flag has its flow again
    assert cli("channel", "set", "tm", "feature_flags.push=true").exit_code == 0


def test_every_hepsiburada_flag_has_a_flow(cli: Any) -> None:
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    every = sorted(flags(cli, "hb"))
    result = cli("channel", "set", "hb", *(f"feature_flags.{flag}=true" for flag in every))
    assert result.exit_code == 0, result.output
    assert flags(cli, "hb") == dict.fromkeys(every, True)
    listed = cli("flows", "list", "--plugin", "hepsiburada").output
    for flag in every:
        assert flag in listed


def test_the_seeds_own_flag_example_pastes_and_keeps_every_flag(cli: Any) -> None:
    """Seed section 2's example spells delete_product 'send_delete_products' and section 9
    writes 'Reject_refund'; a whole flags object keeps the flags it leaves out, off."""
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    every = sorted(flags(cli, "hb"))
    example = (
        '{"get_orders": true, "get_cancel_orders": true, "get_refund_orders": false, '
        '"send_invoice_link": true, "send_delete_products": true, "Reject_refund": false}'
    )
    result = cli("channel", "set", "hb", f"feature_flags={example}")
    assert result.exit_code == 0, result.output
    now = flags(cli, "hb")
    assert sorted(now) == every
    assert sorted(k for k, on in now.items() if on) == [
        "delete_product",
        "get_cancel_orders",
        "get_orders",
        "listings",  # pazar's own flag, on by default: the dashboard needs no setting
        "send_invoice_link",
    ]
    doc = "channel: hb\nconfig:\n  feature_flags: {Stock: true}\n"
    assert cli("channel", "apply", "-", input=doc).exit_code == 0
    assert flags(cli, "hb")["stock"] is True and sorted(flags(cli, "hb")) == every


def test_apply_checks_flags_the_same_way(cli: Any, tmp_path: Path) -> None:
    doc = tmp_path / "hb.yaml"
    doc.write_text(
        "channel: hb\nplugin: hepsiburada\nconfig:\n  feature_flags: {stock: true, prise: true}\n"
    )
    result = cli("channel", "apply", str(doc))
    assert result.exit_code == 2
    assert "unknown feature flag 'prise'; did you mean 'price'?" in result.output
    assert "no channel" in cli("channel", "show", "hb").output  # nothing was created


def test_a_stored_misspelled_flag_is_reported_and_removed_with_unset(cli: Any) -> None:
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    # as left by a pazar that did not check flags yet
    db = Database(cli.database_url)
    with db.session() as session:
        channel = session.scalar(select(Channel).where(Channel.slug == "hb"))
        channel.config = {**channel.config, "feature_flags": {**channel.config["feature_flags"]}}
        channel.config["feature_flags"]["stok"] = True
    db.dispose()

    # other changes still go through: an old mistake never blocks new work
    assert cli("channel", "set", "hb", "buffer_stock=2").exit_code == 0
    result = cli("channel", "validate", "hb")
    assert result.exit_code == 2
    assert (
        "feature_flags.stok: unknown feature flag 'stok'; did you mean 'stock'?; remove it with "
        "pazar channel set hb --unset feature_flags.stok"
    ) in result.output

    result = cli("channel", "set", "hb", "--unset", "feature_flags.stok")
    assert result.exit_code == 0, result.output
    assert "changed feature_flags" in result.output
    assert "stok" not in flags(cli, "hb")
    assert "stok" not in cli("channel", "validate", "hb").output

    result = cli("channel", "set", "hb", "--unset", "feature_flags.stok")
    assert result.exit_code == 2
    assert "--unset feature_flags.stok: feature_flags has no key 'stok'" in result.output


def test_unset_puts_a_schema_default_back(cli: Any) -> None:
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    assert cli("channel", "set", "hb", "buffer_stock=3").exit_code == 0
    result = cli("channel", "set", "hb", "--unset", "buffer_stock")
    assert result.exit_code == 0, result.output
    shown = json.loads(cli("channel", "show", "hb", "--json").output)["config"]
    assert "buffer_stock" in shown and shown["buffer_stock"] is None
