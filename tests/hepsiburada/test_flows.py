"""Hepsiburada stock and price flows end to end, over real HTTP against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.commerce.local import set_stock
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.models.commerce import Product, Stock
from pazar.models.state import BatchRequest, IntegrationAction
from pazar.plugins import load_plugins
from pazar.runner import RunOptions, run_flow
from tests.hepsiburada.helpers import (
    ChannelFlows,
    RecordingSleep,
    SandboxHandle,
    sleepless_plugins,
)

pytest_plugins = ("tests.hepsiburada.helpers",)

SKUS = ["HB-1", "HB-2", "HB-3", "HB-4"]


class World(ChannelFlows):
    """A channel on the sandbox with a small catalog, and a way to run its flows."""

    def __init__(self, db: Database, sandbox: SandboxHandle, clock: FixedClock, tmp: Path) -> None:
        self.db, self.sandbox, self.clock = db, sandbox, clock
        self.sleep = RecordingSleep()
        registry = sleepless_plugins(lambda _channel: self.config, self.sleep).registry
        self.registry = registry
        self.flows = load_flows(registry)
        sandbox.seed(listings=[{"merchantSku": sku} for sku in SKUS])
        files = {
            "products": "sku,name,categories,images\n"
            + "".join(f'{s},{s},"[""A""]",https://img/{s}.jpg\n' for s in SKUS),
            "prices": "sku,price\n" + "".join(f"{s},{100 + i}.50\n" for i, s in enumerate(SKUS)),
            "stocks": "sku,quantity\n" + "".join(f"{s},{i + 1}\n" for i, s in enumerate(SKUS)),
            "catalog_items": "catalog,sku\n" + "".join(f"hb,{s}\n" for s in SKUS),
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
            feature_flags={"stock": True, "price": True},
            catalog_code="hb",
            buffer_stock=3,
        )
        with db.session() as session:
            ChannelService(session, registry, clock=clock).apply(
                {
                    "channel": "hb",
                    "plugin": "hepsiburada",
                    "config": self.config,
                    "status": "active",
                }
            )

    def sent(self, kind: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for batch in self.sandbox.received(kind)["batches"]:
            for row in batch["rows"]:
                out[row["merchantSku"]] = row
        return out


@pytest.fixture
def world(db: Database, hb_sandbox: SandboxHandle, clock: FixedClock, tmp_path: Path) -> World:
    return World(db, hb_sandbox, clock, tmp_path)


def test_stock_minus_buffer_never_below_zero(world: World) -> None:
    result = world.sync("stock")
    assert (result.read, result.sent) == (4, 4)
    sent = world.sent("stock")
    # stocks 1..4, buffer stock 3
    assert {sku: row["availableStock"] for sku, row in sent.items()} == {
        "HB-1": 0,
        "HB-2": 0,
        "HB-3": 0,
        "HB-4": 1,
    }
    with world.db.session() as session:
        assert session.scalar(select(BatchRequest.status)) == "done"
        integrated = session.scalars(
            select(IntegrationAction.object_key).where(
                IntegrationAction.content_type == "productstock"
            )
        ).all()
    assert sorted(integrated) == SKUS
    again = world.run("stock")
    assert again.read == 0  # nothing changed since: nothing is sent twice


def test_maximum_purchasable_quantity_from_stock_extra(world: World) -> None:
    with world.db.session() as session:
        set_stock(session, "HB-4", 10, {"maximumPurchasableQuantity": 2})
    world.sync("stock")
    assert world.sent("stock")["HB-4"] == {
        "merchantSku": "HB-4",
        "availableStock": 7,
        "maximumPurchasableQuantity": 2,
    }


def test_a_rejected_price_row_penalises_only_that_sku(world: World) -> None:
    world.sandbox.faults(price_bands={"HB-2": {"min": 500, "max": 900}})
    world.sync("price")
    penalties = world.penalties()
    assert list(penalties) == ["HB-2"]
    assert penalties["HB-2"].reason_type == "remote"
    assert (
        "OutOfPriceRange" in penalties["HB-2"].message
        or "price" in penalties["HB-2"].message.lower()
    )
    assert set(world.sent("price")) == set(SKUS)
    # The penalised SKU waits for its retry interval; the next run does not send it.
    assert world.run("price").read == 0


def test_a_429_storm_delays_but_loses_nothing(world: World) -> None:
    world.sandbox.faults(rate_limit={"count": 5, "retry_after": 2})
    result = world.sync("stock")
    assert result.failed == 0
    assert set(world.sent("stock")) == set(SKUS)
    assert world.penalties() == {}
    assert world.sleep.total >= 10  # five Retry-After waits, none of them real


def test_an_upload_that_never_completes_fails_after_expiration_hour(world: World) -> None:
    world.sandbox.faults(stuck_uploads=1)
    world.run("stock")
    world.run("check_uploads")
    assert world.penalties() == {}  # still waiting, within the hour
    world.clock.advance(timedelta(hours=1, seconds=1).total_seconds())
    world.run("check_uploads")
    penalties = world.penalties()
    assert sorted(penalties) == SKUS
    assert all(p.reason_type == "remote" for p in penalties.values())
    assert "EXPIRATION_HOUR" in penalties["HB-1"].message
    with world.db.session() as session:
        assert session.scalar(select(BatchRequest.status)) == "fail"


def stock_state(world: World, sku: str) -> tuple[int, int | None]:
    """(current stock version, version of its integration action) of one SKU."""
    with world.db.session() as session:
        current = session.scalar(
            select(Stock.version)
            .join(Product, Product.id == Stock.product_id)
            .where(Product.sku == sku)
        )
        integrated = session.scalar(
            select(IntegrationAction.version).where(
                IntegrationAction.object_key == sku,
                IntegrationAction.content_type == "productstock",
            )
        )
    return int(current), integrated


def test_a_newer_stock_goes_out_while_the_older_upload_is_unconfirmed(world: World) -> None:
    world.sandbox.faults(stuck_uploads=1)  # the first upload never gets an answer
    assert world.run("stock").sent == 4
    with world.db.session() as session:
        set_stock(session, "HB-4", 50)
    again = world.run("stock")
    assert (again.read, again.sent) == (1, 1)  # HB-4's upload is unanswered: no matter
    assert [b["rows"] for b in world.sandbox.received("stock")["batches"]][1] == [
        {"merchantSku": "HB-4", "availableStock": 47}
    ]
    assert world.run("stock").read == 0  # its newest value is in flight: not sent twice
    for _ in range(3):
        world.run("check_uploads")
    assert world.sandbox.listings()["HB-4"]["availableStock"] == 47
    current, integrated = stock_state(world, "HB-4")
    assert integrated == current
    # The first upload expires; only the records nothing newer carries are penalised.
    world.clock.advance(timedelta(hours=1, seconds=1).total_seconds())
    world.run("check_uploads")
    assert sorted(world.penalties()) == ["HB-1", "HB-2", "HB-3"]
    assert stock_state(world, "HB-4") == (current, current)


def test_two_unconfirmed_stock_uploads_land_in_order(world: World) -> None:
    world.run("stock")
    with world.db.session() as session:
        set_stock(session, "HB-1", 20)
    world.run("stock")
    with world.db.session() as session:
        set_stock(session, "HB-1", 30)
    world.run("stock")
    assert len(world.sandbox.received("stock")["batches"]) == 3  # none waited for an answer
    for _ in range(3):
        world.run("check_uploads")
    assert world.sandbox.listings()["HB-1"]["availableStock"] == 27
    current, integrated = stock_state(world, "HB-1")
    assert integrated == current
    assert world.penalties() == {}
    assert world.run("stock").read == 0


def test_too_many_ongoing_uploads_is_throttling_not_a_rejection(world: World) -> None:
    world.sandbox.seed(settings={"max_pending_uploads": 1})  # Hepsiburada's limit, made small
    assert world.run("stock").sent == 4  # one upload, unanswered for now
    with world.db.session() as session:
        set_stock(session, "HB-4", 50)
    busy = world.attempt("stock")
    assert busy.status == "failed" and busy.retryable
    assert "too many ongoing" in (busy.error or "")
    assert world.penalties() == {}  # a busy marketplace is nobody's record's fault
    for _ in range(3):
        world.run("check_uploads")  # the first upload is answered: room for the next
    assert world.run("stock").sent == 1
    for _ in range(3):
        world.run("check_uploads")
    assert world.sandbox.listings()["HB-4"]["availableStock"] == 47
    assert world.penalties() == {}


def test_dry_run_renders_payloads_and_sends_nothing(world: World) -> None:
    payloads: list[Any] = []
    result = run_flow(
        world.db,
        world.registry,
        world.flows.get("hepsiburada/stock"),
        world.channel(),
        clock=world.clock,
        options=RunOptions(dry_run=True, echo=payloads.append),
    )
    assert result.run_id is None and len(payloads) == 4
    assert world.sandbox.received("stock")["count"] == 0


def test_changing_category_ids_asks_for_category_node_then_attributes(world: World) -> None:
    with world.db.session() as session:
        service = ChannelService(
            session, world.registry, clock=world.clock, hook=load_plugins().hook
        )
        saved = service.set("hb", ["category_ids=60001001,60002001"])
    assert saved.requested_flows == ["category_node", "category_attributes"]


def test_a_500_storm_on_uploads_penalises_nothing_and_the_next_run_sends_everything(
    world: World,
) -> None:
    world.sandbox.faults(http_error={"count": 50, "status": 500, "path": "stock-uploads"})
    stormed = world.attempt("stock")
    assert stormed.status == "failed" and stormed.retryable
    assert "HTTP 500" in (stormed.error or "")
    assert world.penalties() == {}  # an outage is nobody's record's fault
    # The records stay eligible: a stock set to 0 during the outage is what goes out next.
    with world.db.session() as session:
        set_stock(session, "HB-4", 0)
    payloads: list[Any] = []
    dry = world.attempt("stock", dry_run=True, echo=payloads.append)
    assert dry.sent == 4 and {p["merchantSku"] for p in payloads} == set(SKUS)
    world.sandbox.faults(http_error=None)
    world.sync("stock")
    assert {sku: row["availableStock"] for sku, row in world.sent("stock").items()} == {
        "HB-1": 0,
        "HB-2": 0,
        "HB-3": 0,
        "HB-4": 0,
    }
    assert world.penalties() == {}


def test_the_daemon_retries_a_job_that_failed_on_an_outage_with_backoff(world: World) -> None:
    from pazar.daemon import Daemon
    from pazar.jobs.queue import enqueue
    from pazar.models.jobs import Job

    world.sandbox.faults(http_error={"count": 4, "status": 503, "path": "stock-uploads"})
    with world.db.session() as session:
        job_id = enqueue(
            session,
            channel_id=world.channel().id,
            flow="hepsiburada/stock",
            trigger="manual",
            now=world.clock.now(),
        )
    daemon = Daemon(world.db, world.registry, clock=world.clock, say=lambda _m: None)
    daemon.drain()
    with world.db.session() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.attempts) == ("queued", 1)
        assert job.not_before == world.clock.now() + timedelta(seconds=30)
        assert "HTTP 503" in (job.error or "")
    daemon.drain()  # not due yet: nothing runs
    assert world.sent("stock") == {}
    world.clock.advance(30)
    daemon.drain()
    with world.db.session() as session:
        job = session.get(Job, job_id)
        assert (job.status, job.attempts) == ("done", 2)
    assert set(world.sent("stock")) == set(SKUS)
    assert world.penalties() == {}


def test_a_custom_flow_that_renders_values_hepsiburada_cannot_take_fails_them_locally(
    db: Database,
    hb_sandbox: SandboxHandle,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    overlay = tmp_path / "flows" / "hepsiburada"
    overlay.mkdir(parents=True)
    (overlay / "stock.yaml").write_text(
        "flow: stock\ntitle: Stock, written by the seller\nplugin: hepsiburada\n"
        "feature_flag: stock\nschedule: '* * * * *'\ntriggers: [manual]\n"
        "content_type: productstock\nsource: {type: commerce.changed_stocks}\n"
        "steps:\n  - type: core.map\n    fields:\n"
        "      merchantSku: '{{ record.sku }}'\n"
        "      availableStock: \"{{ {'HB-1': 'abc', 'HB-2': 7.5}.get(record.sku, record.quantity) }}\"\n"
        "      colour: \"{{ 'red' if record.sku == 'HB-3' else none }}\"\n"
        "sink: {type: hepsiburada.stock_uploads}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PAZAR_FLOWS_PATH", str(tmp_path / "flows"))
    world = World(db, hb_sandbox, clock, tmp_path)
    shown: list[Any] = []
    dry = world.attempt("stock", dry_run=True, echo=shown.append)
    assert (dry.read, dry.sent, dry.failed) == (4, 1, 3)  # a dry run says the same
    assert shown == [{"merchantSku": "HB-4", "availableStock": 4}]
    assert world.penalties() == {}

    result = world.sync("stock")
    assert (result.read, result.sent, result.failed) == (4, 1, 3)
    assert set(world.sent("stock")) == {"HB-4"}  # only the row Hepsiburada can take
    penalties = world.penalties()
    assert {sku: p.reason_type for sku, p in penalties.items()} == {
        "HB-1": "mapping",
        "HB-2": "mapping",
        "HB-3": "mapping",
    }
    assert "availableStock" in penalties["HB-1"].message
    assert "availableStock" in penalties["HB-2"].message
    assert "colour" in penalties["HB-3"].message


def test_a_service_quoting_the_authorization_header_never_shows_the_credential(
    world: World,
) -> None:
    """An answer that echoes the request's Basic header (a proxy, a debugging gateway) must
    not carry the base64 of merchant id and password into penalties or the run log."""
    import base64

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from pazar.models.runs import RunLog
    from pazar.sandbox_server import serve_in_thread

    async def echo(request: Request) -> JSONResponse:
        said = f"rejected auth header {request.headers.get('authorization')}"
        return JSONResponse({"message": said}, status_code=400)

    echoing = serve_in_thread(Starlette(routes=[Route("/{p:path}", echo, methods=["POST"])]))
    try:
        world.config = {**world.config, "listing_url": echoing.url}
        result = world.run("stock")
    finally:
        echoing.stop()
    basic = base64.b64encode(
        f"{world.config['username']}:{world.config['password']}".encode()
    ).decode()
    with world.db.session() as session:
        logs = " ".join(session.scalars(select(RunLog.message)))
    penalties = " ".join(p.message for p in world.penalties().values())
    assert result.failed == 4 and "rejected auth header ********" in penalties
    for shown in (logs, penalties, str(result.failures)):
        assert basic not in shown and world.config["password"] not in shown
