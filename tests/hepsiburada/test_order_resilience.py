"""The order side when things go wrong: a 5xx in the middle of a paged read or a batch of
calls loses nothing and sends nothing twice (one test per flow family); a package that
cannot become an order is parked by its package number and released by hand; addresses
are matched folded and an unknown place fails with the seed's message (issue 13 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.db import Database
from pazar.models.commerce import Address, CancellationRequest, Order
from pazar.testing import Cli
from tests.hepsiburada.helpers import SandboxHandle
from tests.hepsiburada.test_order_flows import Store

pytest_plugins = ("tests.hepsiburada.helpers",)


@pytest.fixture
def store(db: Database, hb_sandbox: SandboxHandle, clock: FixedClock, tmp_path: Path) -> Store:
    return Store(db, hb_sandbox, clock, tmp_path)


def _count(store: Store, model: type, *where: object) -> int:
    with store.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_5xx_in_the_middle_of_the_claims_loses_and_repeats_nothing(store: Store) -> None:
    numbers = [str(8000 + n) for n in range(130)]
    packages = store.imported(*numbers)
    for n in numbers:
        store.sandbox.claim(packages[n]["items"][0]["lineItemId"], reason="PoorQuality")
    # The second page of claims (offset 100) fails: the first hundred are stored by then.
    store.sandbox.faults(http_error={"status": 503, "path": "/claims/", "after": 1, "count": 5})

    broken = store.attempt("get_refund_orders")

    assert broken.status == "failed" and broken.succeeded == 100
    assert _count(store, CancellationRequest) == 100
    store.sandbox.faults(http_error=None)
    healed = store.run("get_refund_orders")
    assert (healed.read, healed.succeeded) == (30, 30)
    assert _count(store, CancellationRequest) == 130  # each claim once
    assert store.penalties() == {}


def test_a_5xx_in_the_middle_of_order_updates_resends_only_what_was_not_sent(
    store: Store, cli: Cli
) -> None:
    store.apply(send_shipping_info=True)
    packages = store.imported("8101", "8102", "8103")
    for n in packages:
        cli("orders", "update", n, "--status", "shipped", "--tracking-number", f"T{n}")
    store.sandbox.faults(http_error={"status": 500, "path": "/intransit", "after": 1, "count": 9})

    broken = store.attempt("send_update_orders")

    assert broken.status == "failed" and broken.succeeded == 1
    store.sandbox.faults(http_error=None)
    healed = store.run("send_update_orders")
    assert (healed.read, healed.succeeded, healed.failed) == (2, 2, 0)
    assert {p["status"] for p in store.sandbox.oms()["packages"]} == {"InTransit"}
    statuses = [r["status"] for r in store.sandbox.requests("/intransit")]
    assert statuses.count(200) == 3  # each package once; the rest were the 500s
    assert store.penalties() == {}


def test_a_5xx_in_the_middle_of_refund_decisions_and_cancels(store: Store, cli: Cli) -> None:
    packages = store.imported("8201", "8202", "8203", skus=("HB-1", "HB-2"))
    for n, package in packages.items():
        store.sandbox.claim(package["items"][0]["lineItemId"], reason="PoorQuality")
        cli("orders", "update", n, "--status", "preparing")
        cli(
            "orders",
            "cancel-items",
            n,
            "--item",
            package["items"][1]["lineItemId"],
            "--reason",
            str(store.reasons[("cancel", "stock")]),
        )
    store.run("get_refund_orders")
    for request in json.loads(cli("refunds", "list", "--json").output):
        cli("refunds", "approve", str(request["id"]))
    store.sandbox.faults(http_error={"status": 502, "path": "/accept", "after": 1, "count": 9})

    assert store.attempt("approve_refund").status == "failed"
    store.sandbox.faults(http_error=None)
    assert store.run("approve_refund").succeeded == 2
    assert {c["status"] for c in store.sandbox.oms()["claims"]} == {"Accepted"}

    store.sandbox.faults(
        http_error={"status": 503, "path": "/cancelbymerchant", "after": 2, "count": 9}
    )
    assert store.attempt("send_cancel_order_items").status == "failed"
    store.sandbox.faults(http_error=None)
    assert store.run("send_cancel_order_items").succeeded == 1
    cancelled = [x for x in store.sandbox.oms()["lines"] if x["status"] == "CancelledByMerchant"]
    assert len(cancelled) == 3
    statuses = [r["status"] for r in store.sandbox.requests("/cancelbymerchant")]
    assert statuses.count(200) == 3  # three lines, none twice
    assert store.penalties() == {}


def test_a_5xx_in_the_middle_of_the_feeds_and_unpacked_list(store: Store) -> None:
    numbers = [str(8300 + n) for n in range(14)]
    packages = store.imported(*numbers)
    for n in numbers[:3]:
        store.sandbox.carrier(packages[n]["packageNumber"], "ship")
    for n in numbers[3:]:
        store.sandbox.carrier(packages[n]["packageNumber"], "break")
    store.sandbox.faults(http_error={"status": 500, "path": "/delivered", "count": 9})

    assert store.attempt("get_updated_orders").status == "failed"
    store.sandbox.faults(http_error=None)
    store.run("get_updated_orders")
    assert _count(store, Order, Order.status == "shipped") == 3

    store.sandbox.faults(
        http_error={"status": 500, "path": "/status/unpacked", "after": 1, "count": 9}
    )
    assert store.attempt("unpacked_orders").status == "failed"  # 11 broken: two pages
    store.sandbox.faults(http_error=None)
    store.run("unpacked_orders")
    assert _count(store, Order, Order.status == "cancelled") == 11
    assert _count(store, CancellationRequest) == 11  # one request per line, none twice
    assert store.run("unpacked_orders").read == 0


# -- incoming orders parked by their package number; addresses ---------------------------
def test_an_unknown_place_parks_the_package_until_released(store: Store, cli: Cli) -> None:
    store.apply(use_neighborhood=True)
    order = store.order("8401")
    order["shippingAddress"].update(city="İZMİR", town="KARŞIYAKA", district="Bostanlı")
    store.sandbox.add_orders([order])
    package = store.sandbox.oms()["packages"][0]["packageNumber"]

    result = store.run("get_orders")

    assert result.failed == 1
    channel = store.channel().id
    message = result.failures[0][1]
    assert message.startswith(f"Address is not valid. channel: {channel} code: İZMİR model: City")
    listed = json.loads(cli("penalties", "list", "--channel", "hb", "--json").output)
    assert [(p["sku"], p["content_type"], p["object_id"]) for p in listed] == [
        (package, "order", None)
    ]
    assert store.run("get_orders").read == 0  # parked, not retried every 5 minutes
    store.release("order", package)
    again = store.run("get_orders")  # released too early: it fails again, one penalty still
    assert again.failed == 1
    [penalty] = store.penalties().values()
    assert (penalty.object_key, penalty.retry_count, penalty.released_at) == (package, 1, None)

    places = store.tmp / "more.csv"
    places.write_text("city,township,district\nİzmir,Karşıyaka,Bostanlı\n")
    with store.db.session() as session:
        import_file(session, "addresses", places)
    store.release("order", package)
    assert store.run("get_orders").succeeded == 1
    assert store.penalties() == {}


def test_a_township_missing_names_its_city(store: Store) -> None:
    order = store.order("8501")
    order["shippingAddress"].update(city="İSTANBUL", town="Merkez")
    store.sandbox.add_orders([order])

    result = store.run("get_orders")

    with store.db.session() as session:
        from pazar.models.commerce import City

        city = session.scalar(select(City.id).where(City.name == "İstanbul"))
    assert result.failures[0][1].startswith(
        f"Address is not valid. channel: {store.channel().id} code: Merkez model: Township "
        f"city id: {city}, city name: İSTANBUL"
    )


def test_turkish_capitals_match_and_names_stay_as_received(store: Store, cli: Cli) -> None:
    store.apply(use_neighborhood=True)
    order = store.order("8601")
    order["shippingAddress"].update(city="İSTANBUL", town="KADIKÖY", district="CAFERAĞA")
    store.sandbox.add_orders([order])

    assert store.run("get_orders").succeeded == 1

    with store.db.session() as session:
        shipping = session.scalars(select(Address).where(Address.kind == "shipping")).one()
        assert None not in (shipping.city_id, shipping.township_id, shipping.district_id)
        assert (shipping.extra["city"], shipping.extra["township"]) == ("İSTANBUL", "KADIKÖY")
    shown = json.loads(cli("orders", "show", "8601", "--json").output)
    assert shown["shipping_address"]["city"] == "İstanbul"
    assert shown["shipping_address"]["as_received"]["township"] == "KADIKÖY"
    assert shown["customer"]["name"] == "Ayşe Yılmaz"
    assert shown["cargo_company"] == "HepsiJet (hepsijet)"
    assert [i["sku"] for i in shown["items"]] == ["HB-1"]
    text = cli("orders", "show", "8601").output
    assert "KADIKÖY" in text and shown["number"] in text


def test_orders_show_refuses_an_unknown_number_clearly(cli: Cli) -> None:
    result = cli("orders", "show", "nope")
    assert result.exit_code != 0 and "no order 'nope'" in result.output
    assert "Traceback" not in result.output
