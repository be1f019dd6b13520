"""Fashfed's Order Create and Order Cancel end to end over real HTTP, with every config switch
they read: order number format, cargo company mapping, send shipping info, neighbourhood,
channel-id address mapping, cargo label, cancel reason mapping."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pazar.models.commerce import Address, District, Order, Township
from pazar_fashfed.api import iso
from tests.fashfed.world import World

pytest_plugins = ("tests.fashfed.world",)


def package(number: str, **fields: Any) -> dict[str, Any]:
    return {
        "number": number,
        "order_number": f"ON-{number}",
        "items": [{"sku": "FF-1", "price": "100.50"}, {"sku": "FF-2", "quantity": 2}],
        **fields,
    }


def addresses(world: World, number: str) -> dict[str, dict[str, Any]]:
    with world.db.session() as session:
        rows = session.execute(
            select(Address.kind, Township.name, District.name, Address.extra)
            .join(Order, Order.id == Address.order_id)
            .outerjoin(Township, Township.id == Address.township_id)
            .outerjoin(District, District.id == Address.district_id)
            .where(Order.remote_number == number)
        ).all()
    return {k: {"township": t, "district": d, "extra": e} for k, t, d, e in rows}


def test_preparing_packages_of_the_last_12_hours_become_orders_once(world: World) -> None:
    world.sandbox.add_packages(package("1001"))
    world.sandbox.post("seed", now=iso(world.clock.now() - timedelta(hours=13)))
    world.sandbox.add_packages(package("1002"))  # older than the window
    world.sandbox.post("seed", now=iso(world.clock.now()))
    world.sandbox.add_packages(package("1003", status=3))  # shipped, not Preparing
    result = world.run("get_orders")
    assert result.succeeded == 1
    orders = world.orders()
    assert list(orders) == ["1001"]
    order = orders["1001"]
    assert order.number == "ON-1001-1001"  # the default {orderNumber}-{id}
    assert str(order.amount) == "300.50" and order.currency == "TRY"
    assert order.extra["fashfed"]["order_number"] == "ON-1001"
    assert sorted((i.remote_id, i.sku, i.quantity) for i in world.items().values()) == [
        ("1001-1", "FF-1", 1),
        ("1001-2", "FF-2", 2),
    ]
    again = world.run("get_orders")
    assert again.read == 0 and len(world.orders()) == 1


def test_order_number_format_orderNumber_is_order_number_and_id_is_number(world: World) -> None:
    world.set("order_number_format=FD-{orderNumber}-{id}")
    world.sandbox.add_packages(package("2001"))
    world.run("get_orders")
    assert world.orders()["2001"].number == "FD-ON-2001-2001"


def test_cargo_company_follows_fashfeds_slug_when_fashfed_ships(world: World) -> None:
    world.sandbox.add_packages(
        package("3001"), package("3002", shipping_company={"slug": "aras", "name": "Aras"})
    )
    world.run("get_orders")
    orders = world.orders()
    assert orders["3001"].cargo_company_id == 2  # yurtici → 2
    assert orders["3002"].cargo_company_id == 1  # unmapped slug → default
    assert orders["3001"].tracking_number == "TRK3001"
    assert orders["3001"].extra["fashfed"]["shipped_by"] == "fashfed"


def test_with_send_shipping_info_the_brand_ships_default_cargo_and_no_fashfed_tracking(
    world: World,
) -> None:
    world.set("send_shipping_info=true", "use_cargo_label=true")
    world.sandbox.add_packages(package("4001"))
    world.run("get_orders")
    order = world.orders()["4001"]
    assert order.cargo_company_id == 1 and order.tracking_number is None
    assert "cargo_label" not in order.extra  # labels are for packages Fashfed ships
    assert world.sandbox.requests("/label/") == []


def test_use_cargo_label_keeps_the_pdf_label(world: World) -> None:
    world.set("use_cargo_label=true")
    world.sandbox.add_packages(package("5001"))
    world.run("get_orders")
    label = world.orders()["5001"].extra["cargo_label"]
    pdf = base64.b64decode(label["base64"])
    assert label["format"] == "pdf" and pdf.startswith(b"%PDF") and b"5001" in pdf


def test_neighbourhood_only_with_use_neighborhood(world: World) -> None:
    world.sandbox.add_packages(package("6001"))
    world.run("get_orders")
    assert addresses(world, "6001")["shipping"]["district"] is None
    world.set("use_neighborhood=true")
    world.sandbox.add_packages(package("6002"))
    world.run("get_orders")
    shipping = addresses(world, "6002")["shipping"]
    assert shipping["township"] == "Kadıköy" and shipping["district"] == "Moda"
    assert shipping["extra"]["email"] == "ayse@example.com"


def test_channel_id_address_mapping_prefers_the_channels_own_codes(
    world: World, tmp_path: Path
) -> None:
    codes = tmp_path / "codes.csv"
    codes.write_text(
        "city,township,channel,township_code\n"
        "İstanbul,Ataşehir,,Merkez\n"
        "İstanbul,Kadıköy,ff,Merkez\n",
        encoding="utf-8",
    )
    assert world.cli("catalog", "import", "addresses", str(codes)).exit_code == 0
    merkez = {"city": "İstanbul", "township": "Merkez", "first_name": "A", "last_name": "B"}
    world.sandbox.add_packages(package("7001", shipping_address=merkez))
    world.run("get_orders")
    assert addresses(world, "7001")["shipping"]["township"] == "Ataşehir"  # the shared code
    world.set("use_channel_id_in_address_mapping=true")
    world.sandbox.add_packages(package("7002", shipping_address=merkez))
    world.run("get_orders")
    assert addresses(world, "7002")["shipping"]["township"] == "Kadıköy"  # ff's own code


def test_a_cargo_company_that_does_not_exist_locally_fails_the_package_until_fixed(
    world: World,
) -> None:
    world.set('cargo_company_mapping={"default": 1, "mng": 42}')
    world.sandbox.add_packages(package("8001", shipping_company={"slug": "mng"}))
    result = world.run("get_orders")
    assert result.failed == 1 and world.orders() == {}
    assert "cargo company id 42 does not exist locally" in result.failures[0][1]
    assert world.penalties() == {}  # orders are not tracked records: read again next run
    world.set('cargo_company_mapping={"default": 1, "mng": 2}')
    assert world.run("get_orders").succeeded == 1
    assert world.orders()["8001"].cargo_company_id == 2


def test_an_outage_while_reading_packages_stores_nothing_and_penalises_nothing(
    world: World,
) -> None:
    world.sandbox.add_packages(package("9001"))
    world.sandbox.faults(http_error={"status": 503, "count": 10, "path": "/packages/"})
    failed = world.attempt("get_orders")
    assert failed.status == "failed" and failed.retryable
    assert world.orders() == {} and world.penalties() == {}
    world.sandbox.faults(http_error=None)
    assert world.run("get_orders").succeeded == 1


def test_completed_cancel_claims_cancel_their_lines_once_with_the_mapped_reason(
    world: World,
) -> None:
    world.set('cancel_reason_mapping={"r-damaged": 3}')  # local reason ids: 1 .. 4
    world.sandbox.add_packages(package("1101"))
    world.run("get_orders")
    world.sandbox.add_claims(
        {"package_item": "1101-1", "reason": {"id": "r-damaged", "subject": "Damaged"}},
        {"package_item": "1101-2"},  # an unmapped reason → cancellation_reason_id
        {"package_item": "1101-2", "status": "open"},  # not completed
        {"package_item": "1101-1", "type": "refund"},  # a refund, not a cancellation
    )
    result = world.run("get_cancel_orders")
    assert result.succeeded == 2
    items = world.items()
    assert (items["1101-1"].status, items["1101-1"].cancellation_reason_id) == ("cancelled", 3)
    assert (items["1101-2"].status, items["1101-2"].cancellation_reason_id) == ("cancelled", 1)
    assert world.run("get_cancel_orders").read == 0


def test_a_claim_for_an_order_not_imported_yet_waits_for_it(world: World) -> None:
    world.sandbox.add_claims({"package_item": "1201-1"})
    early = world.run("get_cancel_orders")
    assert early.failed == 1 and "not imported yet" in early.failures[0][1]
    world.sandbox.add_packages(package("1201"))
    world.run("get_orders")
    assert world.run("get_cancel_orders").succeeded == 1
    assert world.items()["1201-1"].status == "cancelled"


def test_mapping_keys_match_fashfeds_codes_whatever_their_case(world: World) -> None:
    world.set('cargo_company_mapping={"default": 1, "YurtIci": 2}')
    world.set('cancel_reason_mapping={"R-DAMAGED": 3}')
    world.sandbox.add_packages(package("1301"))  # shipping slug "yurtici"
    world.run("get_orders")
    assert world.orders()["1301"].cargo_company_id == 2
    world.sandbox.add_claims({"package_item": "1301-1", "reason": {"id": "r-damaged"}})
    world.run("get_cancel_orders")
    assert world.items()["1301-1"].cancellation_reason_id == 3


def test_a_label_not_ready_yet_leaves_the_package_for_the_next_run(world: World) -> None:
    world.set("use_cargo_label=true")
    world.sandbox.add_packages(package("1401"))
    world.sandbox.faults(
        http_error={"status": 404, "path": "/label/", "body": "json", "message": "Not found."}
    )
    early = world.run("get_orders")
    assert early.failed == 1 and world.orders() == {}
    assert "cargo label not available" in early.failures[0][1]
    assert world.run("get_orders").succeeded == 1
    assert world.orders()["1401"].extra["cargo_label"]["format"] == "pdf"


def test_the_sandbox_refuses_a_package_without_items_and_adds_none(world: World) -> None:
    """A test author's typo ("lines", Hepsiburada's word) must not become an empty order."""
    before = set(world.sandbox.packages())
    answer = world.sandbox.http.post(
        "/_sandbox/packages",
        json={"packages": [package("5001"), {"lines": [{"sku": "SKU-1"}]}]},
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": 'packages[1]: items must be a non-empty list (Fashfed calls them "items", '
        'not "lines")'
    }
    assert set(world.sandbox.packages()) == before
