"""Fashfed's listings flow end to end over real HTTP: which SKUs Fashfed has becomes the
channel's listings snapshot, and an operator sees the dashboard and the not-listed report
from it.  Fashfed's product list (PRD102) shows no price and no stock, so the numbers and
reports that need them say "not available for Fashfed" instead of a zero, and
reconciliation corrects nothing it cannot see."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from pazar.models.ops import ListingRead, ReconcileCorrection
from pazar_fashfed import api
from pazar_fashfed.sandbox_state import TOKEN
from tests.fashfed.world import World

pytest_plugins = ("tests.fashfed.world",)

NOT_AVAILABLE = "not available for Fashfed"


def ok(world: World, *args: str) -> str:
    result = world.cli(*args)
    assert result.exit_code == 0, result.output
    return result.output


def on_fashfed(world: World, rejected: str = "FF-3") -> None:
    """Products sent through the Product flow; Fashfed refuses ``rejected``."""
    world.catalog()
    world.sandbox.faults(reject_skus={rejected: "base_code: This field is required."})
    world.sync("product")
    ok(world, "channel", "set", "ff", "feature_flags.listings=true")


def test_the_sandbox_serves_products_as_prd102_documents_them(world: World) -> None:
    on_fashfed(world)
    with httpx.Client(base_url=world.sandbox.url, headers={"Authorization": TOKEN}) as http:
        page = http.get(api.PRODUCTS_PATH, params={"page": 1, "limit": 2}).json()
    assert set(page) == set(api.PAGE_KEYS) and page["count"] == 3
    assert page["next"].startswith(world.sandbox.url) and len(page["results"]) == 2
    for product in page["results"]:
        assert set(product) == set(api.PRODUCT_FIELDS)  # no price, no stock


def test_dashboard_and_not_listed_report_after_the_listings_flow(world: World) -> None:
    before = ok(world, "dashboard", "--channel", "ff")
    assert "run `pazar run fashfed/listings --channel ff`" in before
    on_fashfed(world)

    ok(world, "run", "fashfed/listings", "--channel", "ff")
    read = world.sandbox.requests(api.PRODUCTS_PATH)[-1]
    assert (read["method"], read["path"]) == ("GET", api.PRODUCTS_PATH)
    assert read["query"] == "page=1&limit=100"

    shown = ok(world, "dashboard", "--channel", "ff")
    board = json.loads(ok(world, "dashboard", "--channel", "ff", "--json"))[0]
    assert board["total_skus"] == 4
    assert board["skus_on_sale"] == 3  # FF-1, FF-2, FF-4 are on Fashfed
    assert board["sku_difference"] == 1  # FF-3: refused by Fashfed
    assert board["total_stock"] == 1 + 2 + 3 + 4
    assert board["stock_difference"] == 3  # FF-3's stock
    for name in ("price_differences", "stock_on_sale", "stock_differences"):
        assert board[name] is None, name  # unknown, never zero
        assert board["unavailable"][name].startswith(NOT_AVAILABLE + ": its product list")
    assert "no price field" in board["unavailable"]["price_differences"]
    assert "no stock field" in board["unavailable"]["stock_differences"]
    assert board["snapshot_listings"] == 3

    # What the operator reads in the table: numbers, and the price and stock rows not available.
    for title, value in (
        ("Total SKU in catalog", "4"),
        ("Number of SKUs on sale", "3"),
        ("Total SKU difference", "1"),
        ("Number of SKUs with price differences (corrected)", NOT_AVAILABLE),
        ("Total stock in catalog", "10"),
        ("Total stock on sale", NOT_AVAILABLE),
        ("Total stock difference", "3"),
        ("Number of SKUs with stock differences", NOT_AVAILABLE),
    ):
        line = next(line for line in shown.splitlines() if title in line)
        cells = [cell.strip() for cell in line.replace("|", "│").split("│") if cell.strip()]
        assert cells[-1] == value, (title, line)
    assert "4: not available for Fashfed: its product list" in shown
    assert "6, 8: not available for Fashfed: its product list" in shown
    assert "(3 listings)" in shown and "no price or stock differences can be seen" in shown

    report = ok(world, "reports", "not_listed", "--channel", "ff", "--format", "json")
    rows_json = json.loads(report[: report.rindex("]") + 1])
    assert [(r["sku"], r["reason"], r["detail"]) for r in rows_json] == [
        ("FF-3", "penalised", "base_code: This field is required.")
    ]
    assert rows_json[0]["stock"] == 3 and rows_json[0]["price"] == "102.50"

    for name, kind in (("price_differences", "price"), ("stock_differences", "stock")):
        refused = world.cli("reports", name, "--channel", "ff")
        assert refused.exit_code == 1
        assert f"{name} of channel 'ff': {NOT_AVAILABLE}: " in refused.output
        assert f"has no {kind} field" in refused.output


def test_reconciliation_corrects_nothing_it_cannot_see(world: World) -> None:
    on_fashfed(world)
    result = world.run("listings")
    assert result.status == "success", result.error
    with world.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ReconcileCorrection)) == 0
        read = session.scalars(select(ListingRead)).one()
        assert read.status == "complete" and read.listings == 3
        assert set(read.unavailable or {}) == {"price", "stock"}
    log = ok(world, "logs", "show", str(result.run_id))
    assert "dashboard: 3 of 4 SKUs on sale, 1 saleable not on sale" in log
    assert "nothing to correct: neither prices nor stocks are shown" in log
    assert "correction queued" not in log


def test_the_web_dashboard_says_not_available_for_fashfed(world: World) -> None:
    from pazar.http_trigger import create_app
    from pazar.web.auth import add_user
    from tests.web.conftest import Client

    on_fashfed(world)
    ok(world, "run", "fashfed/listings", "--channel", "ff")
    with world.db.session() as session:
        add_user(session, "viewer", "viewer-password-1", "viewer", now=world.clock.now())
    browser = Client(create_app(world.db, world.registry, clock=world.clock, hook=world.hook))
    browser.get("/ui/login")
    login = {"username": "viewer", "password": "viewer-password-1", "next": ""}
    assert browser.post("/ui/login", login).status_code == 303
    page = browser.get("/ui/dashboard?channel=ff").text
    assert page.count(f'<span class="value na" title="{NOT_AVAILABLE}: its product list') == 3
    assert page.count(f">{NOT_AVAILABLE}</span>") == 3
