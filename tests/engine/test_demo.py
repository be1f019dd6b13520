"""`pazar demo` — the README's main job — runs both marketplaces side by side from one
catalog and one daemon, end to end, and says what happened per marketplace and flow."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from pazar.cli import cli
from pazar.testing import empty_database


def test_demo_syncs_a_catalog_with_the_sandbox(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--products", "200", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    flows = {row["flow"]: row for row in summary["flows"]}
    # the category tree and attributes were pulled once, by the config change
    assert flows["hepsiburada/category_node"]["runs"] == 1
    assert flows["hepsiburada/category_attributes"]["failed"] == 0
    # products the sample mapping cannot place (unmapped category, missing size) are
    # penalised for mapping; the others are created and matched
    create = flows["hepsiburada/product_create"]
    assert (create["read"], create["succeeded"], create["failed"], create["penalized"]) == (
        200,
        172,
        28,
        28,
    )
    # second round: renamed products are updated, removed ones get stock 0
    assert flows["hepsiburada/product_update"]["succeeded"] == 5
    assert flows["hepsiburada/product_delete"]["succeeded"] == 5
    stock, price = flows["hepsiburada/stock"], flows["hepsiburada/price"]
    # the stocks and prices of the 28 products never created wait for them, unpenalised:
    # nothing is sent for a product Hepsiburada does not have
    assert stock["runs"] == 2 and stock["read"] >= 172 and stock["failed"] == 0
    assert stock["penalized"] == 0
    # ... and the sandbox rejects two prices outside their band, on purpose
    assert price["failed"] == price["penalized"] == 2
    why = summary["held_back"]["hepsiburada"]
    assert any(line.startswith("28 product penalised (mapping)") for line in why)
    assert any(line.startswith("2 productprice penalised (remote)") for line in why)
    assert "28 productstock records wait (not penalised) for their product" in " ".join(why)
    assert "28 productprice records wait (not penalised) for their product" in " ".join(why)
    assert summary["open_batches"] == 0
    assert (tmp_path / "pazar-demo.db").exists()
    assert summary["channels"] == {"fashfed": "demo-fashfed", "hepsiburada": "demo-hepsiburada"}
    # the listings flows (on by default) ran after the uploads were confirmed: the dashboard
    # shows the 172 created SKUs on sale and no differences left; Fashfed shows SKUs only
    boards = {board["channel"]: board for board in summary["dashboard"]}
    hb, ff = boards["demo-hepsiburada"], boards["demo-fashfed"]
    assert hb["skus_on_sale"] == 172 and hb["total_skus"] == 194  # 200, every 30th removed
    assert (hb["price_differences"], hb["stock_differences"]) == (0, 0)
    assert ff["price_differences"] is None and ff["stock_on_sale"] is None
    assert ff["unavailable"]["price_differences"].startswith("not available for Fashfed: ")
    # twelve paid orders, four packaged by the channel's Automatic Packing first, arrive once
    orders = flows["hepsiburada/get_orders"]
    assert (orders["runs"], orders["read"], orders["succeeded"], orders["failed"]) == (2, 12, 12, 0)
    listed = CliRunner(env={"PAZAR_DATABASE_URL": f"sqlite:///{tmp_path / 'pazar-demo.db'}"})
    shown = json.loads(
        listed.invoke(cli, ["orders", "list", "--channel", "demo-hepsiburada", "--json"]).stdout
    )
    # twelve orders, one of them split into two packages by the order story
    assert len(shown) == 13 and all(o["number"].startswith("HB-51000") for o in shown)
    assert {o["status"] for o in shown} >= {"shipped", "cancelled", "preparing"}
    story = summary["orders"]["hepsiburada"]
    assert story[0].startswith("9 orders invoiced and shipped")
    assert any("cancelled by the customer → items cancelled" in line for line in story)
    assert any("one line cancelled by the seller" in line for line in story)
    assert any(line.endswith("approved → request approved") for line in story)
    assert any("rejected with a photo → request rejected" in line for line in story)
    assert any("package split into" in line for line in story)
    for flow in (
        "send_update_orders",
        "send_cancel_order_items",
        "approve_refund",
        "reject_refund",
    ):
        tally = flows[f"hepsiburada/{flow}"]
        assert tally["failed"] == 0 and tally["succeeded"] >= 1, flow


def test_fashfed_plays_beside_hepsiburada_from_the_same_catalog(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--products", "200", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    flows = {row["flow"]: row for row in summary["flows"]}
    # one row per (marketplace, flow); both channels sell the one demo catalog
    assert {ref.split("/")[0] for ref in flows} == {"fashfed", "hepsiburada"}
    assert flows["fashfed/product"]["read"] == flows["hepsiburada/product_create"]["read"] == 200
    # Fashfed's sample mapping places clothes only: mugs and headphones (and garments
    # without a size) are penalised for mapping; their stocks wait for them, unpenalised
    product, stock = flows["fashfed/product"], flows["fashfed/stock"]
    assert (product["succeeded"], product["failed"], product["penalized"]) == (132, 68, 68)
    assert (stock["failed"], stock["penalized"]) == (0, 0)
    assert flows["fashfed/product_delete"]["succeeded"] == 5
    why = " ".join(summary["held_back"]["fashfed"])
    assert "68 product penalised (mapping)" in why
    assert "68 productstock records wait (not penalised) for their product" in why
    assert summary["open_batches"] == 0
    orders = flows["fashfed/get_orders"]
    assert (orders["read"], orders["succeeded"], orders["failed"]) == (10, 10, 0)
    story = summary["orders"]["fashfed"]
    assert story[0].startswith("7 orders invoiced and shipped")
    assert any("cancelled by the customer → items cancelled" in line for line in story)
    assert any(line.endswith("approved → request approved") for line in story)
    assert any("package split into" in line for line in story)
    for flow in (
        "send_update_orders",
        "send_cancel_order_items",
        "approve_refund",
        "reject_refund",
        "get_refund_orders",
        "split_packages",
    ):
        tally = flows[f"fashfed/{flow}"]
        assert tally["failed"] == 0 and tally["succeeded"] >= 1, flow
    listed = CliRunner(env={"PAZAR_DATABASE_URL": f"sqlite:///{tmp_path / 'pazar-demo.db'}"})
    shown = json.loads(
        listed.invoke(cli, ["orders", "show", "FD-FF700003-3100000003", "--json"]).stdout
    )
    assert shown["status"] == "shipped" and shown["invoice_number"] == "INV-3100000003"


def test_one_marketplace_alone_and_an_unknown_one_refused(tmp_path: Path) -> None:
    alone = CliRunner().invoke(
        cli, ["demo", "--products", "20", "--marketplace", "fashfed", "--json"]
    )
    assert alone.exit_code == 0, alone.output
    summary = json.loads(alone.stdout)
    assert summary["channels"] == {"fashfed": "demo-fashfed"}
    assert {row["flow"].split("/")[0] for row in summary["flows"]} == {"fashfed"}
    wrong = CliRunner().invoke(cli, ["demo", "--marketplace", "fashfet"])
    assert wrong.exit_code == 2
    assert "--marketplace 'fashfet': no sandbox demo; did you mean 'fashfed'?" in wrong.output


def test_demo_prints_a_table_and_where_to_look_next(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--products", "20"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "hepsiburada/stock" in result.stdout and "fashfed/stock" in result.stdout
    assert "pazar penalties list --channel demo-fashfed" in result.stdout
    assert "pazar orders list" in result.stdout
    assert "The order story on fashfed (demo-fashfed):" in result.stdout
    assert "The order story on hepsiburada (demo-hepsiburada):" in result.stdout


def test_a_password_in_the_database_url_is_never_printed(pg_url: str) -> None:
    """The summary and the "where to look next" commands name the database, not its password
    (the test server trusts any password)."""
    secret = pg_url.replace("://postgres@", "://postgres:Sekret-42@", 1)
    assert "Sekret-42" in secret
    demo = ["demo", "--products", "20", "--marketplace", "fashfed", "--database", secret]
    as_json = CliRunner().invoke(cli, [*demo, "--json"], catch_exceptions=False)
    assert as_json.exit_code == 0, as_json.output
    assert "Sekret-42" not in as_json.output
    assert json.loads(as_json.stdout)["database"].startswith("postgresql://postgres:***@")
    again = CliRunner().invoke(cli, demo, catch_exceptions=False)  # the same database again
    assert again.exit_code == 2
    assert "Sekret-42" not in again.output
    assert (
        "--database postgresql://postgres:***@127.0.0.1:5432/test?options=" in again.output
        and "the demo needs an empty database, and this one already holds data (products: 20, "
        "channels: 1)"
        in again.output
    )
    empty_database(pg_url)
    text = CliRunner().invoke(cli, demo, catch_exceptions=False)
    assert text.exit_code == 0, text.output
    assert "Sekret-42" not in text.output
    assert "PAZAR_DATABASE_URL=postgresql://postgres:***@" in text.output
