"""Listings snapshot, dashboard, reports and reconciliation end to end: the Hepsiburada
sandbox over real HTTP, prices and stocks changed on the marketplace side."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.models.ops import ListingRead, ListingSnapshot
from pazar.ops.dashboard import dashboards, history
from tests.hepsiburada.helpers import ChannelFlows, SandboxHandle, sleepless_plugins

pytest_plugins = ("tests.hepsiburada.helpers",)

SKUS = ["HB-1", "HB-2", "HB-3", "HB-4"]


class World(ChannelFlows):
    """Channel ``hb`` on the sandbox: four SKUs listed, HB-5 saleable but never listed."""

    def __init__(
        self, db: Database, sandbox: SandboxHandle, clock: FixedClock, tmp: Path, **config: Any
    ) -> None:
        self.db, self.sandbox, self.clock = db, sandbox, clock
        self.registry = sleepless_plugins(lambda _channel: self.config).registry
        self.flows = load_flows(self.registry)
        sandbox.seed(listings=[{"merchantSku": sku} for sku in SKUS])
        every = [*SKUS, "HB-5"]
        files = {
            "products": "sku,name,categories,images\n"
            + "".join(f'{s},{s},"[""A""]",https://img/{s}.jpg\n' for s in every),
            "prices": "sku,price\n" + "".join(f"{s},{100 + i}.50\n" for i, s in enumerate(every)),
            "stocks": "sku,quantity\n" + "".join(f"{s},{i + 5}\n" for i, s in enumerate(every)),
            "catalog_items": "catalog,sku\n" + "".join(f"hb,{s}\n" for s in every),
        }
        with db.session() as session:
            for kind, text in files.items():
                path = tmp / f"{kind}.csv"
                path.write_text(text)
                import_file(session, kind, path)
        self.config = sandbox.config(
            category_ids=[60001001],
            default_reason_id=1,
            cancellation_reason_id=1,
            cargo_company_mapping={"default": 1},
            feature_flags={"stock": True, "price": True, "listings": True},
            catalog_code="hb",
            buffer_stock=2,
            **config,
        )
        with db.session() as session:
            ChannelService(session, self.registry, clock=clock).apply(
                {
                    "channel": "hb",
                    "plugin": "hepsiburada",
                    "config": self.config,
                    "status": "active",
                }
            )

    def change_listings(self, *changes: dict[str, Any]) -> None:
        response = self.sandbox.http.post("/_sandbox/listings", json={"listings": list(changes)})
        assert response.status_code == 200, response.text

    def board(self) -> dict[str, Any]:
        with self.db.session() as session:
            return dashboards(session, "hb")[0].as_dict()

    def listings(self) -> Any:
        self.clock.advance(60)
        return self.run("listings")

    def push(self) -> None:
        """The normal stock and price flows with their upload checks, a minute later."""
        self.clock.advance(60)
        self.sync("stock")
        self.sync("price")


@pytest.fixture
def world(db: Database, hb_sandbox: SandboxHandle, clock: FixedClock, tmp_path: Path) -> World:
    return World(db, hb_sandbox, clock, tmp_path)


NUMBERS_IN_SYNC = {
    "total_skus": 5,
    "skus_on_sale": 4,
    "sku_difference": 1,  # HB-5: saleable, never listed
    "price_differences": 0,
    "total_stock": 5 + 6 + 7 + 8 + 9,
    "stock_on_sale": 3 + 4 + 5 + 6,  # stocks minus buffer_stock 2
    "stock_difference": 9,
    "stock_differences": 0,
}


def numbers(board: dict[str, Any]) -> dict[str, Any]:
    return {k: board[k] for k in NUMBERS_IN_SYNC}


def test_marketplace_side_changes_are_seen_reported_and_corrected(world: World) -> None:
    world.push()
    world.listings()
    assert numbers(world.board()) == NUMBERS_IN_SYNC

    # Someone changes a price and a stock in Hepsiburada's panel.
    world.change_listings(
        {"merchantSku": "HB-1", "price": 90},
        {"merchantSku": "HB-2", "availableStock": 50},
    )
    result = world.listings()
    board = world.board()
    assert numbers(board) == {
        **NUMBERS_IN_SYNC,
        "price_differences": 1,
        "stock_differences": 1,
        "stock_on_sale": NUMBERS_IN_SYNC["stock_on_sale"] - 4 + 50,
    }
    assert board["corrections"] == {"price": 1, "stock": 1}
    with world.db.session() as session:
        from pazar.models.runs import RunLog

        lines = session.scalars(select(RunLog.message).where(RunLog.run_id == result.run_id)).all()
    assert "price correction queued: pazar 100.50, marketplace 90.00" in lines
    assert "stock correction queued: pazar 4, marketplace 50" in lines

    # The next stock and price runs send the two records again, and only them.
    before_stock = world.sandbox.received("stock")["count"]
    before_price = world.sandbox.received("price")["count"]
    world.push()
    assert world.sandbox.received("stock")["count"] == before_stock + 1
    assert world.sandbox.received("price")["count"] == before_price + 1
    listed = world.sandbox.listings()
    assert listed["HB-1"]["price"] == 100.5
    assert listed["HB-2"]["availableStock"] == 4

    world.listings()
    assert numbers(world.board()) == NUMBERS_IN_SYNC
    with world.db.session() as session:
        trend = history(session, world.channel().id)
    assert [row["price_differences"] for row in trend] == [0, 1, 0]
    assert [row["corrections"] for row in trend] == [
        {"price": 0, "stock": 0},
        {"price": 1, "stock": 1},
        {"price": 0, "stock": 0},
    ]


def test_report_only_leaves_differences_alone(
    db: Database, hb_sandbox: SandboxHandle, clock: FixedClock, tmp_path: Path
) -> None:
    world = World(db, hb_sandbox, clock, tmp_path, reconciliation={"auto_correct": False})
    world.push()
    world.change_listings({"merchantSku": "HB-1", "price": 90})
    world.listings()
    assert world.board()["price_differences"] == 1
    assert world.board()["corrections"] == {"price": 0, "stock": 0}
    world.push()
    world.listings()
    assert world.board()["price_differences"] == 1  # nobody corrected it


def test_corrections_are_bounded_per_run(
    db: Database, hb_sandbox: SandboxHandle, clock: FixedClock, tmp_path: Path
) -> None:
    world = World(db, hb_sandbox, clock, tmp_path, reconciliation={"max_corrections": 2})
    world.push()
    world.change_listings(*({"merchantSku": s, "price": 1} for s in SKUS))
    world.listings()
    assert world.board()["price_differences"] == 4
    assert world.board()["corrections"]["price"] == 2
    world.push()
    world.listings()
    assert world.board()["price_differences"] == 2  # the first two were corrected
    assert world.board()["corrections"]["price"] == 2
    world.push()
    world.listings()
    assert world.board()["price_differences"] == 0


def test_a_change_in_flight_is_not_fought(world: World) -> None:
    world.push()
    world.change_listings({"merchantSku": "HB-3", "availableStock": 99})
    world.sandbox.faults(stuck_uploads=1)
    from pazar.commerce.local import set_stock

    with world.db.session() as session:
        set_stock(session, "HB-3", 1)  # a real change, uploaded but not answered yet
    world.clock.advance(60)
    world.run("stock")
    world.listings()
    assert world.board()["stock_differences"] == 1
    assert world.board()["corrections"]["stock"] == 0  # in flight: not queued again


def test_a_failed_read_never_replaces_the_snapshot(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.push()
    world.listings()
    from pazar.errors import PazarError
    from pazar_hepsiburada.client import HepsiburadaClient

    def broken(self: Any, **_: Any) -> Any:
        for n in range(1500):  # more than a batch is written, then the connection dies
            yield {"merchantSku": f"X-{n}", "price": 1, "availableStock": 1}
        raise PazarError("Hepsiburada GET /listings: connection reset")

    with monkeypatch.context() as patch:
        patch.setattr(HepsiburadaClient, "listings", broken)
        world.clock.advance(60)
        failed = world.attempt("listings")
    assert failed.status == "error"
    assert numbers(world.board()) == NUMBERS_IN_SYNC  # still the last complete read
    with world.db.session() as session:
        statuses = session.scalars(select(ListingRead.status).order_by(ListingRead.id)).all()
    assert statuses == ["complete", "reading"]
    world.listings()
    with world.db.session() as session:
        statuses = session.scalars(select(ListingRead.status).order_by(ListingRead.id)).all()
        rows = session.scalar(select(func.count()).select_from(ListingSnapshot))
    assert statuses == ["replaced", "abandoned", "complete"]
    assert rows == 4  # only the new snapshot's rows are kept


def test_a_limited_run_leaves_the_snapshot_as_it_was(world: World) -> None:
    world.push()
    world.listings()
    world.clock.advance(60)
    result = world.attempt("listings", limit=2)
    assert result.status == "success"
    assert world.board()["snapshot_listings"] == 4
    with world.db.session() as session:
        statuses = session.scalars(select(ListingRead.status).order_by(ListingRead.id)).all()
    assert statuses == ["complete", "abandoned"]


def test_listings_are_read_in_pages_with_limit(world: World) -> None:
    world.sandbox.seed(listings=[{"merchantSku": f"X-{n}"} for n in range(1200)])
    world.listings()
    pages = world.sandbox.requests("/listings/merchantid/")
    assert len(pages) == 3
    assert all("limit=500" in (r.get("query") or "") for r in pages)
    assert world.board()["snapshot_listings"] == 1204


def read_report(world: World, name: str, fmt: str = "json") -> Any:
    from pazar.ops.reports import write_report

    out = io.BytesIO()
    with world.db.session() as session:
        channel = ChannelService(session, world.registry, clock=world.clock).get("hb")
    write_report(world.db, channel, name, fmt, out)
    text = out.getvalue().decode()
    return json.loads(text) if fmt == "json" else list(csv.DictReader(io.StringIO(text)))


def test_reports_name_every_difference_and_why(world: World) -> None:
    world.push()
    world.change_listings(
        {"merchantSku": "HB-1", "price": 90},
        {"merchantSku": "HB-2", "availableStock": 50},
        {"merchantSku": "HB-4", "isSalable": False, "deactivationReasons": ["NoStock"]},
    )
    world.listings()
    prices = read_report(world, "price_differences")
    assert prices == [
        {
            "sku": "HB-1",
            "name": "HB-1",
            "pazar_price": "100.50",
            "marketplace_price": "90.00",
            "listing_status": "on_sale",
            "state": "correction_queued",
            "detail": "",
        }
    ]
    stocks = read_report(world, "stock_differences", "csv")
    assert stocks == [
        {
            "sku": "HB-2",
            "name": "HB-2",
            "pazar_stock": "6",
            "expected_stock": "4",
            "marketplace_stock": "50",
            "listing_status": "on_sale",
            "state": "correction_queued",
            "detail": "",
        }
    ]
    missing = read_report(world, "not_listed")
    assert [(r["sku"], r["reason"]) for r in missing] == [
        ("HB-4", "not_salable"),
        ("HB-5", "penalised"),  # its stock and price were rejected: no such listing
    ]
    assert missing[0]["detail"] == "not salable: NoStock"
    assert missing[1]["detail"].startswith("productprice: ListingNotFound")


def test_a_penalised_price_is_left_to_its_penalty(world: World) -> None:
    world.sandbox.faults(price_bands={"HB-2": {"min": 500, "max": 900}})
    world.push()
    assert world.penalties()["HB-2"].content_type == "productprice"
    world.listings()
    assert world.board()["price_differences"] == 1  # HB-2 never got its price
    assert world.board()["corrections"]["price"] == 0
    (row,) = read_report(world, "price_differences")
    assert (row["sku"], row["state"]) == ("HB-2", "penalised")
    assert row["detail"] == world.penalties()["HB-2"].message
