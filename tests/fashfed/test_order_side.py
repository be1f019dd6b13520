"""Fashfed's order side after import, end to end over real HTTP, with every config switch it
reads: Order Update (send_shipping_info, waybill_option), Order Refund (refund_start_date,
refund_reason_mapping, default_reason_id), Updated Orders (only when Fashfed ships),
Approve / Reject Refund Order (reject_item_reason), Send Cancel Order Items
(send_cancel_reason_id, the inbound reasons, the seed's "Unreported order of ERP can not be
canceled") and Split Packages (the OMS trigger)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from pazar.clock import parse_instant
from pazar.models.channels import Channel
from pazar_fashfed.api import iso
from tests.fashfed.world import World

pytest_plugins = ("tests.fashfed.world",)


def package(number: str, *skus: str, **fields: Any) -> dict[str, Any]:
    return {
        "number": number,
        "order_number": f"ON-{number}",
        "items": [{"sku": sku, "price": "50.00"} for sku in skus or ("FF-1", "FF-2")],
        **fields,
    }


def updates(world: World, number: str) -> list[dict[str, Any]]:
    """What Fashfed received for a package, call by call (without the package number)."""
    sent = world.sandbox.get("packages")["updates"]
    return [{k: v for k, v in u.items() if k != "number"} for u in sent if u["number"] == number]


def refunds(world: World) -> list[dict[str, Any]]:
    return world.refunds()


def order_update(world: World, number: str, *options: str) -> None:
    result = world.cli("orders", "update", f"ON-{number}-{number}", *options)
    assert result.exit_code == 0, result.output


# -- Order Update ----------------------------------------------------------------------------
def test_order_update_sends_status_and_invoice_once_and_never_backwards(world: World) -> None:
    [number] = world.imported(package("2001"))
    assert world.run("send_update_orders").succeeded == 1
    assert updates(world, number) == []  # still new: not reported to the ERP, nothing sent

    order_update(world, number, "--status", "preparing")
    world.run("send_update_orders")
    order_update(
        world,
        number,
        *("--status", "shipped", "--tracking-number", "TR1", "--invoice-number", "INV-1"),
        *("--invoice-date", "2025-07-01", "--invoice-url", "https://e.example.com/INV-1.pdf"),
    )
    world.run("send_update_orders")
    assert world.run("send_update_orders").read == 0  # nothing changed: nothing read
    order_update(world, number, "--status", "delivered")
    world.run("send_update_orders")

    invoice = {
        "invoice_number": "INV-1",
        "invoice_date": "2025-07-01T00:00:00Z",
        "e_archive_url": "https://e.example.com/INV-1.pdf",
    }
    # Fashfed ships (send_shipping_info off): no tracking, no shipped date
    assert updates(world, number) == [
        {"status": 2},
        {"status": 3, **invoice},
        {"status": 4, **invoice},
    ]
    assert world.sandbox.packages()[number]["status"] == 4
    assert world.penalties() == {}


def test_send_shipping_info_adds_tracking_number_url_and_shipped_date(world: World) -> None:
    world.set("send_shipping_info=true")
    csv = world.tmp / "cargo.csv"
    csv.write_text(
        "code,name,tracking_url\nyurtici,Yurtiçi,https://kargo.example.com/{tracking_number}\n"
    )
    assert world.cli("catalog", "import", "cargo_companies", str(csv)).exit_code == 0
    world.set('cargo_company_mapping={"default": 2}')  # yurtici
    [number] = world.imported(package("2101"))
    order_update(world, number, "--status", "shipped", "--tracking-number", "TR9")

    world.run("send_update_orders")

    [sent] = updates(world, number)
    assert sent == {
        "status": 3,
        "tracking_number": "TR9",
        "tracking_url": "https://kargo.example.com/TR9",
        "shipped_date": iso(parse_instant(world.orders()[number].extra["shipped_at"])),
    }


def test_waybill_number_is_the_invoice_number_else_the_default(world: World) -> None:
    world.set('waybill_option={"enabled": true, "default": "999"}')
    first, second = world.imported(package("2201"), package("2202"))
    order_update(world, first, "--status", "preparing", "--invoice-number", "INV-7")
    order_update(world, second, "--status", "shipped")
    order_update(world, first, "--status", "shipped")

    world.run("send_update_orders")

    assert updates(world, first) == [
        {"status": 3, "invoice_number": "INV-7", "waybill_number": "INV-7"}
    ]
    assert updates(world, second) == [{"status": 3, "waybill_number": "999"}]


def test_a_preparing_order_gets_no_waybill_and_without_the_option_none_at_all(
    world: World,
) -> None:
    world.set('waybill_option={"enabled": false, "default": "999"}')
    [number] = world.imported(package("2301"))
    order_update(world, number, "--status", "shipped", "--invoice-number", "INV-8")
    world.run("send_update_orders")
    assert updates(world, number) == [{"status": 3, "invoice_number": "INV-8"}]


def test_fashfeds_own_status_is_not_echoed_and_a_later_invoice_still_goes(world: World) -> None:
    [number] = world.imported(package("2401"))
    order_update(world, number, "--status", "preparing")
    world.run("send_update_orders")
    world.sandbox.post(f"packages/{number}/move", status="delivered")
    world.run("get_updated_orders")

    world.run("send_update_orders")
    assert updates(world, number) == [{"status": 2}]  # Fashfed said delivered itself
    order_update(world, number, "--invoice-number", "INV-9")
    world.run("send_update_orders")

    assert updates(world, number) == [{"status": 2}, {"status": 4, "invoice_number": "INV-9"}]


def test_no_order_update_while_a_refund_is_open(world: World) -> None:
    [number] = world.imported(package("2501"))
    world.sandbox.add_claims({"package_item": f"{number}-1", "type": "refund", "status": "open"})
    world.run("get_refund_orders")
    order_update(world, number, "--status", "preparing")
    assert world.run("send_update_orders").read == 0
    world.cli("refunds", "approve", str(refunds(world)[0]["id"]))
    assert world.run("send_update_orders").succeeded == 1


def test_fashfed_refusing_a_status_penalises_that_order_with_its_words(world: World) -> None:
    first, second = world.imported(package("2601"), package("2602"))
    world.sandbox.faults(
        http_error={
            "status": 400,
            "path": f"/packages/{first}/status/",
            "body": "json",
            "message": "Package status cannot be updated retrospectively.",
        }
    )
    for number in (first, second):
        order_update(world, number, "--status", "preparing")
    result = world.run("send_update_orders")
    assert (result.succeeded, result.failed) == (1, 1)
    assert "cannot be updated retrospectively" in world.penalties()[f"ON-{first}-{first}"].message


# -- Order Refund ----------------------------------------------------------------------------
def test_open_and_waiting_refund_claims_become_refund_requests_once(world: World) -> None:
    world.set('refund_reason_mapping={"R-SIZE": 4}')
    [number] = world.imported(package("3001", "FF-1", "FF-2", "FF-3"))
    world.sandbox.add_claims(
        {
            "package_item": f"{number}-1",
            "type": "refund",
            "status": "open",
            "reason": {"id": "r-size", "subject": "Wrong size"},
            "detail": "too small",
        },
        {"package_item": f"{number}-2", "type": "refund", "status": "waiting"},
        {"package_item": f"{number}-3", "type": "refund", "status": "approved"},  # decided
        {"package_item": f"{number}-3", "type": "cancel", "status": "open"},  # a cancellation
    )

    result = world.run("get_refund_orders")

    assert result.succeeded == 2
    rows = sorted(refunds(world), key=lambda r: r["item"])
    assert [(r["item"], r["status"], r["reason_id"]) for r in rows] == [
        (f"{number}-1", "open", 4),  # mapped (case-insensitive)
        (f"{number}-2", "open", 4),  # default_reason_id
    ]
    assert world.run("get_refund_orders").read == 0


def test_refund_start_date_leaves_older_claims_out(world: World) -> None:
    [number] = world.imported(package("3101"))
    world.sandbox.post("seed", now=iso(world.clock.now() - timedelta(days=10)))
    world.sandbox.add_claims({"package_item": f"{number}-1", "type": "refund", "status": "open"})
    world.sandbox.post("seed", now=iso(world.clock.now()))
    world.sandbox.add_claims({"package_item": f"{number}-2", "type": "refund", "status": "open"})
    world.set(f"refund_start_date={iso(world.clock.now() - timedelta(days=1))}")

    assert world.run("get_refund_orders").succeeded == 1
    assert [r["item"] for r in refunds(world)] == [f"{number}-2"]
    world.set("refund_start_date=null")
    assert world.run("get_refund_orders").succeeded == 1  # empty: every claim awaiting


def test_a_refund_without_a_reason_to_give_it_is_a_mapping_failure(world: World) -> None:
    [number] = world.imported(package("3201"))
    world.set('refund_reason_mapping={"r-x": "not-a-number"}')
    world.sandbox.add_claims(
        {"package_item": f"{number}-1", "type": "refund", "status": "open", "reason": {"id": "r-x"}}
    )
    result = world.run("get_refund_orders")
    assert result.failed == 1 and "is not a reason id" in result.failures[0][1]


# -- Approve / Reject Refund Order -----------------------------------------------------------
def test_approved_and_rejected_refunds_reach_their_claims_once(world: World) -> None:
    world.set("reject_item_reason=Damaged")
    [number] = world.imported(package("4001"))
    keep, refuse = world.sandbox.add_claims(
        {"package_item": f"{number}-1", "type": "refund", "status": "open"},
        {"package_item": f"{number}-2", "type": "refund", "status": "waiting"},
    )
    world.run("get_refund_orders")
    ids = {r["remote_id"]: r["id"] for r in refunds(world)}
    world.cli("refunds", "approve", str(ids[keep]))
    world.cli(
        "refunds", "reject", str(ids[refuse]), "--reason", "Used", "--explanation", "worn once"
    )

    approved, rejected = world.run("approve_refund"), world.run("reject_refund")

    assert (approved.succeeded, rejected.succeeded) == (1, 1)
    claims = world.sandbox.claims()
    assert claims[keep]["status"] == "approved"
    assert claims[refuse]["status"] == "rejected"
    # the channel's Reject Item Reason is what Fashfed gets; the explanation goes along
    assert claims[refuse]["rejection"] == {"reason": "Damaged", "detail": "worn once"}
    assert world.run("approve_refund").read == world.run("reject_refund").read == 0


def test_without_reject_item_reason_the_decisions_own_reason_goes(world: World) -> None:
    [number] = world.imported(package("4101"))
    [claim] = world.sandbox.add_claims(
        {"package_item": f"{number}-1", "type": "refund", "status": "open"}
    )
    world.run("get_refund_orders")
    [request] = refunds(world)
    world.cli("refunds", "reject", str(request["id"]), "--reason", "Used", "--explanation", "x")
    world.run("reject_refund")
    assert world.sandbox.claims()[claim]["rejection"]["reason"] == "Used"


def test_a_claim_decided_otherwise_on_fashfed_is_penalised_and_a_lost_answer_is_not(
    world: World,
) -> None:
    [number] = world.imported(package("4201"))
    lost, closed = world.sandbox.add_claims(
        {"package_item": f"{number}-1", "type": "refund", "status": "open"},
        {"package_item": f"{number}-2", "type": "refund", "status": "open"},
    )
    world.run("get_refund_orders")
    for request in refunds(world):
        world.cli("refunds", "approve", str(request["id"]))
    # Fashfed approved one already (pazar was killed before it recorded the answer) and the
    # customer's other claim was rejected by Fashfed itself meanwhile.
    with_status = {lost: "approved", closed: "rejected"}
    for claim_id, status in with_status.items():
        world.sandbox.http.post(
            "/api/i2/claims/" + claim_id + ("/approve/" if status == "approved" else "/reject/"),
            json={"reason": "Fashfed", "detail": ""},
            headers={"Authorization": "sandbox-token"},
        )

    result = world.run("approve_refund")

    assert (result.succeeded, result.failed) == (1, 1)
    assert "Claim is not awaiting a decision." in result.failures[0][1]


# -- Send Cancel Order Items -----------------------------------------------------------------
def test_seller_cancellations_reach_fashfed_once_and_fashfeds_never_go_back(
    world: World,
) -> None:
    world.set("send_cancel_reason_id=3", 'cancel_reason_mapping={"r-damaged": 2}')
    [number] = world.imported(package("5001", "FF-1", "FF-2", "FF-3"))
    order_update(world, number, "--status", "preparing")
    world.sandbox.add_claims({"package_item": f"{number}-1"})  # the customer's, on Fashfed
    world.run("get_cancel_orders")
    order = f"ON-{number}-{number}"
    assert (
        world.cli(
            "orders", "cancel-items", order, "--item", f"{number}-2", "--reason", "3"
        ).exit_code
        == 0
    )
    # a local cancellation carrying an inbound reason is taken for Fashfed's and never sent
    assert (
        world.cli(
            "orders", "cancel-items", order, "--item", f"{number}-3", "--reason", "2"
        ).exit_code
        == 0
    )

    result = world.run("send_cancel_order_items")

    assert (result.read, result.succeeded) == (1, 1)
    seller = [c for c in world.sandbox.claims().values() if c["cancelled_by"] == 2]
    assert [(c["package_item"], c["reason"]["id"], c["status"]) for c in seller] == [
        (f"{number}-2", "3", "completed")
    ]
    assert world.run("send_cancel_order_items").read == 0
    # Order Cancel sees the seller's claim come back and knows it as the same cancellation
    assert world.run("get_cancel_orders").read == 0


def test_an_unreported_order_cannot_be_cancelled_on_fashfed(world: World) -> None:
    world.set("send_cancel_reason_id=3")
    [number] = world.imported(package("5101"))
    order = f"ON-{number}-{number}"
    refused = world.cli("orders", "cancel-items", order, "--item", f"{number}-1", "--reason", "3")
    assert refused.exit_code == 2
    assert "Unreported order of ERP can not be canceled" in refused.output
    # One cancelled while the order was reported, then the order went back to new (an ERP
    # that un-reported it): the flow refuses it with the seed's message.
    order_update(world, number, "--status", "preparing")
    world.cli("orders", "cancel-items", order, "--item", f"{number}-1", "--reason", "3")
    with world.db.session() as session:
        from pazar.models.commerce import Order

        session.query(Order).update({"status": "new"})
    result = world.run("send_cancel_order_items")
    assert result.failures == [
        (f"{number}/{number}-1", "Unreported order of ERP can not be canceled")
    ]
    assert world.sandbox.get("packages")["seller_cancels"] == {}


def test_without_send_cancel_reason_id_nothing_is_cancelled(world: World) -> None:
    # Seed: "before activating this flag, Send Cancel Reason Id must be configured".
    refused = world.cli("channel", "set", "ff", "--unset", "send_cancel_reason_id")
    assert refused.exit_code == 2
    assert (
        "send_cancel_reason_id: is required while feature_flags.send_cancel_order_items is on "
        "(Send Cancel Reason ID), but empty" in refused.output
    )
    # A config stored before that rule: the flow still refuses to send without a reason.
    with world.db.session() as session:
        channel = session.scalar(select(Channel).where(Channel.slug == "ff"))
        channel.config = {**channel.config, "send_cancel_reason_id": None}
    [number] = world.imported(package("5201"))
    order_update(world, number, "--status", "preparing")
    world.cli(
        "orders", "cancel-items", f"ON-{number}-{number}", "--item", f"{number}-1", "--reason", "3"
    )
    result = world.run("send_cancel_order_items")
    assert result.failed == 1 and "send_cancel_reason_id is not set" in result.failures[0][1]
    assert world.sandbox.get("packages")["seller_cancels"] == {}


def test_a_cancellation_whose_answer_was_lost_is_not_penalised(world: World) -> None:
    world.set("send_cancel_reason_id=3")
    [number] = world.imported(package("5301"))
    order_update(world, number, "--status", "preparing")
    world.cli(
        "orders", "cancel-items", f"ON-{number}-{number}", "--item", f"{number}-1", "--reason", "3"
    )
    # Fashfed cancelled it (pazar was killed before it recorded the answer)
    world.sandbox.http.post(
        "/api/i2/claims/",
        json={"type": "cancel", "package_item": f"{number}-1", "quantity": 1, "reason": 3},
        headers={"Authorization": "sandbox-token"},
    )
    result = world.run("send_cancel_order_items")
    assert (result.succeeded, result.failed) == (1, 0)
    assert world.sandbox.get("packages")["seller_cancels"] == {f"{number}-1": 1}
    assert world.penalties() == {}


# -- Updated Orders --------------------------------------------------------------------------
def test_updated_orders_move_orders_forward_with_tracking_when_fashfed_ships(
    world: World,
) -> None:
    shipped, delivered, old = world.imported(package("6001"), package("6002"), package("6003"))
    world.sandbox.post(f"packages/{old}/move", status="shipped")
    world.sandbox.post("seed", now=iso(world.clock.now() + timedelta(hours=25)))
    world.clock.advance(hours=25)
    world.sandbox.post(f"packages/{shipped}/move", status="shipped", tracking_number="YK1")
    world.sandbox.post(f"packages/{delivered}/move", status="delivered")

    result = world.run("get_updated_orders")

    assert result.succeeded == 2  # the package moved 25 hours ago is outside the window
    orders = world.orders()
    assert (orders[shipped].status, orders[shipped].tracking_number) == ("shipped", "YK1")
    assert orders[shipped].cargo_company_id == 2  # yurtici
    assert orders[delivered].status == "delivered" and orders[old].status == "new"
    assert {i.status for k, i in world.items().items() if k.startswith(delivered)} == {"delivered"}


def test_updated_orders_read_nothing_when_the_brand_ships(world: World) -> None:
    world.set("send_shipping_info=true")
    [number] = world.imported(package("6101"))
    world.sandbox.post(f"packages/{number}/move", status="delivered")
    result = world.run("get_updated_orders")
    assert result.read == 0 and world.orders()[number].status == "new"
    assert world.sandbox.requests("/packages/") and not [
        r for r in world.sandbox.requests("/packages/") if "status=4" in r["query"]
    ]


# -- Split Packages --------------------------------------------------------------------------
def test_split_packages_splits_on_fashfed_and_the_order_follows(world: World) -> None:
    [number] = world.imported(package("7001", "FF-1", "FF-2", "FF-3"))
    ask = {"order_number": number, "packages": [{"lines": [{"sku": "FF-2"}]}]}

    done = world.attempt("send_split_packages", payload=ask, trigger="http")

    assert (done.status, done.succeeded) == ("success", 1), done.failures
    held = world.sandbox.packages()
    assert [i["id"] for i in held[number]["items"]] == [f"{number}-2"]
    [other] = [n for n in held if n != number]
    assert sorted(i["id"] for i in held[other]["items"]) == [f"{number}-1", f"{number}-3"]
    local = {
        o.package_id: sorted(k for k, i in world.items().items() if i.order_id == o.id)
        for o in world.orders_of(number)
    }
    assert local == {number: [f"{number}-2"], other: [f"{number}-1", f"{number}-3"]}
    assert world.run("get_orders").read == 0  # the new package is stored already
    # a claim on a moved item still finds its line
    world.sandbox.add_claims({"package_item": f"{number}-3"})
    assert world.run("get_cancel_orders").succeeded == 1


def test_a_split_whose_answer_was_lost_is_recognised(world: World) -> None:
    [number] = world.imported(package("7101", "FF-1", "FF-2"))
    world.sandbox.http.post(
        f"/api/i2/packages/{number}/split/",
        json={"packages": [{"items": [f"{number}-1"]}]},
        headers={"Authorization": "sandbox-token"},
    )
    ask = {"order_number": number, "packages": [{"lines": [{"line_id": f"{number}-1"}]}]}
    done = world.attempt("split_packages", payload=ask, trigger="http")
    assert (done.succeeded, done.failed) == (1, 0), done.failures
    assert len(world.sandbox.packages()) == 2  # split once
    assert {o.package_id for o in world.orders_of(number)} == set(world.sandbox.packages())


def test_a_split_naming_an_unknown_line_fails_and_changes_nothing(world: World) -> None:
    [number] = world.imported(package("7201"))
    ask = {"order_number": number, "packages": [{"lines": [{"sku": "NOPE"}]}]}
    done = world.attempt("split_packages", payload=ask, trigger="http")
    assert done.failed == 1 and "no live line {'sku': 'NOPE'}" in done.failures[0][1]
    assert len(world.sandbox.packages()) == 1


def test_a_split_payload_file_is_checked_before_anything_runs(world: World) -> None:
    bad = world.tmp / "split.json"
    bad.write_text(json.dumps({"payload": {"order_number": "x", "packages": []}}))
    result = world.cli(
        "trigger", "fashfed/split_packages", "--channel", "ff", "--payload", str(bad)
    )
    assert result.exit_code == 2 and "/payload/packages" in result.output


def test_a_dry_run_shows_each_package_update_and_sends_nothing(world: World) -> None:
    world.set('waybill_option={"enabled": true, "default": "999"}')
    [number] = world.imported(package("2701"))
    order_update(world, number, "--status", "shipped", "--invoice-number", "INV-5")
    result = world.cli("run", "fashfed/send_update_orders", "--channel", "ff", "--dry-run")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout.splitlines()[0])
    assert shown == {
        "package": number,
        "status": "shipped",
        "body": {"status": 3, "invoice_number": "INV-5", "waybill_number": "INV-5"},
    }
    assert updates(world, number) == []
    assert world.run("send_update_orders").succeeded == 1  # still to send after the dry run


def test_an_invoice_date_goes_out_as_i2_writes_dates() -> None:
    """A commerce backend may keep the invoice date with an offset or without a zone; Fashfed
    gets UTC with ``Z`` like every other i2 date, and a value that is no date unchanged (for
    Fashfed to refuse that order alone)."""
    from pazar_fashfed.package_steps import _i2_date

    assert _i2_date("2025-07-01T03:00:00+03:00") == "2025-07-01T00:00:00Z"
    assert _i2_date("2025-07-01 10:30") == "2025-07-01T10:30:00Z"
    assert _i2_date("yesterday") == "yesterday" and _i2_date(None) is None
