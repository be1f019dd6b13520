"""Hepsiburada's order side after import, end to end over real HTTP against the sandbox:
Order Update and the invoice link, Order Refund, Approve / Reject Refund, Updated Orders,
Unpacked Orders, Send Cancel Order Items, Update Warehouse and Split Packages (seed
sections 2, 7.4, 8, 9 and 11), each with its channel settings."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.db import Database
from pazar.errors import ValidationError
from pazar.models.channels import Channel
from pazar.models.commerce import CancellationReason, CancellationRequest, Order, OrderItem
from pazar.testing import Cli
from tests.hepsiburada.helpers import SandboxHandle
from tests.hepsiburada.test_orders import Shop, _iso

pytest_plugins = ("tests.hepsiburada.helpers",)

FLAGS = (
    "get_orders",
    "get_cancel_orders",
    "send_update_orders",
    "send_invoice_link",
    "get_refund_orders",
    "approve_refund",
    "reject_refund",
    "get_updated_orders",
    "unpacked_orders",
    "send_cancel_order_items",
    "split_packages",
    "update_warehouse",
)


class Store(Shop):
    """A channel with every order flag on, refund and cancel reasons, three carriers."""

    def __init__(self, db: Database, sandbox: SandboxHandle, clock: FixedClock, tmp: Path) -> None:
        super().__init__(db, sandbox, clock, tmp)
        files = {
            "cancellation_reasons": "kind,code,name\ncancel,hb,Cancelled on Hepsiburada\n"
            "cancel,stock,Out of stock\nrefund,quality,Poor quality\nrefund,other,Other\n",
            "cargo_companies": "code,name\naras,Aras Kargo\nptt,PTT Kargo\nloomis,Loomis\n",
        }
        with db.session() as session:
            for kind, text in files.items():
                path = tmp / f"{kind}.csv"
                path.write_text(text)
                import_file(session, kind, path)
            self.reasons = {
                (k, c): i
                for k, c, i in session.execute(
                    select(CancellationReason.kind, CancellationReason.code, CancellationReason.id)
                )
            }
        self.apply(
            feature_flags=dict.fromkeys(FLAGS, True),
            cancellation_reason_id=self.reasons[("cancel", "hb")],
            default_reason_id=self.reasons[("refund", "other")],
            refund_reason_mapping={"PoorQuality": self.reasons[("refund", "quality")]},
            send_cancellation_reason_id=83,
        )

    def imported(self, *numbers: str, **order: Any) -> dict[str, dict[str, Any]]:
        """Orders placed, packaged and imported; their packages by order number."""
        self.sandbox.add_orders([self.order(n, **order) for n in numbers])
        self.run("get_orders")
        return {
            p["items"][0]["orderNumber"]: p
            for p in self.sandbox.oms()["packages"]
            if p["items"][0]["orderNumber"] in numbers
        }

    def requests(self, path: str) -> list[str]:
        return [f"{r['method']} {r['path']}" for r in self.sandbox.requests(path)]

    def order_row(self, number: str) -> Order:
        with self.db.session() as session:
            row = session.scalars(select(Order).where(Order.remote_number == number)).one()
            session.expunge(row)
            return row

    def orders_of(self, number: str) -> list[Order]:
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(Order).where(Order.remote_number == number).order_by(Order.id)
                )
            )
            session.expunge_all()
            return rows

    def item_statuses(self, number: str) -> list[str]:
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(OrderItem.status)
                    .join(Order, Order.id == OrderItem.order_id)
                    .where(Order.remote_number == number)
                    .order_by(OrderItem.id)
                )
            )


@pytest.fixture
def store(db: Database, hb_sandbox: SandboxHandle, clock: FixedClock, tmp_path: Path) -> Store:
    return Store(db, hb_sandbox, clock, tmp_path)


# -- Order Update -----------------------------------------------------------------------------
def test_order_update_sends_status_and_tracking_once_and_never_backwards(
    store: Store, cli: Cli
) -> None:
    store.apply(
        send_shipping_info=True,
        shipping_provider={"hepsijet": {"tracking_url": "https://hj.example/{tracking_number}"}},
    )
    package = store.imported("1001")["1001"]["packageNumber"]
    assert store.run("send_update_orders").read == 1  # imported: nothing new to tell
    assert store.requests(package) == []

    cli("orders", "update", "1001", "--status", "shipped", "--tracking-number", "TR-77")
    store.run("send_update_orders")

    held = store.sandbox.package(package)
    assert (held["status"], held["trackingNumber"], held["trackingUrl"]) == (
        "InTransit",
        "TR-77",
        "https://hj.example/TR-77",
    )
    cli("orders", "update", "1001", "--status", "delivered")
    store.run("send_update_orders")
    assert store.sandbox.package(package)["status"] == "Delivered"
    # Body dates as the reference writes them (UTC, milliseconds, Z; the sandbox refuses a
    # date without its zone); nobody signed for it as far as pazar knows: no receivedBy
    feeds = store.sandbox.oms()["feeds"]
    (shipped,), (delivered,) = feeds["shipped"], feeds["delivered"]
    for date in (shipped["ShippedDate"], delivered["DeliveredDate"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", date), date
    assert store.sandbox.package(package)["receivedBy"] is None
    sent = store.requests(package)
    assert sent == [
        f"POST /packages/merchantid/{store.config['merchant_id']}/packagenumber/{package}/intransit",
        f"POST /packages/merchantid/{store.config['merchant_id']}/packagenumber/{package}/deliver",
    ]

    # A value longer than its column: PostgreSQL stopped with a DataError, SQLite kept it
    long = cli("orders", "update", "1001", "--tracking-number", "T" * 256)
    assert long.exit_code == 2
    assert "tracking number: at most 255 characters, not 256" in long.stderr
    # A year 1 was stored as "1-01-01" and sent on as the invoice's date
    for typo in ("0001-01-01", "2999-12-31"):
        dated = cli("orders", "update", "1001", "--invoice-date", typo)
        assert dated.exit_code == 2
        assert f"--invoice-date {typo}: an invoice date is between 2000-01-01 and " in dated.stderr

    # Seed section 8: the status cannot be updated retrospectively; the local order stays
    # where the marketplace is instead of moving behind it.
    back = cli("orders", "update", "1001", "--status", "shipped")
    assert back.exit_code == 2
    assert back.stderr.strip().endswith(
        " is delivered: its status cannot go back to shipped "
        "(the status of an order cannot be updated retrospectively)"
    )
    shown = json.loads(cli("orders", "show", "1001", "--json").stdout)
    assert shown["status"] == "delivered"
    assert store.run("send_update_orders").read == 0
    assert store.requests(package) == sent  # nothing more went out


def test_without_send_shipping_info_no_tracking_goes_out(store: Store, cli: Cli) -> None:
    package = store.imported("1101")["1101"]["packageNumber"]
    cli("orders", "update", "1101", "--status", "shipped", "--tracking-number", "TR-1")

    store.run("send_update_orders")

    assert store.sandbox.package(package)["status"] == "Packaged"  # Hepsiburada ships it
    assert store.requests(package) == []
    store.sandbox.carrier(package, "ship")
    cli("orders", "update", "1101", "--status", "delivered")
    store.run("send_update_orders")
    assert store.sandbox.package(package)["status"] == "Delivered"
    assert "trackingNumber" not in str(store.requests("intransit"))


@pytest.mark.parametrize(
    ("carrier", "provider", "tracking", "url"),
    [
        (
            "ptt",
            {"ptt": {"tracking_url": "https://ptt.example/track"}},
            "KP123-9f1c-22aa",
            "https://ptt.example/track?barkod=KP123&barkod_guid=9f1c-22aa",
        ),
        (
            "loomis",
            {"loomis": {"tracking_url": {"tur": "https://lo.example?t={tracking_number}"}}},
            "tur-1234566",
            "https://lo.example?t=tur-1234566",
        ),
    ],
)
def test_tracking_urls_follow_the_ptt_and_loomis_rules(
    store: Store, cli: Cli, carrier: str, provider: dict[str, Any], tracking: str, url: str
) -> None:
    with store.db.session() as session:
        from pazar.models.commerce import CargoCompany

        cargo = session.scalar(select(CargoCompany.id).where(CargoCompany.code == carrier))
    store.apply(
        send_shipping_info=True,
        shipping_provider=provider,
        cargo_company_mapping={"HepsiJet": cargo},
    )
    package = store.imported("1201")["1201"]["packageNumber"]
    cli("orders", "update", "1201", "--status", "shipped", "--tracking-number", tracking)

    store.run("send_update_orders")

    assert store.sandbox.package(package)["trackingUrl"] == url


def test_an_unknown_shipping_provider_fails_the_order_with_the_reason(
    store: Store, cli: Cli
) -> None:
    store.apply(
        send_shipping_info=True, shipping_provider={"aras": {"tracking_url": "x{tracking_number}"}}
    )
    store.imported("1251")
    cli("orders", "update", "1251", "--status", "shipped", "--tracking-number", "T")

    result = store.run("send_update_orders")

    assert result.failed == 1
    assert (
        "shipping provider 'hepsijet' is not in the shipping_provider mapping"
        in (result.failures[0][1])
    )


def test_no_update_for_an_order_with_an_open_refund(store: Store, cli: Cli) -> None:
    package = store.imported("1301")["1301"]
    store.sandbox.claim(package["items"][0]["lineItemId"], reason="PoorQuality")
    store.run("get_refund_orders")
    cli("orders", "update", "1301", "--status", "delivered", "--invoice-url", "https://i.example/1")
    store.sandbox.carrier(package["packageNumber"], "ship")

    assert store.run("send_update_orders").read == 0
    assert store.run("send_invoice_link").read == 0  # seed section 8: not while a refund is open

    [request] = json.loads(cli("refunds", "list", "--json").output)
    cli("refunds", "approve", str(request["id"]))
    assert store.run("send_update_orders").succeeded == 1
    assert store.sandbox.package(package["packageNumber"])["status"] == "Delivered"


def test_invoice_link_goes_to_the_package_once(store: Store, cli: Cli) -> None:
    package = store.imported("1401")["1401"]["packageNumber"]
    assert store.run("send_invoice_link").read == 0  # no invoice yet

    cli("orders", "update", "1401", "--invoice-url", "https://inv.example/1401.pdf")
    store.run("send_invoice_link")
    cli("orders", "update", "1401", "--status", "preparing")  # another change, same invoice
    quiet = store.run("send_invoice_link")

    assert store.sandbox.package(package)["invoiceLink"] == "https://inv.example/1401.pdf"
    assert len(store.requests("/invoice")) == 1 and quiet.skipped == 1
    cli("orders", "update", "1401", "--invoice-url", "https://inv.example/1401-b.pdf")
    late = store.run("send_invoice_link")
    assert (late.succeeded, late.failed) == (1, 0)  # Hepsiburada keeps the first link
    assert any("keeps the first link" in line for line in store.logs())


# -- Order Refund, Approve Refunds, Reject Refund --------------------------------------------
def test_claims_become_refund_requests_once_with_their_reasons(store: Store) -> None:
    packages = store.imported("2001", "2002", skus=("HB-1", "HB-2"))
    first, second = packages["2001"]["items"], packages["2002"]["items"]
    store.sandbox.claim(first[0]["lineItemId"], reason="PoorQuality", photos=["https://c/1.jpg"])
    store.sandbox.claim(second[1]["lineItemId"], reason="SizeTooLarge", explanation="big")

    result = store.run("get_refund_orders")

    assert (result.read, result.succeeded) == (2, 2)
    with store.db.session() as session:
        rows = {
            r.remote_reason: r
            for r in session.scalars(
                select(CancellationRequest).where(CancellationRequest.kind == "refund")
            )
        }
        session.expunge_all()
    assert rows["PoorQuality"].reason_id == store.reasons[("refund", "quality")]
    assert rows["PoorQuality"].photo_urls == ["https://c/1.jpg"]
    assert rows["SizeTooLarge"].reason_id == store.reasons[("refund", "other")]  # default
    assert {r.status for r in rows.values()} == {"open"}
    assert store.run("get_refund_orders").read == 0  # stored: each once


def test_refund_window_start_date_and_refundable_days(store: Store) -> None:
    store.apply(orders_refundable_days=10)
    old = store.order("2101", orderDate=_iso(store.clock.now() - timedelta(days=12)))
    store.sandbox.add_orders([old, store.order("2102")])
    store.run("get_orders")
    lines = {x["orderNumber"]: x["id"] for x in store.sandbox.oms()["lines"]}
    store.sandbox.claim(lines["2101"], reason="PoorQuality")
    store.sandbox.claim(
        lines["2102"], claimDate=_iso(store.clock.now() - timedelta(days=3)), reason="PoorQuality"
    )

    read = store.run("get_refund_orders")
    assert (read.succeeded, read.skipped) == (1, 1)  # 2101's order is 12 days old
    assert "older than orders_refundable_days (10)" in " ".join(store.logs())

    store.apply(refund_start_date=_iso(store.clock.now() - timedelta(days=1)).replace(".000", ""))
    store.sandbox.claim(
        lines["2102"], claimDate=_iso(store.clock.now() - timedelta(days=2)), reason="Other"
    )
    assert store.run("get_refund_orders").read == 1  # before refund_start_date: not read


def test_approved_and_rejected_refunds_reach_their_claims(store: Store, cli: Cli) -> None:
    items = store.imported("2201", skus=("HB-1", "HB-2"))["2201"]["items"]
    keep = store.sandbox.claim(items[0]["lineItemId"], reason="PoorQuality")
    refuse = store.sandbox.claim(items[1]["lineItemId"], reason="PoorQuality")
    store.run("get_refund_orders")
    ids = {r["sku"]: r["id"] for r in json.loads(cli("refunds", "list", "--json").output)}
    cli("refunds", "approve", str(ids["HB-1"]))
    cli(
        "refunds",
        "reject",
        str(ids["HB-2"]),
        "--reason",
        "ProductHasBeenUsed",
        "--explanation",
        "the box came back opened and used",
        "--photo-url",
        "https://evidence.example/box.jpg",
    )

    assert store.run("approve_refund").succeeded == 1
    assert store.run("reject_refund").succeeded == 1

    claims = {c["number"]: c for c in store.sandbox.oms()["claims"]}
    assert claims[keep["number"]]["status"] == "Accepted"
    rejected = claims[refuse["number"]]
    assert (rejected["status"], rejected["ClaimRejectionReason"]) == (
        "Rejected",
        "ProductHasBeenUsed",
    )
    assert rejected["merchantRejectionStatement"] == "the box came back opened and used"
    assert {"ImageUrl": "https://evidence.example/box.jpg", "ReportedBy": "Merchant"} in rejected[
        "Reports"
    ]
    assert (store.run("approve_refund").read, store.run("reject_refund").read) == (0, 0)


def test_a_claim_hepsiburada_closed_meanwhile_is_penalised_with_its_answer(
    store: Store, cli: Cli
) -> None:
    items = store.imported("2301")["2301"]["items"]
    claim = store.sandbox.claim(items[0]["lineItemId"], reason="PoorQuality")
    store.run("get_refund_orders")
    [request] = json.loads(cli("refunds", "list", "--json").output)
    cli("refunds", "approve", str(request["id"]))
    withdrawn = store.sandbox.http.post(  # the customer withdrew it meanwhile
        f"/_sandbox/claims/{claim['number']}/status", json={"status": "Cancelled"}
    )
    assert withdrawn.status_code == 200

    result = store.run("approve_refund")

    assert result.failed == 1 and "awaits no decision" in result.failures[0][1]
    assert store.penalties()[claim["number"]].content_type == "refundapproval"


# -- Updated Orders, Unpacked Orders -------------------------------------------------------
def test_updated_orders_move_orders_forward_and_are_not_echoed(store: Store) -> None:
    packages = store.imported("3001", "3002", "3003")
    numbers = {n: p["packageNumber"] for n, p in packages.items()}
    for n in numbers.values():
        store.sandbox.carrier(n, "ship", trackingNumber=f"HJ{n}")
    store.sandbox.carrier(numbers["3002"], "deliver")
    store.sandbox.carrier(numbers["3003"], "undeliver", reason="AddressNotFound")

    result = store.run("get_updated_orders")

    assert result.failed == 0
    assert {n: store.order_row(n).status for n in numbers} == {
        "3001": "shipped",
        "3002": "delivered",
        "3003": "undelivered",
    }
    assert store.order_row("3001").tracking_number == f"HJ{numbers['3001']}"
    assert store.item_statuses("3002") == ["delivered"]
    again = store.run("get_updated_orders")
    assert again.succeeded == 0 and again.skipped == again.read  # nothing changes twice
    store.run("send_update_orders")  # what Hepsiburada said itself is not sent back
    assert [r for r in store.requests("/") if r.startswith("POST")] == []


def test_broken_packages_cancel_their_orders_once(store: Store) -> None:
    packages = store.imported("3101", "3102")
    store.sandbox.carrier(packages["3101"]["packageNumber"], "break")

    result = store.run("unpacked_orders")

    assert result.succeeded == 1
    broken = store.order_row("3101")
    assert broken.status == "cancelled" and store.item_statuses("3101") == ["cancelled"]
    assert store.order_row("3102").status == "new"
    with store.db.session() as session:
        reason = session.scalar(
            select(OrderItem.cancellation_reason_id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.remote_number == "3101")
        )
    assert reason == store.reasons[("cancel", "hb")]
    assert store.run("unpacked_orders").read == 0
    # Its lines are open again on Hepsiburada: packed anew, they are a new order.
    store.apply(automatic_packing=True)
    store.run("get_orders")
    with store.db.session() as session:
        assert session.scalar(
            select(Order.status).where(Order.remote_number == "3101", Order.status == "new")
        )


# -- Send Cancel Order Items ---------------------------------------------------------------
def test_seller_cancellations_reach_hepsiburada_and_theirs_never_go_back(
    store: Store, cli: Cli
) -> None:
    packages = store.imported("4001", "4002", skus=("HB-1", "HB-2"))
    mine, theirs = packages["4001"]["items"], packages["4002"]["items"]
    store.sandbox.http.post(
        "/_sandbox/orders/cancel",
        json={"cancellations": [{"lineItemId": theirs[0]["lineItemId"], "reason": "Other"}]},
    ).raise_for_status()
    store.run("get_cancel_orders")  # Hepsiburada's own cancellation, stored locally

    refused = cli(
        "orders",
        "cancel-items",
        "4001",
        "--item",
        mine[1]["lineItemId"],
        "--reason",
        str(store.reasons[("cancel", "stock")]),
    )
    assert refused.exit_code == 2
    assert "Unreported order of ERP can not be canceled" in refused.output
    cli("orders", "update", "4001", "--status", "preparing")
    done = cli(
        "orders",
        "cancel-items",
        "4001",
        "--item",
        mine[1]["lineItemId"],
        "--reason",
        str(store.reasons[("cancel", "stock")]),
    )
    assert done.exit_code == 0, done.output

    result = store.run("send_cancel_order_items")

    assert (result.read, result.succeeded) == (1, 1)
    lines = {x["id"]: x for x in store.sandbox.oms()["lines"]}
    assert lines[mine[1]["lineItemId"]]["status"] == "CancelledByMerchant"
    assert lines[mine[1]["lineItemId"]]["cancelReasonId"] == 83
    assert store.requests("/cancelbymerchant") == [
        f"POST /lineitems/merchantid/{store.config['merchant_id']}/id/{mine[1]['lineItemId']}/cancelbymerchant"
    ]
    # Hepsiburada lists the seller's cancellation among its own: recognised, not stored twice.
    assert store.run("get_cancel_orders").read == 0
    assert store.run("send_cancel_order_items").read == 0


def test_a_cancellation_of_an_unreported_order_fails_with_the_seeds_message(
    store: Store, cli: Cli
) -> None:
    items = store.imported("4101")["4101"]["items"]
    cli("orders", "update", "4101", "--status", "preparing")
    cli(
        "orders",
        "cancel-items",
        "4101",
        "--item",
        items[0]["lineItemId"],
        "--reason",
        str(store.reasons[("cancel", "stock")]),
    )
    # An outside commerce backend took it back (`orders update` refuses a step back).
    with store.db.session() as session:
        session.execute(update(Order).where(Order.number.like("%4101%")).values(status="new"))

    result = store.run("send_cancel_order_items")

    assert result.failures == [
        (f"4101/{items[0]['lineItemId']}", "Unreported order of ERP can not be canceled")
    ]
    assert store.requests("/cancelbymerchant") == []


def test_without_send_cancellation_reason_id_nothing_is_cancelled(store: Store, cli: Cli) -> None:
    # Seed: "before activating this flag, Send Cancellation Reason ID must be configured".
    with pytest.raises(ValidationError) as refused:
        store.apply(send_cancellation_reason_id=None)
    assert (
        "send_cancellation_reason_id: is required while feature_flags.send_cancel_order_items "
        "is on (Send Cancellation Reason ID), but empty" in refused.value.details
    )
    # A config stored before that rule: the flow still refuses to send without a reason.
    with store.db.session() as session:
        channel = session.scalar(select(Channel).where(Channel.slug == "hb"))
        channel.config = {**channel.config, "send_cancellation_reason_id": None}
    items = store.imported("4201")["4201"]["items"]
    cli("orders", "update", "4201", "--status", "preparing")
    cli(
        "orders",
        "cancel-items",
        "4201",
        "--item",
        items[0]["lineItemId"],
        "--reason",
        str(store.reasons[("cancel", "stock")]),
    )

    result = store.run("send_cancel_order_items")

    assert "send_cancellation_reason_id is not set" in result.failures[0][1]
    assert store.requests("/cancelbymerchant") == []


def test_the_daily_cancel_limit_stops_the_run_without_penalties(store: Store, cli: Cli) -> None:
    store.sandbox.seed(settings={"cancel_daily_limit": 1})
    items = store.imported("4301", skus=("HB-1", "HB-2"))["4301"]["items"]
    cli("orders", "update", "4301", "--status", "preparing")
    for item in items:
        cli(
            "orders",
            "cancel-items",
            "4301",
            "--item",
            item["lineItemId"],
            "--reason",
            str(store.reasons[("cancel", "stock")]),
        )

    result = store.attempt("send_cancel_order_items")

    assert result.status == "failed" and "daily cancel limit" in (result.error or "")
    assert store.penalties() == {}
    store.sandbox.seed(settings={"cancel_daily_limit": 100})  # the next day
    assert store.run("send_cancel_order_items").succeeded == 1  # only the one left


# -- Update Warehouse, Split Packages (OMS triggers) -------------------------------------
def _body(path: Path, payload: dict[str, Any]) -> str:
    path.write_text(json.dumps({"payload": payload}))
    return str(path)


def test_update_warehouse_from_a_payload_file(store: Store, cli: Cli) -> None:
    store.apply(shipping_address_label_mapping={"WH-EXP-TR-34": "IKINCIL"})
    package = store.imported("5001")["5001"]["packageNumber"]
    body = _body(
        store.tmp / "wh.json",
        {"order_number": "5001", "stock_location": {"erp_code": "WH-EXP-TR-34"}},
    )

    done = cli("trigger", "hepsiburada/update_warehouse", "--channel", "hb", "--payload", body)

    assert done.exit_code == 0, done.output
    assert store.sandbox.package(package)["shippingAddressLabel"] == "IKINCIL"

    unmapped = _body(
        store.tmp / "wh2.json", {"order_number": "5001", "stock_location": {"erp_code": "WH-9"}}
    )
    failed = cli(
        "trigger", "hepsiburada/update_warehouse", "--channel", "hb", "--payload", unmapped
    )
    assert failed.exit_code == 3
    assert "no shipping_address_label_mapping entry for erp_code 'WH-9'" in failed.output


def test_a_bad_trigger_body_is_refused_before_anything_runs(store: Store, cli: Cli) -> None:
    path = store.tmp / "bad.json"
    path.write_text(json.dumps({"payload": {"order_number": "5001", "stock_location": {}}}))

    refused = cli(
        "trigger", "hepsiburada/update_warehouse", "--channel", "hb", "--payload", str(path)
    )

    assert refused.exit_code == 2
    assert "/payload/stock_location: 'erp_code' is a required property" in refused.output
    assert "Traceback" not in refused.output
    path.write_text("{not json")
    broken = cli(
        "trigger", "hepsiburada/update_warehouse", "--channel", "hb", "--payload", str(path)
    )
    assert broken.exit_code == 2 and f"{path}:1:2: not valid JSON" in broken.output
    path.write_text('{"payload": {"order_number": "\\ud800"}}')
    no_text = cli(
        "trigger", "hepsiburada/update_warehouse", "--channel", "hb", "--payload", str(path)
    )
    assert no_text.exit_code == 2 and f"{path}: contains a lone surrogate" in no_text.output


def test_update_warehouse_over_the_http_trigger_api(store: Store, db: Database) -> None:
    from starlette.testclient import TestClient

    from pazar.daemon import Daemon
    from pazar.http_trigger import create_app
    from pazar.tokens import create_token

    store.apply(shipping_address_label_mapping={"HBS": "122"})
    package = store.imported("5101")["5101"]["packageNumber"]
    with db.session() as session:
        token = create_token(session, "oms", now=store.clock.now())
    api = TestClient(create_app(db, store.registry, clock=store.clock))

    answer = api.post(
        "/flow-trigger/hb/update_warehouse",
        headers={"Authorization": f"Token {token}"},
        json={"payload": {"order_number": "5101", "stock_location": {"erp_code": "HBS"}}},
    )
    assert answer.status_code == 202, answer.text
    Daemon(db, store.registry, clock=store.clock).drain()

    assert store.sandbox.package(package)["shippingAddressLabel"] == "122"


def test_split_packages_splits_on_hepsiburada_and_the_order_follows(store: Store) -> None:
    package = store.imported("6001", skus=("HB-1", "HB-2"))["6001"]
    ask = {"order_number": "6001", "packages": [{"lines": [{"sku": "HB-2"}]}]}

    done = store.attempt("split_packages", payload=ask, trigger="http")

    assert (done.status, done.succeeded) == ("success", 1), done.failures
    held = {p["packageNumber"]: p for p in store.sandbox.oms()["packages"]}
    assert held[package["packageNumber"]]["status"] == "Split"
    new = held[package["packageNumber"]]["splitInto"]
    with store.db.session() as session:
        local = {
            o.package_id: sorted(
                i.sku for i in session.scalars(select(OrderItem).where(OrderItem.order_id == o.id))
            )
            for o in session.scalars(select(Order).where(Order.remote_number == "6001"))
        }
    assert local == {new[0]: ["HB-2"], new[1]: ["HB-1"]}
    assert store.run("get_orders").read == 0  # the new packages are stored already
    again = store.attempt("split_packages", payload=ask, trigger="http")
    names = ", ".join(o.number for o in store.orders_of("6001"))
    assert again.failures == [("6001", f"order 6001 is 2 packages: name one ({names})")]
    again = store.attempt("split_packages", payload=ask, trigger="http")
    assert again.failures == [
        (
            "6001",
            "order 6001 is 2 packages: name one ("
            + ", ".join(sorted(o.number for o in store.orders_of("6001")))
            + ")",
        )
    ]


# -- labels, erp code -----------------------------------------------------------------------
def test_cargo_labels_and_erp_code_travel_with_the_order(store: Store) -> None:
    store.apply(use_cargo_label=True, check_hepsijet_format_type="png", erp_code="HB01")
    store.apply(
        cargo_company_mapping={
            "HepsiJet": store.cargo["hepsijet"],
            "default": store.cargo["yurtici"],
        }
    )
    store.imported("7001")
    store.imported("7002", cargoCompany="YK")  # no mutual barcode from this carrier

    hj, aras = store.order_row("7001"), store.order_row("7002")

    assert hj.extra["cargo_label"]["format"] == "png" and hj.extra["cargo_label"]["data"]
    assert "cargo_label" not in aras.extra and hj.extra["erp_code"] == "HB01"
    assert any("Cargo company does not provide mutual barcodes" in x for x in store.logs())


def test_calls_whose_answers_were_lost_are_not_penalised_when_sent_again(
    store: Store, cli: Cli
) -> None:
    store.apply(send_shipping_info=True)
    packages = store.imported("7101", skus=("HB-1", "HB-2"))
    package = packages["7101"]["packageNumber"]
    # Hepsiburada did these already (as if pazar was killed before it recorded them).
    store.sandbox.carrier(package, "ship")
    store.sandbox.carrier(package, "deliver")
    cli("orders", "update", "7101", "--status", "delivered")
    claim = store.sandbox.claim(packages["7101"]["items"][0]["lineItemId"], reason="Other")
    store.run("get_refund_orders")
    [request] = json.loads(cli("refunds", "list", "--json").output)
    cli("refunds", "approve", str(request["id"]))
    store.sandbox.http.post(
        f"/_sandbox/claims/{claim['number']}/status", json={"status": "Accepted"}
    )

    update, decision = store.run("send_update_orders"), store.run("approve_refund")

    assert (update.succeeded, update.failed, decision.succeeded, decision.failed) == (1, 0, 1, 0)
    assert store.penalties() == {}
