"""Fashfed's order side when the service fails: a 5xx in the middle of a paged read or of a
batch of calls loses nothing and sends nothing twice, one test per flow family (claims in,
package updates out, refund decisions and seller cancellations out, moved packages in,
splits); nothing is penalised for an outage.  Also the HTTP trigger API for Split Packages.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pazar.models.commerce import CancellationRequest, Order
from tests.fashfed.world import World

pytest_plugins = ("tests.fashfed.world",)


def packages(world: World, count: int, start: int, *skus: str) -> list[str]:
    """``count`` one-line packages imported (numbers from ``start``)."""
    rows = [
        {
            "number": str(start + n),
            "order_number": f"ON-{start + n}",
            "items": [{"sku": sku} for sku in skus or ("FF-1",)],
        }
        for n in range(count)
    ]
    return world.imported(*rows)


def count(world: World, model: type, *where: Any) -> int:
    with world.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def preparing(world: World, numbers: list[str]) -> None:
    for n in numbers:
        assert world.cli("orders", "update", f"ON-{n}-{n}", "--status", "preparing").exit_code == 0


def test_a_5xx_in_the_middle_of_the_refund_claims_loses_and_repeats_nothing(
    world: World,
) -> None:
    numbers = packages(world, 130, 10_000)
    world.sandbox.add_claims(
        *({"package_item": f"{n}-1", "type": "refund", "status": "open"} for n in numbers)
    )
    # The second page of claims (limit 100) fails: the first hundred are stored by then.
    world.sandbox.faults(http_error={"status": 503, "path": "/claims/", "after": 1, "count": 9})

    broken = world.attempt("get_refund_orders")

    assert broken.status == "failed" and broken.retryable and broken.succeeded == 100
    assert count(world, CancellationRequest) == 100
    world.sandbox.faults(http_error=None)
    healed = world.run("get_refund_orders")
    assert (healed.read, healed.succeeded) == (30, 30)
    assert count(world, CancellationRequest) == 130  # each claim once
    assert world.penalties() == {}


def test_a_5xx_in_the_middle_of_order_updates_resends_only_what_was_not_sent(
    world: World,
) -> None:
    numbers = packages(world, 3, 11_000)
    preparing(world, numbers)
    world.sandbox.faults(http_error={"status": 500, "path": "/status/", "after": 1, "count": 9})

    broken = world.attempt("send_update_orders")

    assert broken.status == "failed" and broken.succeeded == 1
    world.sandbox.faults(http_error=None)
    healed = world.run("send_update_orders")
    assert (healed.read, healed.succeeded, healed.failed) == (2, 2, 0)
    sent = [u["number"] for u in world.sandbox.get("packages")["updates"]]
    assert sorted(sent) == numbers  # each package once
    assert world.penalties() == {}


def test_a_5xx_in_the_middle_of_refund_decisions_and_seller_cancels(world: World) -> None:
    world.set("send_cancel_reason_id=3")
    numbers = packages(world, 3, 12_000, "FF-1", "FF-2")
    world.sandbox.add_claims(
        *({"package_item": f"{n}-1", "type": "refund", "status": "open"} for n in numbers)
    )
    world.run("get_refund_orders")
    for request in world.refunds():
        assert world.cli("refunds", "approve", str(request["id"])).exit_code == 0
    preparing(world, numbers)
    for n in numbers:
        cancel = ("orders", "cancel-items", f"ON-{n}-{n}", "--item", f"{n}-2", "--reason", "3")
        assert world.cli(*cancel).exit_code == 0
    world.sandbox.faults(http_error={"status": 502, "path": "/approve/", "after": 1, "count": 9})

    assert world.attempt("approve_refund").status == "failed"
    world.sandbox.faults(http_error=None)
    assert world.run("approve_refund").succeeded == 2
    claims = world.sandbox.claims().values()
    assert sorted(c["status"] for c in claims if c["type"] == "refund") == ["approved"] * 3

    world.sandbox.faults(http_error={"status": 503, "path": "/claims/", "after": 2, "count": 9})
    assert world.attempt("send_cancel_order_items").status == "failed"
    world.sandbox.faults(http_error=None)
    assert world.run("send_cancel_order_items").succeeded == 1
    # three lines, none twice
    assert world.sandbox.get("packages")["seller_cancels"] == {f"{n}-2": 1 for n in numbers}
    assert world.penalties() == {}


def test_a_5xx_in_the_middle_of_the_moved_packages(world: World) -> None:
    numbers = packages(world, 120, 13_000)
    for n in numbers:
        world.sandbox.post(f"packages/{n}/move", status="shipped", tracking_number=f"T{n}")
    world.sandbox.faults(http_error={"status": 500, "path": "/packages/", "after": 1, "count": 9})

    assert world.attempt("get_updated_orders").status == "failed"
    assert count(world, Order, Order.status == "shipped") == 100  # the first page is stored
    world.sandbox.faults(http_error=None)
    world.run("get_updated_orders")
    assert count(world, Order, Order.status == "shipped") == 120
    assert world.penalties() == {}


def test_a_5xx_on_a_split_changes_nothing_and_the_retry_splits_once(world: World) -> None:
    [number] = packages(world, 1, 14_000, "FF-1", "FF-2")
    ask = {"order_number": number, "packages": [{"lines": [{"sku": "FF-1"}]}]}
    world.sandbox.faults(http_error={"status": 503, "path": "/split/", "count": 9})

    broken = world.attempt("split_packages", payload=ask, trigger="http")

    assert broken.status == "failed" and len(world.orders_of(number)) == 1
    world.sandbox.faults(http_error=None)
    assert world.attempt("split_packages", payload=ask, trigger="http").succeeded == 1
    assert len(world.sandbox.packages()) == len(world.orders_of(number)) == 2
    assert world.penalties() == {}


def test_split_packages_over_the_http_trigger_api(world: World) -> None:
    from starlette.testclient import TestClient

    from pazar.daemon import Daemon
    from pazar.http_trigger import create_app
    from pazar.tokens import create_token

    [number] = packages(world, 1, 15_000, "FF-1", "FF-2")
    with world.db.session() as session:
        token = create_token(session, "oms", now=world.clock.now())
    api = TestClient(create_app(world.db, world.registry, clock=world.clock))
    body = {"payload": {"order_number": number, "packages": [{"lines": [{"sku": "FF-2"}]}]}}

    bad = api.post(
        "/flow-trigger/ff/split_packages",
        headers={"Authorization": f"Token {token}"},
        json={"payload": {"order_number": number}},
    )
    answer = api.post(
        "/flow-trigger/ff/split_packages", headers={"Authorization": f"Token {token}"}, json=body
    )

    assert bad.status_code == 422 and "packages" in bad.text
    assert answer.status_code == 202, answer.text
    Daemon(world.db, world.registry, clock=world.clock).drain()
    assert len(world.orders_of(number)) == 2
    assert [i["id"] for i in world.sandbox.packages()[number]["items"]] == [f"{number}-2"]


def test_an_unknown_place_fails_the_package_with_the_seeds_message_until_imported(
    world: World,
) -> None:
    place = {"city": "İSTANBUL", "township": "ÜSKÜDAR", "first_name": "A", "last_name": "B"}
    world.sandbox.add_packages(
        {
            "number": "16000",
            "order_number": "ON-16000",
            "items": [{"sku": "FF-1"}],
            "shipping_address": place,
            "billing_address": place,
        }
    )
    failed = world.run("get_orders")
    assert failed.failed == 1 and world.orders() == {}
    message = failed.failures[0][1]
    assert message.startswith("Address is not valid. channel: ")
    assert "model: Township" in message and "city name: İSTANBUL" in message
    places = world.tmp / "places.csv"
    places.write_text("city,township\nİstanbul,Üsküdar\n", encoding="utf-8")
    assert world.cli("catalog", "import", "addresses", str(places)).exit_code == 0
    assert world.run("get_orders").succeeded == 1  # read again and imported, Turkish-folded


def test_a_5xx_in_the_middle_of_the_packages_and_the_cancel_claims(world: World) -> None:
    world.sandbox.add_packages(
        *(
            {"number": str(17_000 + n), "order_number": f"ON-{n}", "items": [{"sku": "FF-1"}]}
            for n in range(130)
        )
    )
    world.sandbox.faults(http_error={"status": 502, "path": "/packages/", "after": 1, "count": 9})
    broken = world.attempt("get_orders")
    assert broken.status == "failed" and broken.succeeded == 100
    world.sandbox.faults(http_error=None)
    assert (world.run("get_orders").succeeded, count(world, Order)) == (30, 130)

    world.sandbox.add_claims(*({"package_item": f"{17_000 + n}-1"} for n in range(130)))
    world.sandbox.faults(http_error={"status": 502, "path": "/claims/", "after": 1, "count": 9})
    broken = world.attempt("get_cancel_orders")
    assert broken.status == "failed" and broken.succeeded == 100
    world.sandbox.faults(http_error=None)
    healed = world.run("get_cancel_orders")
    assert (healed.read, healed.succeeded) == (30, 30)
    assert count(world, CancellationRequest) == 130  # each cancellation once
    assert count(world, Order, Order.status == "cancelled") == 130
    assert world.penalties() == {}
